from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "services.shipping"
    label = "shipping"
    default_auto_field = "django.db.models.BigAutoField"
