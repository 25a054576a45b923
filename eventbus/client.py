"""Redis client factory: built lazily from settings, one pool per process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import redis

from eventbus.conf import bus_settings
from eventbus.exceptions import BusUnavailable

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def get_redis(url: str | None = None) -> redis.Redis:
    """Return the shared client for ``url`` (default: the bus's REDIS_URL)."""
    url = url or bus_settings().redis_url
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = _clients[url] = new_redis(url)
    return client


def new_redis(url: str | None = None) -> redis.Redis:
    """Return a client with a pool of its own (for a long-lived consumer thread)."""
    return redis.Redis.from_url(
        url or bus_settings().redis_url,
        health_check_interval=30,
        socket_connect_timeout=5,
        socket_keepalive=True,
    )


def reset_clients() -> None:
    """Close and forget every client (after a fork, or when settings change)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


@contextmanager
def redis_errors(action: str) -> Iterator[None]:
    """Turn redis-py connection failures into ``BusUnavailable`` with advice."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BusUnavailable(
            f"Could not {action}: Redis is unreachable ({exc}). Check that "
            f"Redis is running at {redact(bus_settings().redis_url)} (REDIS_URL) and "
            "try again."
        ) from exc


def server_version(client: redis.Redis) -> tuple[int, ...]:
    """Return the server's version as a tuple, e.g. ``(7, 0, 15)``."""
    info = client.info("server")
    return tuple(int(part) for part in str(info["redis_version"]).split("."))


def redact(url: str) -> str:
    """Return ``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
