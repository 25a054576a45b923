"""django.contrib.admin's app config with the console's site (INSTALLED_APPS).

A module of its own: console/apps.py may hold only the console's config, and
console/admin_site.py imports auth forms, which need the app registry ready.
"""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """Django admin whose ``admin.site`` lets console roles in."""

    default_site = "console.admin_site.ConsoleAdminSite"
