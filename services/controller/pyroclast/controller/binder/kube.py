"""The binder's API calls over the controller's :class:`~pyroclast.controller.kube.client.KubeClient`,
on raw JSON (no models)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from pyroclast.controller.binder.api import ApiFailure
from pyroclast.controller.kube.client import MERGE_PATCH, ApiError, KubeClient

__all__ = ["CONNECTIONS", "KubeBinderApi", "binder_client"]

Obj = dict[str, Any]
PODGROUP = ("scheduling.volcano.sh", "v1beta1", "podgroups")
CONNECTIONS = 128
"""Connections of the binder's session (it applies many decisions at once)."""


async def binder_client(
    kubeconfig: str | None,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - KubeClient's per-request timeout
) -> KubeClient:
    """A client for :class:`KubeBinderApi` from ``kubeconfig``, else from the pod's service
    account; the caller closes it."""
    return await KubeClient.connect(kubeconfig, timeout=timeout, connections=CONNECTIONS)


class KubeBinderApi:
    """:class:`~pyroclast.controller.binder.api.BinderApi` over one :class:`KubeClient`;
    every call is bounded by the client's timeout. The caller closes the client."""

    def __init__(self, kube: KubeClient) -> None:
        self._kube = kube

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
        try:
            raw = await self._kube.request(method, path, query=query, body=body, content_type=content_type)
        except ApiError as err:
            raise ApiFailure(err.status, err.reason or _phrase(err.status), err.message) from err
        except aiohttp.ClientResponseError as err:
            raise ApiFailure(err.status, str(err.message)) from err
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


def _phrase(status: int) -> str:
    """The HTTP reason phrase of ``status`` (for a Status without a reason)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
