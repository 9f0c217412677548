"""FerretDB on PostgreSQL: each index it creates gets a GIN mirror, and finds by _id or an indexed field use it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from clientbase.stack import StackEndpoints

pytestmark = pytest.mark.integration

DOCUMENTS = 3000


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a PostgreSQL JSON plan, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def explain(database: Database, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The PostgreSQL plan nodes of a find, as FerretDB v1's explain reports them."""
    result = database.command("explain", {"find": collection, "filter": query})
    return list(plan_nodes(result["queryPlanner"]["Plan"]))


def gin_index_scans(nodes: list[dict[str, Any]], field: str) -> list[str]:
    """Names of the GIN mirrors that the plan scans for a condition on `field`."""
    return [
        node["Index Name"] for node in nodes
        if node["Node Type"] in {"Bitmap Index Scan", "Index Scan"} and node["Index Name"].endswith("_gin")
        and f"-> '{field}'::text" in node.get("Index Cond", "")
    ]


@pytest.fixture(scope="module")
def database(stack_endpoints: StackEndpoints) -> Iterator[Database]:
    """A fresh database on FerretDB backed by the stack's PostgreSQL, dropped afterwards."""
    if stack_endpoints.postgres_url is None:
        pytest.skip("the MongoDB-compatible server is not FerretDB on the stack's PostgreSQL")
    client: MongoClient = MongoClient(stack_endpoints.mongo_url, serverSelectionTimeoutMS=10_000)
    db = client[f"test_gin_{uuid.uuid4().hex[:12]}"]
    try:
        yield db
    finally:
        client.drop_database(db.name)
        client.close()


@pytest.fixture(scope="module")
def clients(database: Database) -> Collection:
    """A collection with a secondary and a compound index, created through pymongo, and a few thousand documents."""
    collection = database["clients"]
    collection.create_index("email", name="email_1")
    collection.create_index([("region", ASCENDING), ("score", ASCENDING)], name="region_score")
    collection.insert_many([
        {"_id": f"c-{n:05d}", "email": f"client{n}@example.test", "region": f"r{n % 7}", "score": n}
        for n in range(DOCUMENTS)
    ])
    return collection


def test_find_by_id_scans_the_gin_mirror_of_the_id_index(database: Database, clients: Collection) -> None:
    nodes = explain(database, clients.name, {"_id": "c-01234"})

    assert gin_index_scans(nodes, "_id")
    assert "Seq Scan" not in {node["Node Type"] for node in nodes}
    assert clients.find_one({"_id": "c-01234"})["email"] == "client1234@example.test"


def test_find_by_indexed_field_scans_its_gin_mirror(database: Database, clients: Collection) -> None:
    nodes = explain(database, clients.name, {"email": "client42@example.test"})

    assert gin_index_scans(nodes, "email")
    assert "Seq Scan" not in {node["Node Type"] for node in nodes}
    assert clients.find_one({"email": "client42@example.test"})["_id"] == "c-00042"


def test_any_field_of_a_compound_index_is_served_by_its_mirror(database: Database, clients: Collection) -> None:
    nodes = explain(database, clients.name, {"score": 2999})

    assert [name for name in gin_index_scans(nodes, "score") if "region_score" in name]
    assert [doc["_id"] for doc in clients.find({"score": 2999})] == ["c-02999"]


def test_dropping_an_index_drops_its_mirror(database: Database) -> None:
    collection = database["dropped"]
    collection.create_index("code", name="code_1")
    collection.insert_many([{"code": n} for n in range(200)])
    assert gin_index_scans(explain(database, collection.name, {"code": 7}), "code")

    collection.drop_index("code_1")

    nodes = explain(database, collection.name, {"code": 7})
    assert gin_index_scans(nodes, "code") == []
    assert "Seq Scan" in {node["Node Type"] for node in nodes}
