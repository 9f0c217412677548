"""The topic registry is consistent: unique names, dead-letter twins, known services."""

from __future__ import annotations

import pytest

from clientbase import topics

SERVICES = {"intake", "rotation", "notify", "metrics"}
OUTSIDE = {"operators"}  # people and their tools that watch a topic (rejected leads, deferred rotations)


def test_names_are_unique_and_dlqs_pair_up() -> None:
    names = [name for name, _ in topics.all_topic_names_and_partitions()]
    assert len(names) == len(set(names))
    for topic in topics.TOPICS:
        assert topic.dlq == topic.name + ".dlq"
        assert topic.dlq in names


def test_every_topic_is_consumed_by_a_known_service_or_the_outside() -> None:
    for topic in topics.TOPICS:
        assert topic.partitions >= 1
        assert set(topic.consumers) <= SERVICES | OUTSIDE, topic.name


def test_lookup_by_name() -> None:
    assert topics.topic_named("clients.assigned") is topics.CLIENTS_ASSIGNED
    with pytest.raises(KeyError):
        topics.topic_named("clients.unknown")
