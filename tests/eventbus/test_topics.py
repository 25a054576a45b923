"""Topics: names, partitions that only grow, declarations synced idempotently."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from eventbus.exceptions import InvalidTopicName, PartitionShrink, UnknownTopic
from eventbus.models import Topic
from eventbus.topics import (
    declare_topic,
    get_topic,
    set_partitions,
    sync_topics,
    validate_topic_name,
)


@pytest.mark.parametrize("name", ["orders", "stock.levels", "a-b_c.1", "9lives"])
def test_valid_topic_names_are_accepted(name):
    assert validate_topic_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Orders", ".hidden", "a b", "a/b", "x" * 101, "é"]
)
def test_invalid_topic_names_are_refused_with_the_rule(name):
    with pytest.raises(InvalidTopicName, match="lower-case letters"):
        validate_topic_name(name)


def test_unknown_topic_names_a_close_match(make_topic):
    make_topic("orders")
    with pytest.raises(UnknownTopic, match="Did you mean 'orders'"):
        get_topic("order")


def test_partitions_grow_but_never_shrink(make_topic):
    make_topic("orders", partitions=4)
    assert set_partitions("orders", 6).partitions == 6
    with pytest.raises(PartitionShrink, match="never shrink"):
        set_partitions("orders", 2)
    assert Topic.objects.get(name="orders").partitions == 6


def test_admin_form_validation_refuses_shrinking(make_topic):
    topic = make_topic("orders", partitions=4)
    topic.partitions = 3
    with pytest.raises(ValidationError, match="never shrink"):
        topic.full_clean()


def test_sync_creates_grows_and_never_shrinks(bus):
    declared = {
        "orders": declare_topic("orders", partitions=4, owner="checkout"),
        "stock": declare_topic("stock", partitions=2),
    }
    first = sync_topics(declared)
    assert sorted(first.created) == ["orders", "stock"]
    again = sync_topics(declared)
    assert again.created == [] and sorted(again.unchanged) == ["orders", "stock"]

    declared["orders"] = declare_topic("orders", partitions=8)
    declared["stock"] = declare_topic("stock", partitions=1)
    changed = sync_topics(declared)
    assert changed.grown == [("orders", 4, 8)]
    assert changed.kept_larger == [("stock", 2, 1)]
    assert Topic.objects.get(name="stock").partitions == 2
    assert Topic.objects.get(name="orders").owner == "checkout"


def test_topic_cache_sees_new_partitions_after_a_change(make_topic):
    make_topic("orders", partitions=2)
    assert get_topic("orders").partitions == 2
    set_partitions("orders", 5)
    assert get_topic("orders").partitions == 5
