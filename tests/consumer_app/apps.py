from django.apps import AppConfig


class ConsumerAppConfig(AppConfig):
    """A test-only app whose handlers let tests drive the consumer runtime."""

    name = "tests.consumer_app"
    label = "consumer_app"
    default_auto_field = "django.db.models.BigAutoField"
