from django.apps import AppConfig


class EventbusConfig(AppConfig):
    name = "eventbus"
    verbose_name = "Event bus"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventbus import signals  # noqa: F401  (connects cache invalidation)
