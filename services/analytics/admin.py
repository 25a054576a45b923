"""The lake's and the windows' bookkeeping in the admin: read-only (actions only)."""

from __future__ import annotations

from django.contrib import admin

from eventbus.admin import ReadOnlyAdmin
from services.analytics.models import (
    LakeCursor,
    LakeFile,
    MinuteStats,
    PublishedWindow,
    StagedEvent,
)


@admin.register(LakeFile)
class LakeFileAdmin(ReadOnlyAdmin):
    list_display = ("path", "topic", "date", "partition", "rows", "created_at")
    list_filter = ("topic", "date")


@admin.register(LakeCursor)
class LakeCursorAdmin(ReadOnlyAdmin):
    list_display = ("topic", "partition", "last_id", "updated_at")
    list_filter = ("topic",)


@admin.register(StagedEvent)
class StagedEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "topic", "partition", "type", "time", "staged_at")
    list_filter = ("topic", "type")


@admin.register(MinuteStats)
class MinuteStatsAdmin(ReadOnlyAdmin):
    list_display = ("minute", "orders", "revenue_cents", "closed", "too_late")
    list_filter = ("closed",)


@admin.register(PublishedWindow)
class PublishedWindowAdmin(ReadOnlyAdmin):
    list_display = ("window", "start", "end", "revision", "published_at")
    list_filter = ("window",)
