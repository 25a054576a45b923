"""Errors of the contact service; messages say what was wrong and what to do."""

from __future__ import annotations


class ContactError(Exception):
    """Base class of contact's errors."""


class InvalidNotification(ContactError):
    """The input of a contact action is malformed."""
