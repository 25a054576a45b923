from __future__ import annotations

from django.apps import AppConfig


class RetailConfig(AppConfig):
    name = "services.retail"
    label = "retail"
    verbose_name = "Retail operator tools"
