"""Strict durability: publish returns only after the write is fsynced.

Default mode ("everysec") relies on the server's AOF policy: with
``appendfsync everysec`` up to about one second of acknowledged events can be
lost if the Redis host crashes (see docs/operations.md). Strict mode waits for
the local fsync (``WAITAOF`` on Redis >= 7.2; on older servers it requires
``appendfsync always``, where Redis fsyncs before it replies) and, when
replicas are connected, for every replica to acknowledge the write.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import cast

import redis

from eventbus.client import server_version
from eventbus.exceptions import DurabilityError

WAIT_TIMEOUT_MS = 5000
_CHECK_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class ServerDurability:
    has_waitaof: bool
    replicas: int
    checked_at: float


_lock = threading.Lock()
_checked: dict[int, ServerDurability] = {}


def check_strict(client: redis.Redis) -> ServerDurability:
    """Return what strict mode needs from this server, or raise ``DurabilityError``."""
    key = id(client)
    state = _checked.get(key)
    if state and time.monotonic() - state.checked_at < _CHECK_EVERY_SECONDS:
        return state
    version = server_version(client)
    persistence = client.config_get("append*")
    if persistence.get("appendonly") != "yes":
        raise DurabilityError(
            "BUS['DURABILITY'] is 'strict' but the Redis server has AOF off "
            "(appendonly no). Turn it on (CONFIG SET appendonly yes and in "
            "redis.conf) or use the default 'everysec' mode."
        )
    has_waitaof = version >= (7, 2)
    if not has_waitaof and persistence.get("appendfsync") != "always":
        raise DurabilityError(
            f"BUS['DURABILITY'] is 'strict' but Redis {'.'.join(map(str, version))} "
            f"has appendfsync {persistence.get('appendfsync')!r} and no WAITAOF "
            "(added in 7.2). Set 'appendfsync always' on the server, upgrade "
            "Redis to 7.2+, or use the default 'everysec' mode."
        )
    replicas = int(client.info("replication").get("connected_slaves", 0))
    state = ServerDurability(has_waitaof, replicas, time.monotonic())
    with _lock:
        _checked[key] = state
    return state


def wait_durable(client: redis.Redis, pipe: redis.client.Pipeline) -> bool:
    """Queue on ``pipe`` what makes its earlier writes durable; False if nothing.

    Without WAITAOF and replicas nothing is needed: ``check_strict`` made sure
    the server runs ``appendfsync always``, so its reply follows the fsync.
    """
    state = check_strict(client)
    if state.has_waitaof:
        pipe.execute_command("WAITAOF", 1, state.replicas, WAIT_TIMEOUT_MS)
        return True
    if state.replicas:
        pipe.execute_command("WAIT", state.replicas, WAIT_TIMEOUT_MS)
        return True
    return False


def verify_durable_reply(client: redis.Redis, reply: object) -> None:
    """Raise when WAIT/WAITAOF reports fewer acknowledgements than required."""
    state = check_strict(client)
    if state.has_waitaof:
        local, replicas = cast(list[int], reply)
        if int(local) < 1 or int(replicas) < state.replicas:
            raise DurabilityError(
                f"The write was not confirmed durable within {WAIT_TIMEOUT_MS} ms "
                f"(fsynced locally: {local}, replicas: {replicas}/{state.replicas}). "
                "It may or may not survive a crash; check the server and retry."
            )
    elif state.replicas and int(cast(int, reply)) < state.replicas:
        raise DurabilityError(
            f"Only {reply} of {state.replicas} replicas acknowledged the write "
            f"within {WAIT_TIMEOUT_MS} ms; it may be lost on failover. Check "
            "replication and retry."
        )


def forget_checks() -> None:
    """Forget cached server checks (tests restart servers)."""
    with _lock:
        _checked.clear()
