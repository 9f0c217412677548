"""structlog set-up shared by all services: JSON off a TTY, context variables, personal data masked."""

from __future__ import annotations

import logging
import sys

import structlog

from clientbase.masking import mask_event_dict
from clientbase.settings import LoggingSettings


def configure_logging(service: str, settings: LoggingSettings | None = None) -> None:
    """Configure structlog and the standard library logging for one service process."""
    settings = settings or LoggingSettings()
    level = getattr(logging, settings.level)
    use_console = settings.format == "console" or (settings.format == "auto" and sys.stderr.isatty())
    renderer = structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_event_dict,
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(level, logging.WARNING))
    logging.getLogger("pymongo").setLevel(max(level, logging.WARNING))


def route_server_logs_to_root() -> None:
    """Send uvicorn's own loggers through the structlog formatter instead of its plain handlers."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
