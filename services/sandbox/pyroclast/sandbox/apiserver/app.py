"""The API server application: HTTPS, authentication, routing, startup and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from pyroclast.common.net import free_port

from . import discovery, media, openapi, status
from .admission import CURRENT_USER
from .disruption import DisruptionController
from .gc import GarbageCollector
from .logs import LOG_SOURCE, STOPPING, LogSource, file_log_source
from .registry import Registry
from .resources import ResourceTable
from .rest import ResourceHandlers, error_response, json_response, resolve
from .status import ApiError
from .storage import Storage
from .store import ObjectStore
from .tls import Credentials, ensure_credentials, server_ssl_context, write_kubeconfig

log = structlog.get_logger("pyroclast.sandbox.apiserver")

__all__ = ["ApiServerConfig", "RunningApiServer", "start_apiserver", "write_kubeconfig"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass
class ApiServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    event_log_size: int = 20000
    log_source: LogSource | None = None
    extra_tokens: dict[str, str] = field(default_factory=dict)  # token -> user name


@dataclass
class RunningApiServer:
    url: str
    ca_path: Path
    token: str
    port: int
    credentials: Credentials
    registry: Registry
    _stop: Callable[[], Awaitable[None]]

    async def stop(self) -> None:
        await self._stop()


def _peer_user(request: web.Request) -> str | None:
    transport = request.transport
    if transport is None:
        return None
    cert = transport.get_extra_info("peercert")
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def build_app(
    config: ApiServerConfig, registry: Registry, creds: Credentials, gc: GarbageCollector
) -> web.Application:
    tokens = {creds.token: "admin", **config.extra_tokens}
    registry.tokens = tokens
    handlers = ResourceHandlers(registry)
    openapi_cache: dict[tuple[int, str], tuple[bytes, str]] = {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        user: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[7:].strip()
            for known, name in tokens.items():
                if hmac.compare_digest(known, token):
                    user = name
        if user is None:
            user = _peer_user(request)
        warnings: list[str] = []
        status.WARNINGS.set(warnings)
        CURRENT_USER.set(user or "system:anonymous")
        try:
            if user is None and request.path not in ANONYMOUS_PATHS:
                raise status.unauthorized()
            response = await handler(request)
        except ApiError as err:
            response = error_response(err)
        except web.HTTPRequestEntityTooLarge:
            response = error_response(status.too_large(3 * 1024 * 1024))
        except web.HTTPException as exc:
            if exc.status == 404:
                response = web.Response(status=404, text="404 page not found\n", content_type="text/plain")
            else:
                response = error_response(ApiError(exc.status, exc.reason.replace(" ", ""), exc.reason))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("request failed", method=request.method, path=request.path)
            response = error_response(status.internal(str(exc) or type(exc).__name__))
        if warnings and not response.prepared:
            for w in warnings[:50]:
                escaped = w.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
                response.headers.add("Warning", f'299 - "{escaped}"')
        log.debug(
            "request",
            method=request.method,
            path=request.path,
            status=response.status,
            user=user,
            ms=round((time.monotonic() - started) * 1000, 2),
        )
        return response

    app = web.Application(middlewares=[middleware], client_max_size=16 * 1024 * 1024)
    app[LOG_SOURCE] = config.log_source or file_log_source(config.data_dir / "logs")
    app[STOPPING] = asyncio.Event()

    def server_address(request: web.Request) -> str:
        return request.host

    async def version(request: web.Request) -> web.StreamResponse:
        return json_response(discovery.VERSION)

    async def health(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", content_type="text/plain")

    async def api_root(request: web.Request) -> web.StreamResponse:
        neg = media.negotiate(request.headers.get("Accept", ""), allow_table=False, allow_discovery=True)
        if neg is not None and neg.kind == "discovery-v2":
            return _discovery_v2(discovery.aggregated(registry.types, legacy=True))
        return json_response(discovery.api_versions(server_address(request)))

    async def apis_root(request: web.Request) -> web.StreamResponse:
        neg = media.negotiate(request.headers.get("Accept", ""), allow_table=False, allow_discovery=True)
        if neg is not None and neg.kind == "discovery-v2":
            return _discovery_v2(discovery.aggregated(registry.types, legacy=False))
        return json_response(discovery.api_group_list(registry.types))

    async def api_dispatch(request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if not parts:
            raise web.HTTPNotFound()
        version = parts[0]
        if version != "v1":
            raise web.HTTPNotFound()
        return await _resource_request(request, "", version, parts[1:])

    async def apis_dispatch(request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if not parts:
            raise web.HTTPNotFound()
        group = parts[0]
        if len(parts) == 1:
            doc = discovery.api_group(registry.types, group)
            if doc is None:
                raise web.HTTPNotFound()
            return json_response(doc)
        version = parts[1]
        if not registry.types.in_group_version(group, version):
            raise web.HTTPNotFound()
        return await _resource_request(request, group, version, parts[2:])

    async def _resource_request(
        request: web.Request, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        if not rest:
            if request.method != "GET":
                raise status.method_not_allowed()
            doc = discovery.resource_list(registry.types, group, version)
            if doc is None:
                raise web.HTTPNotFound()
            return json_response(doc)
        if rest[0] == "watch":
            # Legacy watch paths: /api/v1/watch/namespaces/ns/pods
            rest = rest[1:]
            request = request.clone(rel_url=request.rel_url.update_query({"watch": "true"}))
        target = resolve(registry, group, version, rest)
        return await handlers.handle(request, target)

    async def openapi_v2(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound()

    async def _gv_doc(path: str) -> tuple[bytes, str] | None:
        """The OpenAPI document of one group-version, built off the loop and cached per table generation."""
        key = (registry.types.generation, path)
        if key in openapi_cache:
            return openapi_cache[key]
        for group, versions in registry.types.groups():
            for v in versions:
                if openapi.doc_path(group, v) == path:
                    # Snapshot the types on the loop; build the document in a worker thread.
                    rts = registry.types.in_group_version(group, v)
                    result = await asyncio.to_thread(_render_gv_doc, rts)
                    openapi_cache[key] = result
                    return result
        return None

    async def openapi_v3_root(request: web.Request) -> web.StreamResponse:
        hashes = {}
        for group, versions in registry.types.groups():
            for v in versions:
                p = openapi.doc_path(group, v)
                found = await _gv_doc(p)
                if found:
                    hashes[p] = found[1]
        return json_response(openapi.root_doc(registry.types, hashes))

    async def openapi_v3_doc(request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"].strip("/")
        found = await _gv_doc(path)
        if found is None:
            raise web.HTTPNotFound()
        body, digest = found
        headers = {"Etag": f'"{digest}"'}
        if request.query.get("hash") == digest:
            headers["Cache-Control"] = "public, immutable"
        else:
            headers["Cache-Control"] = "no-cache, private"
        return web.Response(body=body, content_type="application/json", headers=headers)

    app.router.add_get("/version", version)
    app.router.add_get("/version/", version)
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, health)
    app.router.add_get("/api", api_root)
    app.router.add_get("/api/", api_root)
    app.router.add_get("/apis", apis_root)
    app.router.add_get("/apis/", apis_root)
    app.router.add_get("/openapi/v2", openapi_v2)
    app.router.add_get("/openapi/v3", openapi_v3_root)
    app.router.add_get("/openapi/v3/", openapi_v3_root)
    app.router.add_get("/openapi/v3/{path:.+}", openapi_v3_doc)
    app.router.add_route("*", "/api/{tail:.*}", api_dispatch)
    app.router.add_route("*", "/apis/{tail:.*}", apis_dispatch)
    return app


def _render_gv_doc(rts: list[Any]) -> tuple[bytes, str]:
    from .store import encode

    doc = openapi.group_version_doc(rts)
    return encode(doc), openapi.digest(doc)


def _discovery_v2(doc: dict[str, Any]) -> web.Response:
    from .store import encode

    return web.Response(
        body=encode(doc),
        headers={
            "Content-Type": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            "Cache-Control": "no-cache, private",
        },
    )


async def start_apiserver(config: ApiServerConfig) -> RunningApiServer:
    """Open the data dir, start serving HTTPS and the in-process controllers."""
    data_dir = Path(config.data_dir)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    creds = await asyncio.to_thread(ensure_credentials, data_dir, [config.host])
    storage = Storage(data_dir / "apiserver.db", event_log_size=config.event_log_size)
    store = ObjectStore(storage, event_log_size=config.event_log_size)
    await store.open()
    types = ResourceTable()
    registry = Registry(store, types)
    port = config.port or free_port(config.host)
    ca_pem = await asyncio.to_thread(creds.ca_path.read_text)
    await registry.bootstrap(config.host, port, ca_pem)
    gc = GarbageCollector(registry)
    gc.start()
    disruption = DisruptionController(registry)
    disruption.start()
    app = build_app(config, registry, creds, gc)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5)
    await runner.setup()
    ssl_context = await asyncio.to_thread(server_ssl_context, creds)
    site = web.TCPSite(runner, config.host, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"https://{host}:{port}"
    log.info("apiserver started", url=url, data_dir=str(data_dir), rv=store.rv)
    stopped = False

    async def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        app[STOPPING].set()
        for watchers in list(store.watchers.values()):
            for w in list(watchers):
                w.close()
        await runner.cleanup()
        await gc.stop()
        await disruption.stop()
        for task in list(registry.background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await registry.admission.close()
        await store.close()
        log.info("apiserver stopped", url=url, rv=store.rv)

    return RunningApiServer(url, creds.ca_path, creds.token, port, creds, registry, stop)
