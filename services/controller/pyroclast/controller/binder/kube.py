"""The binder's API calls through a kubernetes_asyncio ApiClient's session, on raw JSON (no models)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config

from pyroclast.controller.binder.apply import ApiFailure
from pyroclast.controller.kube.client import _ssl_context

__all__ = ["KubeBinderApi", "api_client", "binder_session"]

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
PODGROUP = ("scheduling.volcano.sh", "v1beta1", "podgroups")


async def api_client(kubeconfig: str | None) -> k8s.ApiClient:
    """An ApiClient from ``kubeconfig``, else from the pod's service account."""
    configuration = k8s.Configuration()
    if kubeconfig:
        await k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    else:
        await asyncio.to_thread(k8s_config.load_incluster_config, client_configuration=configuration)
    return k8s.ApiClient(configuration)


async def binder_session(client: k8s.ApiClient, *, connections: int = 128) -> aiohttp.ClientSession:
    """A session for :class:`KubeBinderApi` with ``client``'s TLS settings that, unlike the
    ApiClient's own, does not consult the environment (a ``.netrc`` read and a proxy lookup in
    a thread for every request); the caller closes it."""
    context = await asyncio.to_thread(_ssl_context, client.configuration)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=connections))


class KubeBinderApi:
    """:class:`~pyroclast.controller.binder.apply.BinderApi` over one ApiClient; every call
    is bounded by ``timeout`` seconds.

    The requests go straight through the ApiClient's aiohttp session (its TLS settings,
    proxy and credentials) as JSON, without the generated API's per-call serialization.
    """

    def __init__(
        self, client: k8s.ApiClient, *, timeout: float = 10.0, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._client = client
        self._configuration: Any = client.configuration
        self._host = str(self._configuration.host or "").rstrip("/")
        self._timeout = timeout
        self._session = session

    async def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Obj | None:
        """The decoded response body (None when empty), or ``ApiFailure``."""
        headers = {"Accept": "application/json"}
        for setting in (await self._configuration.auth_settings()).values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = msgspec.json.encode(body)
        rest = self._client.rest_client
        extra: dict[str, Any] = {}
        if rest.proxy:
            extra["proxy"] = rest.proxy
            if rest.proxy_headers:
                extra["proxy_headers"] = rest.proxy_headers
        try:
            async with (
                asyncio.timeout(self._timeout),
                (self._session or rest.pool_manager).request(
                    method, self._host + path, params=query, data=data, headers=headers, **extra
                ) as resp,
            ):
                raw = await resp.read()
                status, reason = resp.status, resp.reason or ""
        except aiohttp.ClientResponseError as err:
            raise ApiFailure(err.status, str(err.message)) from err
        if not 200 <= status <= 299:
            raise _failure(status, reason, raw)
        if not raw:
            return None
        decoded = msgspec.json.decode(raw)
        return decoded if isinstance(decoded, dict) else None

    async def get_pod(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self._request("GET", _pod_path(namespace, name))
        except ApiFailure as err:
            if err.status == 404:
                return None
            raise

    async def bind_pod(self, namespace: str, name: str, uid: str, node: str) -> None:
        meta: Obj = {"name": name, "namespace": namespace}
        if uid:
            meta["uid"] = uid
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": meta,
            "target": {"kind": "Node", "name": node},
        }
        await self._request("POST", _pod_path(namespace, name, "binding"), body)

    async def evict_pod(self, namespace: str, name: str, uid: str) -> None:
        body: Obj = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        if uid:
            body["deleteOptions"] = {"preconditions": {"uid": uid}}
        await self._request("POST", _pod_path(namespace, name, "eviction"), body)

    async def list_pods(self, namespace: str, label_selector: str = "") -> list[Obj]:
        query = {"labelSelector": label_selector} if label_selector else None
        listed = await self._request("GET", _pod_path(namespace), query=query)
        items = (listed or {}).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    async def replace_pod_status(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        await self._request("PUT", _pod_path(meta["namespace"], meta["name"], "status"), pod)

    async def get_podgroup(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self._request("GET", _podgroup_path(namespace, name))
        except ApiFailure as err:
            if err.status == 404:
                return None
            raise

    async def patch_podgroup(self, namespace: str, name: str, patch: Obj) -> None:
        await self._request("PATCH", _podgroup_path(namespace, name), patch, content_type=MERGE_PATCH)

    async def create_event(self, namespace: str, event: Obj) -> None:
        await self._request("POST", f"/api/v1/namespaces/{quote(namespace, safe='')}/events", event)

    async def patch_event(self, namespace: str, name: str, patch: Obj) -> None:
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/events/{quote(name, safe='')}"
        await self._request("PATCH", path, patch, content_type=MERGE_PATCH)


def _pod_path(namespace: str, name: str = "", subresource: str = "") -> str:
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods"
    if name:
        path += f"/{quote(name, safe='')}"
    if subresource:
        path += f"/{subresource}"
    return path


def _podgroup_path(namespace: str, name: str) -> str:
    group, version, plural = PODGROUP
    return f"/apis/{group}/{version}/namespaces/{quote(namespace, safe='')}/{plural}/{quote(name, safe='')}"


def _failure(status: int, reason: str, raw: Any) -> ApiFailure:
    """An ApiFailure from an error response, with the reason and message of its Status."""
    message = ""
    try:
        body = json.loads(raw or b"{}")
        if isinstance(body, dict):
            reason = body.get("reason") or reason
            message = body.get("message") or ""
    except (ValueError, TypeError):
        message = str(raw or "")[:200]
    return ApiFailure(status, str(reason), str(message))
