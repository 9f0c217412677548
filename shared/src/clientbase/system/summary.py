"""Counts what the services stored, database by database, so a person sees that work happened."""

from __future__ import annotations

from pymongo import MongoClient

SERVICE_DATABASES = ("clientbase_intake", "clientbase_rotation", "clientbase_notify", "clientbase_metrics")
BOOKKEEPING = frozenset({"processed_events", "consumer_attempts"})


def collection_counts(mongo_url: str) -> dict[str, dict[str, int]]:
    """Documents per collection in each service database (bookkeeping collections left out)."""
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        report: dict[str, dict[str, int]] = {}
        for name in SERVICE_DATABASES:
            db = client[name]
            report[name] = {
                collection: db[collection].count_documents({})
                for collection in sorted(db.list_collection_names())
                if collection not in BOOKKEEPING
            }
        return report
    finally:
        client.close()
