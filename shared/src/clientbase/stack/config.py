"""Where the local stack keeps its state and cache, and which ports it listens on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from clientbase.stack.errors import StackError

STATE_DIR_ENV = "CLIENTBASE_STATE_DIR"
CACHE_DIR_ENV = "CLIENTBASE_CACHE_DIR"
KAFKA_PORT_ENV = "CLIENTBASE_KAFKA_PORT"
KAFKA_CONTROLLER_PORT_ENV = "CLIENTBASE_KAFKA_CONTROLLER_PORT"
MONGO_PORT_ENV = "CLIENTBASE_MONGO_PORT"
POSTGRES_PORT_ENV = "CLIENTBASE_POSTGRES_PORT"
SMTP_PORT_ENV = "CLIENTBASE_SMTP_PORT"
MAILPIT_PORT_ENV = "CLIENTBASE_MAILPIT_PORT"
MAVEN_REPO_ENV = "CLIENTBASE_MAVEN_REPO"
MONGO_BACKEND_ENV = "CLIENTBASE_MONGO_BACKEND"
POSTGRES_USER_ENV = "CLIENTBASE_POSTGRES_USER"

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
MONGO_BACKENDS = (POSTGRESQL, SQLITE)
DEFAULT_POSTGRES_USER = "postgres"

DEPLOY_SUBDIR = Path("deploy") / "local"


def find_repo_root() -> Path:
    """Return the repository root: the nearest directory holding deploy/local, from this file or the cwd."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / DEPLOY_SUBDIR).is_dir():
                return candidate
    raise StackError(f"cannot find the repository root (a directory containing {DEPLOY_SUBDIR})")


def _deploy_dir() -> Path:
    return find_repo_root() / DEPLOY_SUBDIR


def _port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise StackError(f"{name}={port} is outside 1..65535")
    return port


def default_cache_dir() -> Path:
    """Return the build cache shared by every checkout: CLIENTBASE_CACHE_DIR, or ~/.cache/clientbase."""
    raw = os.environ.get(CACHE_DIR_ENV)
    if raw:
        return Path(raw).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "clientbase"


def maven_repo_from_env() -> Path | None:
    """Return the Maven local repository override, if CLIENTBASE_MAVEN_REPO is set."""
    raw = os.environ.get(MAVEN_REPO_ENV)
    return Path(raw).expanduser() if raw else None


def mongo_backend_from_env() -> str:
    """Return FerretDB's backend: CLIENTBASE_MONGO_BACKEND (postgresql or sqlite), postgresql when unset."""
    return os.environ.get(MONGO_BACKEND_ENV, "").strip().lower() or POSTGRESQL


def postgres_user_from_env() -> str:
    """Return the system user PostgreSQL runs as when the stack runs as root: CLIENTBASE_POSTGRES_USER, or postgres."""
    return os.environ.get(POSTGRES_USER_ENV, "").strip() or DEFAULT_POSTGRES_USER


@dataclass(frozen=True)
class StackConfig:
    """Directories and ports of one local stack; build inputs come from deploy/local of the repository."""

    state_dir: Path
    cache_dir: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    mongo_port: int = 27017
    postgres_port: int = 5433
    smtp_port: int = 1025
    mailpit_port: int = 8025
    deploy_dir: Path = field(default_factory=_deploy_dir)
    maven_repo: Path | None = field(default_factory=maven_repo_from_env)
    mongo_backend: str = field(default_factory=mongo_backend_from_env)
    postgres_user: str = field(default_factory=postgres_user_from_env)

    def __post_init__(self) -> None:
        # Servers run with the state directory as cwd, so every path they are given must be absolute.
        for name in ("state_dir", "cache_dir", "deploy_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)).absolute())
        if self.mongo_backend not in MONGO_BACKENDS:
            raise StackError(f"{MONGO_BACKEND_ENV}={self.mongo_backend!r}: choose one of {', '.join(MONGO_BACKENDS)}")

    @classmethod
    def from_env(cls) -> StackConfig:
        """Build the configuration from CLIENTBASE_* environment variables, with repository-relative defaults."""
        state_raw = os.environ.get(STATE_DIR_ENV)
        state_dir = Path(state_raw).expanduser() if state_raw else find_repo_root() / ".local" / "stack"
        return cls(
            state_dir=state_dir,
            cache_dir=default_cache_dir(),
            kafka_port=_port_from_env(KAFKA_PORT_ENV, 9092),
            kafka_controller_port=_port_from_env(KAFKA_CONTROLLER_PORT_ENV, 9093),
            mongo_port=_port_from_env(MONGO_PORT_ENV, 27017),
            postgres_port=_port_from_env(POSTGRES_PORT_ENV, 5433),
            smtp_port=_port_from_env(SMTP_PORT_ENV, 1025),
            mailpit_port=_port_from_env(MAILPIT_PORT_ENV, 8025),
        )

    @property
    def uses_postgres(self) -> bool:
        """Say whether FerretDB stores its data in the stack's PostgreSQL."""
        return self.mongo_backend == POSTGRESQL

    @property
    def run_dir(self) -> Path:
        """Directory of the pid files and the stack lock."""
        return self.state_dir / "run"

    @property
    def logs_dir(self) -> Path:
        """Directory of the server logs."""
        return self.state_dir / "logs"

    @property
    def data_dir(self) -> Path:
        """Directory of the servers' data."""
        return self.state_dir / "data"

    @property
    def conf_dir(self) -> Path:
        """Directory of the generated server configuration files."""
        return self.state_dir / "conf"
