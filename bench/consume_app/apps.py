from django.apps import AppConfig


class ConsumeBenchConfig(AppConfig):
    """Benchmark-only app: its events.py and handlers.py are autodiscovered."""

    name = "bench.consume_app"
    label = "consume_bench"
