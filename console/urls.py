"""Console routes (namespace "console"), mounted at the site root.

Each page module adds its own lines here; keep one block per module.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from console.views import overview

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
]
