"""FerretDB v1 on PostgreSQL or SQLite, the stack's MongoDB-compatible server, built from deploy/local/ferretdb."""

from __future__ import annotations

from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from clientbase.stack.cache import CacheEntry
from clientbase.stack.config import MONGO_PORT_ENV, POSTGRESQL, SQLITE, StackConfig
from clientbase.stack.gobinary import GoBinary
from clientbase.stack.ports import HOST
from clientbase.stack.postgres import PostgresServer
from clientbase.stack.processes import ManagedProcess

PROBE_TIMEOUT_MS = 2000
BINARY_NAME = "ferretdb"
# FerretDB v1 holds a PostgreSQL connection for every update of an `update` command that matched a document until the
# command ends (see clientbase.mongo_writes); a pool well above the services' chunked commands keeps them from
# waiting on each other. PostgreSQL's max_connections (postgres.py) leaves room above it.
POOL_MAX_CONNS = 200


class FerretDBServer:
    """Builds and starts FerretDB on the configured backend, and tells whether it answers a ping."""

    name = "ferretdb"
    start_alone = False

    def __init__(self, config: StackConfig, postgres: PostgresServer) -> None:
        self.config = config
        self.postgres = postgres
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
    def build(self) -> GoBinary:
        """The Go main that embeds FerretDB, and its cached binary."""
        return GoBinary(self.config.deploy_dir / "ferretdb", "github.com/FerretDB/FerretDB", BINARY_NAME, "FerretDB", self.config.cache_dir)

    @property
    def source_dir(self) -> Path:
        """Go module with the small main that embeds FerretDB."""
        return self.build.source_dir

    def version(self) -> str:
        """FerretDB version required by the Go module."""
        return self.build.version()

    def cache_entry(self) -> CacheEntry:
        """Cache directory holding the built binary."""
        return self.build.cache_entry()

    @property
    def binary(self) -> Path:
        """Path of the built server binary."""
        return self.build.binary

    def prepare(self) -> bool:
        """Build the binary into the cache unless already there; return whether it built."""
        return self.build.prepare()

    def command(self) -> list[str]:
        """Command line of the server on the configured backend."""
        command = [str(self.binary), "-listen-addr", f"{HOST}:{self.config.mongo_port}", "-log-level", "warn"]
        if self.config.mongo_backend == POSTGRESQL:
            # The password reaches pgx through PGPASSWORD, out of the command line that `ps` shows.
            command += ["-handler", POSTGRESQL, "-postgresql-url",
                        f"{self.postgres.url(with_password=False)}?pool_max_conns={POOL_MAX_CONNS}"]
        else:
            command += ["-handler", SQLITE]
        # Given with either backend: this path of the state directory is how the pid file knows the process.
        return [*command, "-sqlite-dir", str(self.data_dir)]

    def start(self) -> int:
        """Start the server on its port and backend and return its pid."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self.postgres.client_environment() if self.config.mongo_backend == POSTGRESQL else None
        return self.process.start(self.command(), cwd=self.config.state_dir, env=env)

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
