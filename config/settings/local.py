"""Local development and the demo: debug on, embedded defaults."""

from config.settings.base import *  # noqa: F403

DEBUG = True
