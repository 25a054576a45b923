"""Errors of the console's public interfaces; each message says what to do."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of the console's errors."""


class TokenRefused(ConsoleError):
    """An API token that is missing, malformed, unknown, expired or revoked."""


class ScopeDenied(ConsoleError):
    """A valid token (or login) without the scope an action needs."""


class InvalidScope(ConsoleError, ValueError):
    """A scope written wrongly, e.g. on the command line."""
