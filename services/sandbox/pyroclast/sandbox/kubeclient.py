"""A small asynchronous Kubernetes API client over plain JSON, for the sandbox's own agents.

The simulated nodes and the sandbox controllers work on objects as dictionaries (their
logic is pure functions over the API's JSON), so they talk to the API server through this
thin aiohttp client rather than through generated models: ``KubeClient`` for requests,
``Informer`` for list-then-watch caches that survive API server restarts.
"""

from __future__ import annotations

import asyncio
import base64
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec
import structlog
import yaml

REQUEST_TIMEOUT = 10.0
WATCH_SECONDS = 60
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

log = structlog.stdlib.get_logger(__name__)


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used."""


class ApiError(Exception):
    """A request the API server refused, with its ``metav1.Status`` fields."""

    def __init__(self, status: int, reason: str, message: str, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.body = dict(body or {})

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def gone(self) -> bool:
        return self.status == 410


@dataclass(frozen=True)
class ClusterAccess:
    """Where the API server is and how to prove who we are."""

    server: str
    token: str | None = None
    ca_path: Path | None = None
    ca_data: bytes | None = None
    insecure: bool = False

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for aiohttp (reads the CA file: call it off the event loop)."""
        if not self.server.startswith("https"):
            return False
        if self.insecure:
            return False
        context = ssl.create_default_context()
        if self.ca_path is not None:
            context.load_verify_locations(cafile=str(self.ca_path))
        elif self.ca_data is not None:
            context.load_verify_locations(cadata=self.ca_data.decode())
        return context


def load_kubeconfig(path: Path, context: str | None = None) -> ClusterAccess:
    """The cluster and token of ``context`` (default: the current one) in a kubeconfig file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"kubeconfig {str(path)!r}: {exc}") from exc
    name = context or document.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or []}
    if name not in contexts:
        raise KubeconfigError(f"kubeconfig {str(path)!r}: no context {name!r}")
    ctx = contexts[name]
    clusters = {c.get("name"): c.get("cluster") or {} for c in document.get("clusters") or []}
    users = {u.get("name"): u.get("user") or {} for u in document.get("users") or []}
    cluster = clusters.get(ctx.get("cluster"))
    if not cluster or not cluster.get("server"):
        raise KubeconfigError(f"kubeconfig {str(path)!r}: context {name!r} has no cluster server")
    user = users.get(ctx.get("user")) or {}
    ca_path = cluster.get("certificate-authority")
    ca_data = cluster.get("certificate-authority-data")
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text(encoding="utf-8").strip()
    return ClusterAccess(
        server=str(cluster["server"]).rstrip("/"),
        token=token,
        ca_path=(path.parent / ca_path) if ca_path else None,
        ca_data=base64.b64decode(ca_data) if ca_data else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
    )


def api_path(
    api_version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """``/api/v1/namespaces/ns/pods/name/status`` and the like."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(plural)
    if name:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` (or ``name`` for cluster objects): the key logs and caches use."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


class KubeClient:
    """JSON requests to one API server; use as ``async with KubeClient(access) as client``."""

    def __init__(self, access: ClusterAccess, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.access = access
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is not None:
            return
        ssl_setting = await asyncio.to_thread(self.access.ssl_context)
        headers = {"Accept": "application/json", "User-Agent": "pyroclast-sandbox"}
        if self.access.token:
            headers["Authorization"] = f"Bearer {self.access.token}"
        self._session = aiohttp.ClientSession(
            base_url=self.access.server,
            headers=headers,
            connector=aiohttp.TCPConnector(ssl=ssl_setting, limit=64),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("KubeClient is not open")
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        seconds: float | None = None,
    ) -> dict[str, Any]:
        data = None if body is None else _encode(body)
        headers = {"Content-Type": content_type} if data is not None else None
        async with self.session.request(
            method,
            path,
            params=dict(params or {}),
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=seconds or self.timeout),
        ) as response:
            raw = await response.read()
            payload = _json(raw)
            if response.status >= 400:
                raise ApiError(
                    response.status,
                    str(payload.get("reason") or response.reason or "Error"),
                    str(payload.get("message") or raw[:200].decode("utf-8", "replace")),
                    payload,
                )
            return payload

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def get_or_none(self, path: str) -> dict[str, Any] | None:
        """The object at ``path``, or ``None`` if it does not exist."""
        try:
            return await self.get(path)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", path, body=body)

    async def replace(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", path, body=body)

    async def patch(self, path: str, body: Any, content_type: str = MERGE_PATCH) -> dict[str, Any]:
        return await self.request("PATCH", path, body=body, content_type=content_type)

    async def delete(
        self, path: str, *, grace_period_seconds: int | None = None, uid: str | None = None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if uid:
            options["preconditions"] = {"uid": uid}
        return await self.request("DELETE", path, body=options)

    async def watch(
        self, path: str, params: Mapping[str, str], *, seconds: int = WATCH_SECONDS
    ) -> AsyncIterator[dict[str, Any]]:
        """The events of one watch request, until the server ends it (``seconds`` at most)."""
        query = {**params, "watch": "true", "timeoutSeconds": str(seconds), "allowWatchBookmarks": "true"}
        timeout = aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=seconds + 15)
        async with self.session.get(path, params=query, timeout=timeout) as response:
            if response.status >= 400:
                payload = _json(await response.read())
                raise ApiError(
                    response.status,
                    str(payload.get("reason") or response.reason),
                    str(payload.get("message") or ""),
                    payload,
                )
            while True:
                line = await response.content.readline()
                if not line:
                    return
                if not line.strip():
                    continue
                yield _decoder.decode(line)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def _encode(body: Any) -> bytes:
    return _encoder.encode(body)


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = _decoder.decode(raw)
    except msgspec.DecodeError:
        return {"message": raw[:200].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"items": value}


# --- informers -------------------------------------------------------------------------------

Handler = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class Informer:
    """A list-then-watch cache of one resource, that reconnects with back-off.

    ``handlers`` are called with ``("ADDED" | "MODIFIED" | "DELETED", object)`` for every change,
    including the differences found by a re-list after a disconnection, so a handler never
    misses a state even if it misses an event.
    """

    def __init__(
        self,
        client: KubeClient,
        api_version: str,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> None:
        self.client = client
        self.path = api_path(api_version, plural, namespace)
        self.plural = plural
        self.params: dict[str, str] = {}
        if label_selector:
            self.params["labelSelector"] = label_selector
        if field_selector:
            self.params["fieldSelector"] = field_selector
        self.store: dict[str, dict[str, Any]] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()
        self._log = log.bind(key=self.path)

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.get(key)

    def items(self) -> list[dict[str, Any]]:
        return list(self.store.values())

    async def run(self) -> None:
        """List and watch forever; on any failure wait (0.5 s doubling to 10 s) and re-list."""
        delay = 0.5
        while True:
            try:
                version = await self._relist()
                delay = 0.5
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.gone:
                    self._log.info("watch expired, re-listing")
                    continue
                self._log.warning("list or watch refused", status=exc.status, error=exc.message)
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
                self._log.warning("API server unreachable, retrying", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(delay * 2, 10.0)

    async def _relist(self) -> str:
        listing = await self.client.get(self.path, self.params)
        fresh = {object_key(item): item for item in listing.get("items") or []}
        old = self.store
        self.store = fresh
        for key, item in old.items():
            if key not in fresh:
                await self._emit("DELETED", item)
        for key, item in fresh.items():
            previous = old.get(key)
            if previous is None:
                await self._emit("ADDED", item)
            elif _version(previous) != _version(item):
                await self._emit("MODIFIED", item)
        self.synced.set()
        return str((listing.get("metadata") or {}).get("resourceVersion") or "")

    async def _watch(self, version: str) -> str:
        params = dict(self.params)
        if version:
            params["resourceVersion"] = version
        async for event in self.client.watch(self.path, params):
            kind = event.get("type")
            obj = event.get("object") or {}
            if kind == "ERROR":
                code = int(obj.get("code") or 500)
                raise ApiError(code, str(obj.get("reason") or "Error"), str(obj.get("message") or ""), obj)
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            if kind == "BOOKMARK":
                continue
            key = object_key(obj)
            if kind == "DELETED":
                self.store.pop(key, None)
            else:
                self.store[key] = obj
            await self._emit(str(kind), obj)
        return version

    async def _emit(self, kind: str, obj: dict[str, Any]) -> None:
        for handler in self.handlers:
            try:
                result = handler(kind, obj)
                if result is not None:
                    await result
            except Exception:
                self._log.exception("event handler failed", key=object_key(obj), event_type=kind)


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
