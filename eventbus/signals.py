"""Keep the in-process topic table fresh when topics change in this process."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from eventbus.models import Topic


@receiver(post_save, sender=Topic)
@receiver(post_delete, sender=Topic)
def _topic_changed(**_: Any) -> None:
    from eventbus.topics import invalidate_topic_cache

    invalidate_topic_cache()
