"""Bus settings, read from Django settings when asked (never at import time)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from eventbus.exceptions import ConfigurationError

DURABILITY_MODES = ("everysec", "strict")


@dataclass(frozen=True)
class BusSettings:
    redis_url: str
    durability: str
    max_event_bytes: int
    source: str
    topic_cache_seconds: float
    lease_ms: int = 8000
    heartbeat_seconds: float = 2.0
    batch_size: int = 100


@lru_cache(maxsize=1)
def bus_settings() -> BusSettings:
    """Return the validated ``settings.BUS`` (cached: publish reads it per event)."""
    from django.conf import settings

    raw: dict[str, Any] = getattr(settings, "BUS", {})
    redis_url = raw.get("REDIS_URL") or getattr(settings, "REDIS_URL", None)
    if not redis_url:
        raise ConfigurationError(
            "BUS['REDIS_URL'] is not set. Set REDIS_URL in the environment, "
            "e.g. redis://127.0.0.1:6379/0."
        )
    durability = raw.get("DURABILITY", "everysec")
    if durability not in DURABILITY_MODES:
        raise ConfigurationError(
            f"BUS['DURABILITY'] is {durability!r}; use one of "
            f"{', '.join(DURABILITY_MODES)}."
        )
    max_bytes = int(raw.get("MAX_EVENT_BYTES", 1024 * 1024))
    if max_bytes <= 0:
        raise ConfigurationError(
            f"BUS['MAX_EVENT_BYTES'] is {max_bytes}; it must be a positive "
            "number of bytes (default 1048576)."
        )
    return BusSettings(
        redis_url=redis_url,
        durability=durability,
        max_event_bytes=max_bytes,
        source=raw.get("SOURCE", "/switchyard"),
        topic_cache_seconds=float(raw.get("TOPIC_CACHE_SECONDS", 5.0)),
        lease_ms=_positive(raw, "LEASE_MS", 8000),
        heartbeat_seconds=float(raw.get("HEARTBEAT_SECONDS", 2.0)),
        batch_size=_positive(raw, "BATCH_SIZE", 100),
    )


def _positive(raw: dict[str, Any], name: str, default: int) -> int:
    value = int(raw.get(name, default))
    if value <= 0:
        raise ConfigurationError(
            f"BUS['{name}'] is {value}; it must be a positive whole number "
            f"(default {default})."
        )
    return value


@receiver(setting_changed)
def _forget_settings(*, setting: str, **_: Any) -> None:
    if setting in {"BUS", "REDIS_URL"}:
        bus_settings.cache_clear()
