"""Browser tests: a real Daphne process and Debian's chromium through Playwright.

Playwright's sync API runs an event loop in the test's thread, so Django's
async-safety check would refuse the ORM calls tests make between page
steps; DJANGO_ALLOW_ASYNC_UNSAFE lifts it for the browser tests only (the
ORM is still used from one thread).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.processes import DaphneServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# FIELD-NOTES: the flags that let Debian's chromium run headless as root here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORDS = {
    "viewer": "viewer-pw-1",
    "operator": "operator-pw-1",
    "admin": "admin-pw-1",
}


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """One headless chromium for the browser tests.

    Package scope, not session: Playwright's sync API keeps an event loop
    running in the main thread while it is open, and asyncio tests that run
    after tests/e2e (e.g. tests/feed) could not start their own.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing; run scripts/browser.sh ensure (make test does) "
            "or set CHROMIUM=/path/to/chromium."
        )
    from playwright.sync_api import sync_playwright

    # Django refuses ORM calls from a thread with a running event loop, which
    # Playwright's sync API leaves in the main thread while it is open.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield launched
            launched.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def screenshot() -> Callable[[object, str], Path]:
    """Save a full-page PNG under tests/e2e/screenshots/ for reviewers."""

    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def server(transactional_db, bus, tmp_path: Path) -> Iterator[DaphneServer]:
    """Daphne serving config.asgi on a free port, on the test database and Redis."""
    daphne = DaphneServer(tmp_path).start()
    yield daphne
    daphne.stop()


@pytest.fixture
def console_users(transactional_db) -> dict[str, object]:
    """One user per console role: viewer, operator, admin (passwords in PASSWORDS)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    users = {}
    for role, password in PASSWORDS.items():
        user = get_user_model().objects.create_user(username=role, password=password)
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
        users[role] = user
    return users


@pytest.fixture
def login(server: DaphneServer, console_users) -> Callable[[object, str], None]:
    """Log the page in as the user of a role through the console's login form."""

    def as_role(page, role: str) -> None:
        page.goto(f"{server.url}/login/")
        page.fill("input[name=username]", role)
        page.fill("input[name=password]", PASSWORDS[role])
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))

    return as_role
