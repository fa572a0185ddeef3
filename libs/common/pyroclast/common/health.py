"""The small HTTP server every service runs: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers 200 while the process's event loop runs. ``/readyz`` answers 200 only
when every registered readiness check passes (each check is a plain callable returning
``True`` or a reason string), and 503 with the failing reasons otherwise. ``/metrics`` serves
the Prometheus registry in the text exposition format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], bool | str]


@dataclass
class HealthServer:
    """Serves the health endpoints; start with ``await server.start()``."""

    host: str = "127.0.0.1"
    port: int = 0
    registry: CollectorRegistry = REGISTRY
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    def failing(self) -> dict[str, str]:
        """The readiness checks that do not pass, with their reasons."""
        failures: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                result = check()
            except Exception as exc:  # a broken check means not ready, never a crash
                result = f"check raised {type(exc).__name__}: {exc}"
            if result is not True:
                failures[name] = result if isinstance(result, str) else "not ready"
        return failures

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, _: web.Request) -> web.Response:
        failures = self.failing()
        if failures:
            body = "\n".join(f"{name}: {reason}" for name, reason in sorted(failures.items()))
            return web.Response(status=503, text=body + "\n")
        return web.Response(text="ok")

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        server = self._site._server
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
