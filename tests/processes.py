"""Child processes that share the test database and Redis: scripts, Celery workers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from eventbus.keys import members_key

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """Return a DATABASE_URL naming the test database this process uses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        if connection.is_in_memory_db():
            pytest.fail(
                "The SQLite test database is in memory, so a child process cannot "
                "open it; set DATABASES['default']['TEST']['NAME'] to a file."
            )
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"].endswith("postgresql"):
        auth = quote(db["USER"] or "")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"])
        host = db["HOST"] or "127.0.0.1"
        return f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.fail(f"No DATABASE_URL form for {db['ENGINE']} in this test.")


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that shares the test database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "TEST_REDIS_URL": settings.BUS["REDIS_URL"],
        **extra,
    }


class CeleryWorker:
    """A real ``celery worker --bus-group`` process, as the Procfile runs it."""

    def __init__(
        self, name: str, group: str, log_dir: Path, queues: str = "celery", **env: str
    ) -> None:
        self.name = name
        self.group = group
        self.queues = queues
        self.log = log_dir / f"{name}.log"
        self.env = child_env(**env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryWorker:
        celery = shutil.which("celery", path=str(Path(sys.executable).parent))
        assert celery, "celery is not installed in this virtualenv"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    celery,
                    "-A",
                    "config",
                    "worker",
                    "-n",
                    f"{self.name}@%h",
                    "--bus-group",
                    self.group,
                    "--concurrency",
                    "1",
                    "-Q",
                    self.queues,
                    "--without-gossip",
                    "--without-mingle",
                    "-l",
                    "info",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def member(self, client: redis.Redis) -> str | None:
        """Return this worker's member id in its group, once it has joined."""
        for raw in client.zrange(members_key(self.group), 0, -1):
            member = raw.decode()
            if f"-{self.pid}-" in member:
                return member
        return None

    def wait_joined(self, client: redis.Redis, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            member = self.member(client)
            if member:
                return member
            assert self.process and self.process.poll() is None, self.tail()
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not join {self.group}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children: no shutdown at all."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM (Celery's warm shutdown) and wait for the exit code."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout)

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class DaphneServer:
    """A real ``daphne config.asgi:application`` process, as the Procfile runs it."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        from tests.conftest import free_port

        self.port = free_port()
        self.log = log_dir / f"daphne-{self.port}.log"
        self.env = child_env(**env)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> DaphneServer:
        daphne = shutil.which("daphne", path=str(Path(sys.executable).parent))
        assert daphne, "daphne is not installed in this virtualenv"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    daphne,
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "config.asgi:application",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"daphne exited:\n{self.tail()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"daphne did not listen on {self.port}:\n{self.tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
