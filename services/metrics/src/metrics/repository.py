"""MongoDB collections and indexes the metrics service owns."""

from __future__ import annotations

from clientbase.mongo import IndexSpec

INDEXES: tuple[IndexSpec, ...] = ()
