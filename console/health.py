"""Is Redis answering? A short, cached check behind every page's banner."""

from __future__ import annotations

import threading
import time

import redis

from eventbus.conf import bus_settings

CHECK_EVERY = 2.0  # seconds a result is trusted; pages render far more often

_lock = threading.Lock()
_last: tuple[float, str | None] = (0.0, None)


def redis_problem() -> str | None:
    """Return why Redis is unusable right now, or None when it answers PING."""
    global _last
    now = time.monotonic()
    checked_at, problem = _last
    if now - checked_at < CHECK_EVERY:
        return problem
    with _lock:
        url = bus_settings().redis_url
        client = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        try:
            client.ping()
            problem = None
        except redis.RedisError as exc:
            problem = (
                f"Redis at {_redact(url)} is not answering ({exc}): live figures "
                "and bus actions are unavailable until it is back."
            )
        finally:
            client.close()
        _last = (time.monotonic(), problem)
    return problem


def _redact(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"
