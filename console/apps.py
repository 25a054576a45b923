from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.role_perms import grant_role_permissions

        # Runs after auth has created this run's permissions: auth is
        # installed first, so its post_migrate receiver runs first.
        post_migrate.connect(
            grant_role_permissions, sender=self, dispatch_uid="console-role-perms"
        )
