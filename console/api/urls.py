"""Routes of the bus API, mounted at /api/ by config/urls.py (namespace "api").

/api/v1/… are the endpoints, /api/schema/ the OpenAPI 3 document and
/api/docs/ Swagger UI (served from local assets, drf-spectacular-sidecar).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import console.api.schema  # noqa: F401  (registers the bearer auth scheme)
from console.api import views_deadletters as letters
from console.api import views_events as events
from console.api import views_groups as groups
from console.api import views_topics as topics

app_name = "api"

GROUP = "v1/topics/<str:topic>/groups/<str:group>"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema"),
        name="docs",
    ),
    path("v1/topics", topics.TopicListView.as_view(), name="topics"),
    path("v1/topics/<str:topic>", topics.TopicView.as_view(), name="topic"),
    path(
        "v1/topics/<str:topic>/events",
        events.TopicEventsView.as_view(),
        name="events",
    ),
    path("v1/batch", events.BatchView.as_view(), name="batch"),
    path("v1/event-types", topics.EventTypeListView.as_view(), name="event-types"),
    path(
        "v1/event-types/<str:type>",
        topics.EventTypeView.as_view(),
        name="event-type",
    ),
    path("v1/groups", groups.GroupListView.as_view(), name="groups"),
    path(GROUP, groups.GroupView.as_view(), name="group"),
    path(f"{GROUP}/reset", groups.GroupResetView.as_view(), name="group-reset"),
    path(
        f"{GROUP}/dead-letters",
        letters.DeadLetterListView.as_view(),
        name="dead-letters",
    ),
    path(
        f"{GROUP}/dead-letters/redrive",
        letters.RedriveView.as_view(),
        name="redrive",
    ),
    path(
        f"{GROUP}/dead-letters/<str:dlq_id>",
        letters.DeadLetterView.as_view(),
        name="dead-letter",
    ),
]
