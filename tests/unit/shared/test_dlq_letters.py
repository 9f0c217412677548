"""Dead letters as the CLI shows and replays them: origin, masked display, replay headers."""

from __future__ import annotations

import json

from aiokafka import ConsumerRecord

from clientbase.dlq.letters import REPLAY_HEADER, DeadLetter, dlq_name


def letter(value: bytes, headers: list[tuple[str, bytes]]) -> DeadLetter:
    return DeadLetter.of(ConsumerRecord("sales.recorded.dlq", 0, 7, 1764350000000, 0, b"+79123456789", value,
                                        None, 12, len(value), headers))


def test_names_and_origin() -> None:
    assert dlq_name("sales.recorded") == dlq_name("sales.recorded.dlq") == "sales.recorded.dlq"
    assert letter(b"{}", []).origin_topic == "sales.recorded"
    assert letter(b"{}", [("x-dlq-origin-topic", b"t1.sales.recorded")]).origin_topic == "t1.sales.recorded"


def test_display_masks_personal_data_in_payload_headers_and_key() -> None:
    body = json.dumps({"order_id": "o-1", "phone": "+7 912 345-67-89", "email": "ivan@mail.ru",
                       "note": "call 89123456789"}).encode()
    shown = letter(body, [("x-dlq-error", b"ValueError: bad +79123456789"), ("event_id", b"e-1")]).masked()
    text = json.dumps(shown, ensure_ascii=False)
    assert "912345" not in text and "ivan@" not in text
    assert shown["payload"]["order_id"] == "o-1" and shown["headers"]["event_id"] == "e-1"
    assert shown["payload"]["email"] == "i***@mail.ru"
    assert letter(b"\xff not json 89123456789", []).masked()["payload"].endswith("89*******89")


def test_replay_keeps_original_headers_drops_failure_ones_and_says_where_from() -> None:
    dead = letter(b"{}", [("event_id", b"e-1"), ("x-dlq-error", b"boom"), ("x-dlq-attempts", b"5")])
    assert dead.replay_headers() == [("event_id", b"e-1"), (REPLAY_HEADER, b"sales.recorded.dlq:0:7")]
    assert dead.ref == "sales.recorded.dlq:0:7"
