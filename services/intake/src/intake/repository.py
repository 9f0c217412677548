"""MongoDB collections and indexes the intake service owns."""

from __future__ import annotations

from clientbase.mongo import IndexSpec

INDEXES: tuple[IndexSpec, ...] = ()
