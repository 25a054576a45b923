from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class EventbusConfig(AppConfig):
    name = "eventbus"
    verbose_name = "Event bus"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventbus import signals  # noqa: F401  (connects cache invalidation)

        # Each service declares its topics and event types in events.py and
        # its subscriptions in handlers.py.
        autodiscover_modules("events", "handlers")
