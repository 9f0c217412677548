"""PostgreSQL for FerretDB's postgresql backend: Debian's server, one cluster in the state directory, on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from clientbase.stack.accounts import Account, account_to_run_as, give_to, grant_search
from clientbase.stack.config import POSTGRES_PORT_ENV, StackConfig
from clientbase.stack.errors import StackError
from clientbase.stack.ports import HOST
from clientbase.stack.processes import ManagedProcess
from clientbase.stack.tools import run_tool

log = logging.getLogger("clientbase.stack")

DATABASE = "ferretdb"
SUPERUSER = "postgres"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
BINARIES = ("initdb", "postgres", "pg_isready", "psql")
PROBE_TIMEOUT_S = 2
SQL_TIMEOUT_S = 300.0
VERSION_DIR = re.compile(r"^\d+(\.\d+)?$")


def _version_key(directory: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in directory.name.split("."))


def _has_binaries(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in BINARIES)


def find_bin_dir(debian_root: Path = DEBIAN_ROOT) -> Path | None:
    """Return the bin directory of the newest PostgreSQL under /usr/lib/postgresql, else of `postgres` on PATH."""
    versions = [d for d in debian_root.glob("*") if VERSION_DIR.match(d.name)] if debian_root.is_dir() else []
    for version_dir in sorted(versions, key=_version_key, reverse=True):
        if _has_binaries(version_dir / "bin"):
            return version_dir / "bin"
    on_path = shutil.which("postgres")
    if on_path is not None and _has_binaries(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent
    return None


def server_settings(port: int) -> dict[str, str]:
    """Return the settings of the development and test cluster, passed on the server's command line."""
    return {
        "listen_addresses": HOST,
        "port": str(port),
        # TCP only: no socket directory to own and no length limit on the state directory's path.
        "unix_socket_directories": "",
        "shared_buffers": "128MB",
        "max_connections": "260",  # FerretDB's pool (ferretdb.POOL_MAX_CONNS) and room for tools
        # Development and test data only: a machine crash may lose or corrupt this cluster. Never for data you keep.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_wal_size": "1GB",
        "jit": "off",
        "log_min_messages": "warning",
        "log_line_prefix": "%m [%p] ",
    }


def settings_arguments(settings: dict[str, str]) -> list[str]:
    """Return `-c name=value` arguments for the postgres command line."""
    return [argument for name, value in settings.items() for argument in ("-c", f"{name}={value}")]


def _environment_without_libpq_variables() -> dict[str, str]:
    # PGHOST, PGSERVICE, PGOPTIONS and friends of the caller must not redirect or alter our connections.
    return {name: value for name, value in os.environ.items() if not name.startswith("PG")}


class PostgresServer:
    """Creates the cluster once, starts it as an unprivileged user, and installs FerretDB's GIN index mirrors."""

    name = "postgres"
    start_alone = True

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir / "postgres"
        self.password_file = config.conf_dir / "postgres.password"
        self.process = ManagedProcess(
            self.name, config.run_dir / "postgres.pid", config.logs_dir / "postgres.log", marker=str(self.data_dir),
            stop_signal=signal.SIGINT, stop_leader_only=True,
        )

    @property
    def port(self) -> int:
        """Port of the PostgreSQL listener."""
        return self.config.postgres_port

    def ports(self) -> list[tuple[int, str]]:
        """Ports the server listens on, each with the environment variable that moves it."""
        return [(self.config.postgres_port, POSTGRES_PORT_ENV)]

    def password(self) -> str | None:
        """Return the superuser's password, made when the cluster was created, or None before that."""
        try:
            return self.password_file.read_text().strip()
        except OSError:
            return None

    def url(self, with_password: bool = True) -> str:
        """Connection string of FerretDB's database, with the superuser's password unless told otherwise."""
        password = self.password() if with_password else None
        credentials = f"{SUPERUSER}:{password}" if password else SUPERUSER
        return f"postgres://{credentials}@{HOST}:{self.config.postgres_port}/{DATABASE}"

    @property
    def index_mirrors_sql(self) -> Path:
        """SQL that installs the GIN mirrors of FerretDB's indexes, kept in deploy/local/postgres."""
        return self.config.deploy_dir / "postgres" / "index_mirrors.sql"

    def bin_dir(self) -> Path:
        """Directory of initdb, postgres, pg_isready and psql, or a StackError saying how to install them."""
        found = find_bin_dir()
        if found is None:
            raise StackError(
                f"PostgreSQL ({', '.join(BINARIES)}) not found under {DEBIAN_ROOT}/*/bin or on PATH; install "
                "Debian's postgresql package (deploy/local/bootstrap.sh does)"
            )
        return found

    def prepare(self) -> bool:
        """Check that the server's binaries are installed; nothing is built, so return False."""
        self.bin_dir()
        return False

    def client_environment(self) -> dict[str, str]:
        """Environment for libpq and pgx clients of the cluster: the superuser's password and nothing else of ours."""
        env = _environment_without_libpq_variables()
        password = self.password()
        if password:
            env["PGPASSWORD"] = password
        return env

    def start(self) -> int:
        """Create the cluster on first use, start the server as the unprivileged account and return its pid."""
        account = account_to_run_as(self.config.postgres_user)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if account is not None:
            grant_search(self.data_dir, account)
        self._create_cluster_once(account)
        command = [
            str(self.bin_dir() / "postgres"), "-D", str(self.data_dir),
            *settings_arguments(server_settings(self.config.postgres_port)),
        ]
        return self.process.start(
            command, cwd=self.data_dir, env=_environment_without_libpq_variables(), account=account,
        )

    def _create_cluster_once(self, account: Account | None) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        # A directory without PG_VERSION is what an interrupted initdb leaves: start it over.
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        if account is not None:
            give_to(self.data_dir, account, 0o700)
        else:
            self.data_dir.chmod(0o700)
        password = secrets.token_urlsafe(24)
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        self.password_file.unlink(missing_ok=True)
        with os.fdopen(os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as secret:
            secret.write(password + "\n")
        # A copy the server's account can read, on a path it may traverse, gone once initdb has stored the hash.
        with tempfile.TemporaryDirectory(prefix="initdb-", dir=self.data_dir.parent) as scratch:
            password_copy = Path(scratch) / "password"
            password_copy.write_text(password + "\n")
            if account is not None:
                give_to(Path(scratch), account, 0o700)
                give_to(password_copy, account, 0o600)
            run_tool(
                [
                    str(self.bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                    f"--pwfile={password_copy}", "--auth-host=scram-sha-256", "--auth-local=peer",
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                ],
                what="creating the PostgreSQL cluster", timeout_s=SQL_TIMEOUT_S, cwd=self.data_dir,
                env=_environment_without_libpq_variables(), account=account,
            )
        log.info("postgres cluster created in %s (runs as %s)", self.data_dir,
                 account.name if account is not None else "the current user")

    def is_answering(self) -> bool:
        """Say whether the server accepts connections."""
        found = find_bin_dir()
        if found is None:
            return False
        probe = [
            str(found / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
            "-t", str(PROBE_TIMEOUT_S),
        ]
        try:
            result = subprocess.run(probe, env=self.client_environment(), stdin=subprocess.DEVNULL,
                                    capture_output=True, timeout=PROBE_TIMEOUT_S + 3, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    def psql(self, *arguments: str, database: str = DATABASE) -> str:
        """Run psql as the superuser against one database of the cluster and return its output."""
        command = [
            str(self.bin_dir() / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", database, *arguments,
        ]
        return run_tool(command, what="running psql on the stack's PostgreSQL", timeout_s=SQL_TIMEOUT_S,
                        env=self.client_environment())

    def install_index_mirrors(self) -> None:
        """Create FerretDB's database when missing and (re)install the GIN index mirrors in it; idempotent."""
        exists = self.psql("-c", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", database="postgres")
        if exists.strip() != "1":
            self.psql("-c", f'CREATE DATABASE "{DATABASE}"', database="postgres")
        created = self.psql("--single-transaction", "-f", str(self.index_mirrors_sql)).split()
        if created and created[-1] not in {"", "0"}:
            log.info("postgres: created %s GIN mirrors of existing indexes", created[-1])

    def wait_ready(self, pid: int, timeout_s: float) -> None:
        """Wait until the server accepts connections, then make sure FerretDB's database and index mirrors exist."""
        self.process.wait_until(self.is_answering, timeout_s, pid)
        self.install_index_mirrors()
