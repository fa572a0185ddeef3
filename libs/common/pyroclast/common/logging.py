"""One place that sets up logging for every Pyroclast process.

Everything is logged through structlog as one JSON object per line on stderr. Standard
library loggers (aiohttp, nats, kubernetes_asyncio) are routed through the same pipeline so
that a process never mixes formats. Callers bind the object's key (``key="ns/name"``) on the
logger they use for that object, so every line about an object carries it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

LEVELS = ("debug", "info", "warning", "error", "critical")


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]


def configure_logging(
    service: str, level: str = "info", stream: TextIO | None = None, json: bool = True
) -> None:
    """Configure structlog and the standard library for a service.

    ``service`` is bound on every line; ``level`` is one of ``LEVELS``; ``json=False`` gives
    the human console renderer (for interactive tools).
    """
    if level.lower() not in LEVELS:
        raise ValueError(f"log level: must be one of {', '.join(LEVELS)}, got {level!r}")
    numeric = getattr(logging, level.upper())
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A logger for a module, with optional bound values (e.g. ``key="ns/name"``)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**initial) if initial else logger


def object_logger(
    logger: structlog.stdlib.BoundLogger, namespace: str | None, name: str
) -> structlog.stdlib.BoundLogger:
    """Bind the Kubernetes-style key of an object: ``namespace/name`` or ``name``."""
    key = f"{namespace}/{name}" if namespace else name
    return logger.bind(key=key)
