"""Errors of the analytics service; messages say what was wrong and what to do."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class of analytics' errors."""


class InvalidLakeRequest(AnalyticsError):
    """The input of a lake action is malformed (unknown topic, bad date)."""


class LakeConfigError(AnalyticsError):
    """ANALYTICS_LAKE_PATH is unusable."""


class InvalidWindowInput(AnalyticsError):
    """An event fed to the windows lacks a field or has a malformed one."""
