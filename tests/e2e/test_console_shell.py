"""The console shell in a real browser: login, roles, the live socket."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_anonymous_visitor_is_sent_to_login(page, server, screenshot) -> None:
    """Every console page needs a login; the login page says so."""
    page.goto(f"{server.url}/")
    assert "/login/" in page.url
    assert page.inner_text("h1") == "Log in to the console"
    screenshot(page, "login")


def test_viewer_logs_in_and_the_socket_goes_live(page, login, screenshot) -> None:
    """After login the page opens its one socket and shows it is live."""
    login(page, "viewer")
    page.wait_for_selector("#live.on")
    assert page.inner_text(".role") == "viewer"
    screenshot(page, "overview")


def test_wrong_password_is_refused(page, server, console_users) -> None:
    """A bad password keeps the user on the login page with a clear message."""
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text(".error")
