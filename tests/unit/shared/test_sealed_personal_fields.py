"""Schema version 2 of client snapshots: personal fields sealed per client, opened by the upcaster, erased without key."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from clientbase.crypto.sealing import new_data_key
from clientbase.events.outbound import ClientRegistered, ClientUpdated, SealedClientRegistered, SealedClientUpdated
from clientbase.events.personal import ERASED, UnknownSchemaVersion, key_id_of, open_event, seal_event

EXAMPLES = resources.files("clientbase.events") / "examples"
CLEAR_VALUES = ("Иван Иванов", "+79161234567", "79161234567", "ivan.ivanov@mail.ru", "198.51.100.23")


def registered_v1() -> ClientRegistered:
    """The documented version 1 example of `clients.registered`."""
    return ClientRegistered.model_validate(
        json.loads((EXAMPLES / "clients.registered.v1.json").read_text(encoding="utf-8"))[0])


def test_the_sealed_schema_is_the_clear_one_without_the_declared_personal_fields() -> None:
    for clear, sealed in ((ClientRegistered, SealedClientRegistered), (ClientUpdated, SealedClientUpdated)):
        assert set(sealed.model_fields) == set(clear.model_fields) - set(clear.PERSONAL_FIELDS) | {"personal"}
        assert sealed.SCHEMA_VERSION == 2 and sealed.EVENT_TYPE == clear.EVENT_TYPE


def test_a_sealed_payload_carries_no_personal_value_in_clear_and_opens_with_its_key() -> None:
    event, key = registered_v1(), new_data_key()
    wire = seal_event(event, SealedClientRegistered, key).model_dump_json()
    assert not [value for value in CLEAR_VALUES if value in wire]
    data = json.loads(wire)
    assert data["schema_version"] == 2 and key_id_of(data) == event.client_id
    opened = open_event(ClientRegistered, data, {event.client_id: key})
    assert opened.model_dump(exclude={"schema_version"}) == event.model_dump(exclude={"schema_version"})


def test_without_the_key_personal_fields_read_as_the_erased_marker() -> None:
    event = registered_v1()
    data = json.loads(seal_event(event, SealedClientRegistered, new_data_key()).model_dump_json())
    for keys in ({}, {event.client_id: None}, {event.client_id: new_data_key()}):
        opened = open_event(ClientRegistered, data, keys)
        assert (opened.name, opened.phones, opened.emails, opened.consents) == (ERASED, [], [], [])
        assert (opened.client_id, opened.country, opened.lead_source) == (event.client_id, "RU", event.lead_source)


def test_an_event_of_a_client_forgotten_before_publishing_has_no_sealed_part() -> None:
    event = registered_v1()
    sealed = seal_event(event, SealedClientRegistered, None)
    assert sealed.personal is None
    assert open_event(ClientRegistered, json.loads(sealed.model_dump_json()), {}).name == ERASED


def test_version_1_payloads_still_open_and_unknown_versions_are_refused() -> None:
    data = json.loads(registered_v1().model_dump_json())
    assert key_id_of(data) is None
    assert open_event(ClientRegistered, data, {}).name == "Иван Иванов"
    with pytest.raises(UnknownSchemaVersion):
        open_event(ClientRegistered, {**data, "schema_version": 3}, {})


def test_metrics_records_the_same_fact_from_a_sealed_snapshot_without_any_key() -> None:
    from clientbase import topics
    from metrics.facts import fact_of, parse

    v1 = registered_v1()
    event = v1.model_copy(update={"confirmations": [c.confirmed_at for c in (*v1.phones, *v1.emails)]})
    clear = parse(topics.CLIENTS_REGISTERED, v1.model_dump_json().encode())
    sealed = parse(topics.CLIENTS_REGISTERED,
                   seal_event(event, SealedClientRegistered, new_data_key()).model_dump_json().encode())
    assert fact_of(sealed) == fact_of(clear)
    assert sealed.name == ERASED and clear.name == "Иван Иванов"
