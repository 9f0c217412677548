"""Each service app is built without I/O, states its ack policy on every subscriber and documents itself."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from faststream.asgi import AsgiFastStream
from faststream.middlewares import AckPolicy

from clientbase import topics

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("intake", "rotation", "notify", "metrics")


def build(service: str) -> AsgiFastStream:
    """Build a service's app from its factory, as `faststream run --factory` does."""
    return importlib.import_module(f"{service}.app").create_app()


def subscribed_topics(app: AsgiFastStream) -> dict[str, object]:
    """Topic name of every subscriber of the app's broker, with the subscriber."""
    found: dict[str, object] = {}
    for subscriber in app.broker.subscribers:
        for topic in subscriber.topics:
            found[getattr(topic, "name", topic)] = subscriber
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_subscriber_states_an_at_least_once_ack_policy(service: str) -> None:
    for topic, subscriber in subscribed_topics(build(service)).items():
        assert subscriber.ack_policy not in {AckPolicy.ACK_FIRST, AckPolicy.MANUAL}, (service, topic)


@pytest.mark.parametrize("service", SERVICES)
def test_subscribers_read_exactly_the_registry_topics_meant_for_the_service(service: str) -> None:
    subscribed = set(subscribed_topics(build(service)))
    for topic_name in subscribed:
        topic = topics.topic_named(topic_name)
        assert service in topic.consumers, (service, topic_name)
    registered = {topic.name for topic in topics.TOPICS if service in topic.consumers}
    assert registered == subscribed, f"the registry says {service} reads {sorted(registered - subscribed)}"


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_document_is_generated_and_current(service: str, tmp_path: Path) -> None:
    out = tmp_path / f"{service}.json"
    subprocess.run(
        [sys.executable, "-m", "faststream", "docs", "gen", f"{service}.app:create_app", "--factory", "-o", str(out)],
        check=True, cwd=tmp_path, capture_output=True,
    )
    generated = json.loads(out.read_text())
    assert generated["asyncapi"].startswith("3.")
    assert generated["info"]["title"] == f"ClientBase {service}"
    channels = {channel["address"] for channel in generated.get("channels", {}).values()}
    app = build(service)
    assert set(subscribed_topics(app)) <= channels
    produced = {t.name for t in topics.TOPICS if any(p.split()[0] == service for p in t.producers)}
    assert produced <= channels
    committed = REPO / "docs" / "asyncapi" / f"{service}.json"
    assert json.loads(committed.read_text()) == generated, f"run `make docs`: {committed} is stale"


def test_readme_tables_are_current() -> None:
    from clientbase.readme_tables import render

    readme = (REPO / "README.md").read_text()
    assert render(readme) == readme, "run `make docs`: the README's generated tables are stale"
