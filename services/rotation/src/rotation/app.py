"""Composition root of the rotation service: run with `faststream run rotation.app:create_app --factory`."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from clientbase.runtime import ServiceRuntime

from rotation.handlers import build_router
from rotation.plan_api import PlanApi
from rotation.repository import INDEXES
from rotation.settings import Settings

SERVICE = "rotation"


def build_runtime(settings: Settings) -> ServiceRuntime:
    """The rotation service's runtime: broker, reliability kit, MongoDB with its indexes."""
    return ServiceRuntime(SERVICE, settings, indexes=INDEXES)


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """Build the rotation app; nothing connects until it starts."""
    settings = settings or Settings()
    runtime = build_runtime(settings)
    runtime.include([build_router(runtime, settings)])
    plan = PlanApi(settings, runtime)
    app = runtime.build_app(description="Owns who owns each client: assignment, inactivity sweep, fair reassignment, "
                            "handover deadlines.", extra_routes=plan.routes())
    app.on_startup(plan.check_configured)
    return app
