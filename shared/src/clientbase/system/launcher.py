"""Starts, checks and stops the four services as separate processes against a running stack."""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from clientbase.stack.config import StackConfig, find_repo_root
from clientbase.stack.ports import ensure_port_free
from clientbase.stack.processes import ManagedProcess
from clientbase.stack.stack import StackEndpoints
from clientbase.system.secrets import local_secrets
from clientbase.system.services import SERVICES, ServiceSpec

log = logging.getLogger("clientbase.system")

READY_TIMEOUT_S = 60.0
SMS_SINK_PORT_ENV = "CLIENTBASE_SMS_SINK_PORT"
SMS_SINK_DEFAULT_PORT = 8026


def sms_sink_port() -> int:
    """Port of the local SMS sink: CLIENTBASE_SMS_SINK_PORT, else 8026."""
    return int(os.environ.get(SMS_SINK_PORT_ENV) or SMS_SINK_DEFAULT_PORT)
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ServiceStatus:
    """What one service process looks like from outside."""

    name: str
    pid: int | None
    port: int
    ready_status: int | None
    ready_body: dict[str, object] | None


def http_get(url: str, timeout_s: float = 3.0) -> tuple[int | None, dict[str, object] | None]:
    """GET a JSON endpoint and return (status, body); (None, None) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"null")
        except ValueError:
            return error.code, None
    except (OSError, ValueError):
        return None, None


class SystemLauncher:
    """Manages the service processes, with pid files and logs beside the stack's."""

    def __init__(self, config: StackConfig, services: tuple[ServiceSpec, ...] = SERVICES) -> None:
        self.config = config
        self.services = services
        self._env: dict[str, str] | None = None

    def spec(self, name: str) -> ServiceSpec:
        """One service's spec by name."""
        return next(spec for spec in self.services if spec.name == name)

    def process(self, spec: ServiceSpec) -> ManagedProcess:
        """The managed process of one service."""
        return ManagedProcess(spec.name, self.config.run_dir / f"{spec.name}.pid",
                              self.config.logs_dir / f"{spec.name}.log", marker=spec.app_path)

    def replica(self, spec: ServiceSpec) -> ManagedProcess:
        """The managed process of a second replica of one service (same group, another HTTP port)."""
        return ManagedProcess(f"{spec.name}-replica", self.config.run_dir / f"{spec.name}-replica.pid",
                              self.config.logs_dir / f"{spec.name}-replica.log", marker=spec.app_path)

    def ready_url(self, spec: ServiceSpec, port: int | None = None) -> str:
        """Readiness endpoint of one service (or of its replica on `port`)."""
        return f"http://127.0.0.1:{port or spec.port}/ready"

    def sms_sink(self) -> ManagedProcess:
        """The managed process of the local SMS sink notify sends to."""
        return ManagedProcess("sms-sink", self.config.run_dir / "sms-sink.pid", self.config.logs_dir / "sms-sink.log",
                              marker="notify.cli sms-sink")

    @property
    def sms_sink_url(self) -> str:
        """Where the local SMS sink answers (its received messages: GET /messages)."""
        return f"http://127.0.0.1:{sms_sink_port()}"

    def environment(self, endpoints: StackEndpoints, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """The services' environment: the stack's addresses, local secrets and SMS sink unless the environment
        says otherwise; `extra_env` wins over everything."""
        defaults = {"NOTIFY_SMTP_HOST": endpoints.smtp_host, "NOTIFY_SMTP_PORT": str(endpoints.smtp_port),
                    "NOTIFY_TWILIO_URL": self.sms_sink_url, "NOTIFY_SMSRU_URL": self.sms_sink_url,
                    **local_secrets(self.config.state_dir)}
        notify = next((spec for spec in self.services if spec.name == "notify"), None)
        if notify is not None:
            defaults["NOTIFY_PUBLIC_URL"] = f"http://127.0.0.1:{notify.port}"
        defaults["INTAKE_EXPORT_SERVICES"] = json.dumps({spec.name: f"http://127.0.0.1:{spec.port}"
                                                         for spec in self.services})
        rotation = next((spec for spec in self.services if spec.name == "rotation"), None)
        if rotation is not None:
            defaults["METRICS_ROTATION_URL"] = f"http://127.0.0.1:{rotation.port}"
            defaults["METRICS_ROTATION_TOKEN"] = defaults["ROTATION_API_TOKEN"]
        return {**defaults, **os.environ, "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
                "MONGO_URL": endpoints.mongo_url, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
                **(extra_env or {})}

    def up(self, endpoints: StackEndpoints, extra_env: dict[str, str] | None = None) -> None:
        """Start the SMS sink and every service not yet running, and wait until each answers /ready with 200."""
        env = self._env = self.environment(endpoints, extra_env)
        self._start_sms_sink(env)
        started: list[tuple[ServiceSpec, ManagedProcess, int]] = []
        for spec in self.services:
            process = self.process(spec)
            if process.running_pid() is not None:
                log.info("%s already running (pid %s)", spec.name, process.running_pid())
                continue
            ensure_port_free(spec.port, spec.port_env, spec.name)
            pid = process.start(spec.argv(sys.executable), cwd=find_repo_root(), env=env)
            started.append((spec, process, pid))
        for spec, process, pid in started:
            self._wait_ready(spec, process, pid)

    def _wait_ready(self, spec: ServiceSpec, process: ManagedProcess, pid: int, port: int | None = None) -> None:
        """Wait until a started service process answers /ready with 200."""
        process.wait_until(lambda: http_get(self.ready_url(spec, port))[0] == 200, READY_TIMEOUT_S, pid)
        log.info("%s ready on port %s (pid %s, log %s)", process.name, port or spec.port, pid, process.log_file)

    def start(self, name: str, *, replica_port: int | None = None, wait: bool = True,
              env: dict[str, str] | None = None) -> int:
        """Start one service again with the environment of the last `up` and `env` over it (or a replica of it
        on another port)."""
        if self._env is None:
            raise RuntimeError("start one service only after `up` gave the system its environment")
        spec = self.spec(name)
        process = self.replica(spec) if replica_port else self.process(spec)
        pid = process.start(spec.argv(sys.executable, replica_port), cwd=find_repo_root(),
                            env={**self._env, **(env or {})})
        if wait:
            self._wait_ready(spec, process, pid, replica_port)
        return pid

    def stop(self, name: str, *, replica: bool = False) -> bool:
        """Stop one service process (or its replica) cleanly; say if one ran."""
        spec = self.spec(name)
        return (self.replica(spec) if replica else self.process(spec)).stop(STOP_TIMEOUT_S)

    def kill(self, name: str, *, replica: bool = False) -> bool:
        """SIGKILL one service process (or its replica), as a crash would end it; say if one ran."""
        spec = self.spec(name)
        return (self.replica(spec) if replica else self.process(spec)).kill()

    def _start_sms_sink(self, env: dict[str, str]) -> None:
        """Start the local SMS sink unless it runs, and wait until it answers."""
        sink = self.sms_sink()
        if sink.running_pid() is not None:
            return
        ensure_port_free(sms_sink_port(), SMS_SINK_PORT_ENV, "sms-sink")
        pid = sink.start([sys.executable, "-m", "notify.cli", "sms-sink", "--port", str(sms_sink_port())],
                         cwd=find_repo_root(), env=env)
        sink.wait_until(lambda: http_get(f"{self.sms_sink_url}/messages")[0] == 200, READY_TIMEOUT_S, pid)
        log.info("sms-sink ready on %s (pid %s)", self.sms_sink_url, pid)

    def down(self) -> None:
        """Stop every service process and the SMS sink."""
        for spec in reversed(self.services):
            if self.replica(spec).stop(STOP_TIMEOUT_S):
                log.info("%s replica stopped", spec.name)
            if self.process(spec).stop(STOP_TIMEOUT_S):
                log.info("%s stopped", spec.name)
        if self.sms_sink().stop(STOP_TIMEOUT_S):
            log.info("sms-sink stopped")

    def status(self) -> list[ServiceStatus]:
        """Pid and readiness of every service."""
        report = []
        for spec in self.services:
            pid = self.process(spec).running_pid()
            code, body = http_get(self.ready_url(spec)) if pid else (None, None)
            report.append(ServiceStatus(spec.name, pid, spec.port, code, body))
        return report

    def log_file(self, name: str) -> Path:
        """Where a service's output goes."""
        return self.config.logs_dir / f"{name}.log"
