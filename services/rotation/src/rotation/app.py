"""Composition root of the rotation service: run with `faststream run rotation.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase.crypto.wiring import runtime_vault
from clientbase.runtime import ServiceRuntime

from rotation.handlers import build_router
from rotation.hot import HotWatch, hot_leads
from rotation.ownership_api import ownership_api
from rotation.plan_api import plan_api
from rotation.repository import INDEXES, RotationRepository
from rotation.settings import Settings

SERVICE = "rotation"


def build_runtime(settings: Settings) -> ServiceRuntime:
    """The rotation service's runtime: broker, reliability kit, MongoDB with its indexes."""
    return ServiceRuntime(SERVICE, settings, indexes=INDEXES)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the rotation app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = build_runtime(settings)
    vault = runtime_vault(runtime, settings.keyvault)
    runtime.include([build_router(runtime, settings, vault)])
    api = ownership_api(settings, lambda: RotationRepository(runtime.db), runtime.producer.publish)
    app = runtime.build_app(description="Owns who owns each client: assignment, inactivity sweep, fair reassignment, "
                            "handover deadlines.", extra_routes=[*api.mounts(), *plan_api(settings, runtime).mounts()])
    app.on_startup(vault.require)
    watch = HotWatch(lambda: hot_leads(runtime, settings), settings.hot_check_interval_s)
    app.after_startup(watch.start)
    app.on_shutdown(watch.stop)
    return app
