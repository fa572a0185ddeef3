"""A small async Kubernetes client: JSON over aiohttp, objects decoded into the typed models.

Connection settings come from a kubeconfig or the pod's service account (loaded with
kubernetes_asyncio's loaders, which also refresh rotated tokens); requests go through one
aiohttp session so that watches stream lines without buffering whole responses.
"""

# Helpers take a plain ``timeout`` in seconds.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import importlib
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import msgspec

from pyroclast.controller.kube.resources import ResourceType

T = TypeVar("T", bound=msgspec.Struct)

REQUEST_TIMEOUT = 10.0
CONNECTIONS = 64
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class ApiError(Exception):
    """A request the API server refused, with its ``Status`` reason and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409 and self.reason != "AlreadyExists"

    @property
    def already_exists(self) -> bool:
        return self.status == 409 and self.reason == "AlreadyExists"

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def invalid(self) -> bool:
        return self.status in (400, 403, 422)


class _Status(msgspec.Struct):
    reason: str = ""
    message: str = ""


async def load_configuration(kubeconfig: str | None, context: str | None = None) -> Any:
    """Settings from ``kubeconfig``, else from the service account when in a cluster (a
    kubernetes_asyncio ``Configuration``; imported here, as it takes seconds to load)."""
    await asyncio.to_thread(importlib.import_module, "kubernetes_asyncio.config")
    from kubernetes_asyncio import client as k8s_client
    from kubernetes_asyncio import config as k8s_config

    configuration = k8s_client.Configuration()
    if kubeconfig:
        await k8s_config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
    else:
        await asyncio.to_thread(k8s_config.load_incluster_config, client_configuration=configuration)
    return configuration


def ssl_context(configuration: Any) -> ssl.SSLContext | bool:
    """The TLS setting of a session to ``configuration``'s server: False for plain HTTP or
    when verification is off, else a context with its CA and client certificate."""
    if not (configuration.host or "").startswith("https"):
        return False
    if not configuration.verify_ssl:
        return False
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return context


class KubeClient:
    """Typed requests against one API server; use ``async with`` or call :meth:`close`.

    One session of at most ``connections`` connections, through the configuration's proxy
    when it names one; unlike kubernetes_asyncio's own, the session does not consult the
    environment (a ``.netrc`` read and a proxy lookup in a thread for every request).
    """

    def __init__(
        self, configuration: Any, *, timeout: float = REQUEST_TIMEOUT, connections: int = CONNECTIONS
    ) -> None:
        self._configuration = configuration
        self._base = (configuration.host or "").rstrip("/")
        self._timeout = timeout
        self._connections = connections
        self._proxy: dict[str, Any] = {}
        if getattr(configuration, "proxy", None):
            self._proxy["proxy"] = configuration.proxy
            if getattr(configuration, "proxy_headers", None):
                self._proxy["proxy_headers"] = configuration.proxy_headers
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def connect(
        cls, kubeconfig: str | None, *, timeout: float = REQUEST_TIMEOUT, connections: int = CONNECTIONS
    ) -> KubeClient:
        configuration = await load_configuration(kubeconfig)
        kube = cls(configuration, timeout=timeout, connections=connections)
        await kube._open()
        return kube

    async def _open(self) -> None:
        context = await asyncio.to_thread(ssl_context, self._configuration)
        connector = aiohttp.TCPConnector(ssl=context, limit=self._connections)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> KubeClient:
        if self._session is None:
            await self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        auth = await self._configuration.auth_settings()
        for setting in auth.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        params = {k: v for k, v in (query or {}).items() if v is not None and v != ""}
        return self._base + path + (f"?{urlencode(params)}" if params else "")

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> bytes:
        """The raw response body; raises :class:`ApiError` on an error status."""
        assert self._session is not None, "client is closed"
        data = None if body is None else (body if isinstance(body, bytes) else msgspec.json.encode(body))
        headers = await self._headers(content_type if data is not None else None)
        async with (
            asyncio.timeout(timeout or self._timeout),
            self._session.request(
                method, self.url(path, query), data=data, headers=headers, **self._proxy
            ) as resp,
        ):
            raw = await resp.read()
            if resp.status >= 400:
                raise _error(resp.status, raw)
            return raw

    # --- typed verbs -----------------------------------------------------------------

    async def get(self, rt: ResourceType[T], namespace: str, name: str) -> T:
        return rt.decode(await self.request("GET", rt.path(namespace, name)))

    async def get_or_none(self, rt: ResourceType[T], namespace: str, name: str) -> T | None:
        try:
            return await self.get(rt, namespace, name)
        except ApiError as err:
            if err.not_found:
                return None
            raise

    async def create(self, rt: ResourceType[T], obj: T, namespace: str = "") -> T:
        body = rt.encode(obj)
        return rt.decode(await self.request("POST", rt.path(namespace), body=body))

    async def replace(self, rt: ResourceType[T], obj: T, *, subresource: str = "") -> T:
        meta = getattr(obj, "metadata", None)
        namespace = (meta.namespace if meta else None) or ""
        name = (meta.name if meta else None) or ""
        path = rt.path(namespace, name, subresource)
        return rt.decode(await self.request("PUT", path, body=rt.encode(obj)))

    async def patch(
        self,
        rt: ResourceType[T],
        namespace: str,
        name: str,
        patch: Any,
        *,
        subresource: str = "",
        content_type: str = MERGE_PATCH,
    ) -> T:
        path = rt.path(namespace, name, subresource)
        return rt.decode(await self.request("PATCH", path, body=patch, content_type=content_type))

    async def delete(
        self,
        rt: ResourceType[Any],
        namespace: str,
        name: str,
        *,
        uid: str | None = None,
        propagation: str | None = None,
        grace_period: int | None = None,
    ) -> bool:
        """Delete an object; False when it was already gone."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if uid:
            body["preconditions"] = {"uid": uid}
        if propagation:
            body["propagationPolicy"] = propagation
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        try:
            await self.request("DELETE", rt.path(namespace, name), body=body)
        except ApiError as err:
            if err.not_found:
                return False
            raise
        return True

    async def list_raw(self, rt: ResourceType[Any], namespace: str = "", **query: Any) -> bytes:
        return await self.request("GET", rt.path(namespace), query=query, timeout=max(self._timeout, 60.0))

    async def stream(
        self, path: str, query: Mapping[str, Any], *, timeout: float, idle_timeout: float
    ) -> AsyncIterator[bytes]:
        """Lines of a streaming response (a watch); ends when the server closes it."""
        assert self._session is not None, "client is closed"
        headers = await self._headers(None)
        client_timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=self._timeout, sock_read=idle_timeout
        )
        async with self._session.get(
            self.url(path, query), headers=headers, timeout=client_timeout, **self._proxy
        ) as resp:
            if resp.status >= 400:
                raise _error(resp.status, await resp.read())
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield line
            if buffer.strip():
                yield buffer


def _error(status: int, raw: bytes) -> ApiError:
    try:
        decoded = msgspec.json.decode(raw, type=_Status)
        return ApiError(status, decoded.reason, decoded.message)
    except msgspec.DecodeError:
        return ApiError(status, "", raw[:200].decode(errors="replace"))
