"""Shared fixtures: a real Redis for every bus test, servers of our own when needed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from eventbus.client import get_redis, reset_clients
from eventbus.models import Topic
from eventbus.schemas import _registry, _stored_checked
from eventbus.topics import invalidate_topic_cache


@pytest.fixture(autouse=True)
def _isolated_schema_registry() -> Iterator[None]:
    """Each test sees only the event types it (or the app) registered."""
    saved = {name: dict(versions) for name, versions in _registry._types.items()}
    yield
    _registry._types.clear()
    _registry._types.update(saved)
    _stored_checked.clear()


@pytest.fixture
def bus(db: None, settings) -> Iterator[redis.Redis]:
    """The test Redis database, empty before and after the test."""
    reset_clients()
    invalidate_topic_cache()
    client = get_redis()
    client.flushdb()
    yield client
    client.flushdb()
    reset_clients()
    invalidate_topic_cache()


@pytest.fixture
def make_topic(bus: redis.Redis) -> Callable[..., Topic]:
    """Create a topic row (and forget the cached topic table)."""

    def make(name: str = "orders", partitions: int = 4, **fields: object) -> Topic:
        topic = Topic.objects.create(name=name, partitions=partitions, **fields)
        invalidate_topic_cache()
        return topic

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of the test's own, in a temp dir, that may be killed."""

    def __init__(self, directory: Path, args: list[str]) -> None:
        self.directory = directory
        self.port = free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed; run 'make setup'."
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                # A server that is still loading its AOF answers LOADING.
                if client.ping() and client.info("persistence").get("loading") == 0:
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL the server: no shutdown, no final fsync."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start redis-server processes of the test's own; all are stopped after."""
    servers: list[RedisServer] = []

    def start(*args: str) -> RedisServer:
        directory = tmp_path / f"redis-{len(servers)}"
        directory.mkdir()
        server = RedisServer(directory, list(args))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def bus_on(settings) -> Callable[[str], None]:
    """Point the bus at another Redis URL for the rest of the test."""

    def point(url: str) -> None:
        settings.BUS = {**settings.BUS, "REDIS_URL": url}
        reset_clients()

    yield point
    reset_clients()


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
