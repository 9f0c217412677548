"""FerretDB v1 on SQLite, the MongoDB-compatible server of the local stack, built from deploy/local/ferretdb."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from clientbase.stack.cache import CacheEntry
from clientbase.stack.config import MONGO_PORT_ENV, StackConfig
from clientbase.stack.errors import StackError
from clientbase.stack.ports import HOST
from clientbase.stack.processes import ManagedProcess
from clientbase.stack.tools import require_tool, run_tool

PROBE_TIMEOUT_MS = 2000
BINARY_NAME = "ferretdb"


class FerretDBServer:
    """Builds and starts FerretDB, and tells whether it answers a ping."""

    name = "ferretdb"

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir / "ferretdb"
        self.process = ManagedProcess(
            self.name, config.run_dir / "ferretdb.pid", config.logs_dir / "ferretdb.log", marker=str(self.data_dir)
        )

    @property
    def port(self) -> int:
        """Port of the MongoDB wire protocol listener."""
        return self.config.mongo_port

    @property
    def mongo_url(self) -> str:
        """Connection string for MongoDB drivers."""
        return f"mongodb://{HOST}:{self.config.mongo_port}/"

    def ports(self) -> list[tuple[int, str]]:
        """Ports the server listens on, each with the environment variable that moves it."""
        return [(self.config.mongo_port, MONGO_PORT_ENV)]

    @property
    def source_dir(self) -> Path:
        """Go module with the small main that embeds FerretDB."""
        return self.config.deploy_dir / "ferretdb"

    def version(self) -> str:
        """FerretDB version required by the Go module."""
        match = re.search(r"github\.com/FerretDB/FerretDB\s+(v\S+)", (self.source_dir / "go.mod").read_text())
        if match is None:
            raise StackError(f"no github.com/FerretDB/FerretDB requirement in {self.source_dir / 'go.mod'}")
        return match.group(1)

    def cache_entry(self) -> CacheEntry:
        """Cache directory holding the built binary."""
        inputs = [self.source_dir / name for name in ("main.go", "go.mod", "go.sum")]
        return CacheEntry(self.config.cache_dir / f"ferretdb-{self.version()}", inputs)

    @property
    def binary(self) -> Path:
        """Path of the built server binary."""
        return self.cache_entry().directory / BINARY_NAME

    def prepare(self) -> bool:
        """Build the binary into the cache unless already there; return whether it built."""
        return self.cache_entry().ensure(self._build)

    def _build(self, directory: Path) -> None:
        # GOTOOLCHAIN=local: never download another Go; module and build caches stay where Go keeps them.
        env = {**os.environ, "GOTOOLCHAIN": "local"}
        go = require_tool("go")
        run_tool([go, "mod", "download"], what="downloading FerretDB's Go modules", timeout_s=1800,
                 cwd=self.source_dir, env=env)
        run_tool([go, "build", "-trimpath", "-o", str(directory / BINARY_NAME), "."],
                 what="building FerretDB", timeout_s=1800, cwd=self.source_dir, env=env)

    def start(self) -> int:
        """Start the server on its port with its SQLite directory and return its pid."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.binary), "-listen-addr", f"{HOST}:{self.config.mongo_port}",
            "-sqlite-dir", str(self.data_dir), "-log-level", "warn",
        ]
        return self.process.start(command, cwd=self.config.state_dir)

    def is_answering(self) -> bool:
        """Say whether the server answers a ping."""
        client: MongoClient = MongoClient(
            self.mongo_url, serverSelectionTimeoutMS=PROBE_TIMEOUT_MS, connectTimeoutMS=PROBE_TIMEOUT_MS,
        )
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def wait_ready(self, pid: int, timeout_s: float) -> None:
        """Wait until the server answers a ping."""
        self.process.wait_until(self.is_answering, timeout_s, pid)
