"""Console routes (namespace "console"), mounted at the site root.

Each page module adds its own lines here; keep one block per module.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from console.views import (
    alerts,
    audit,
    catalog,
    deadletters,
    group_actions,
    groups,
    overview,
    services,
    topics,
)

app_name = "console"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="console/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # overview
    path("", overview.overview, name="overview"),
    # topics, message browser, event view, export, publish (helper "topics")
    path("topics/", topics.topic_list, name="topics"),
    path("topics/<str:name>/", topics.topic_detail, name="topic"),
    path(
        "topics/<str:name>/events/<int:partition>/<str:stream_id>/",
        topics.event_view,
        name="event",
    ),
    path(
        "topics/<str:name>/export.<str:fmt>", topics.topic_export, name="topic-export"
    ),
    path("topics/<str:name>/publish/", topics.topic_publish, name="topic-publish"),
    # alerts, services, catalog (helper "alerts")
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/rules/new/", alerts.rule_new, name="alert_rule_new"),
    path("alerts/rules/<int:pk>/", alerts.rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/delete/", alerts.rule_delete, name="alert_rule_delete"),
    path("alerts/rules/<int:pk>/toggle/", alerts.rule_toggle, name="alert_rule_toggle"),
    path("services/", services.services, name="services"),
    path("catalog/", catalog.catalog, name="catalog"),
    # groups, dead letters, audit log (helper "groups")
    path("groups/", groups.groups, name="groups"),
    path("groups/<str:topic>/replay/", group_actions.group_replay, name="group-replay"),
    path("groups/<str:topic>/<str:group>/", groups.group, name="group"),
    path(
        "groups/<str:topic>/<str:group>/reset/",
        group_actions.group_reset,
        name="group-reset",
    ),
    path("deadletters/", deadletters.deadletters, name="deadletters"),
    path(
        "deadletters/<str:topic>/<str:group>/",
        deadletters.deadletters_group,
        name="deadletters-group",
    ),
    path(
        "deadletters/<str:topic>/<str:group>/redrive/",
        deadletters.deadletter_redrive,
        name="deadletter-redrive",
    ),
    path(
        "deadletters/<str:topic>/<str:group>/purge/",
        deadletters.deadletter_purge,
        name="deadletter-purge",
    ),
    path(
        "deadletters/<str:topic>/<str:group>/<str:dlq_id>/",
        deadletters.deadletter,
        name="deadletter",
    ),
    path("audit/", audit.audit, name="audit"),
]
