"""The binder's API calls with kubernetes_asyncio, on raw JSON (no model round trips)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException

from pyroclast.controller.binder.apply import ApiFailure

__all__ = ["KubeBinderApi", "api_client"]

T = TypeVar("T")
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


class KubeBinderApi:
    """:class:`~pyroclast.controller.binder.apply.BinderApi` over one ApiClient; every call
    is bounded by ``timeout`` seconds."""

    def __init__(self, client: k8s.ApiClient, *, timeout: float = 10.0) -> None:
        # Raw dict bodies and ``_content_type`` are accepted at runtime, not by the stubs.
        self._core: Any = k8s.CoreV1Api(client)
        self._custom: Any = k8s.CustomObjectsApi(client)
        self._timeout = timeout

    async def _call(self, call: Awaitable[Any]) -> Obj | None:
        """Run a ``_preload_content=False`` call; the decoded body, or ``ApiFailure``."""
        try:
            async with asyncio.timeout(self._timeout):
                resp = await call
                try:
                    raw = await resp.read()
                finally:
                    resp.release()
        except ApiException as err:
            raise _failure(int(err.status or 0), err.reason or "", err.body) from err
        if not 200 <= resp.status <= 299:
            raise _failure(resp.status, resp.reason or "", raw)
        if not raw:
            return None
        decoded = json.loads(raw)
        return decoded if isinstance(decoded, dict) else None

    def _opts(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self._timeout}

    async def get_pod(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self._call(self._core.read_namespaced_pod(name, namespace, **self._opts()))
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
        await self._call(self._core.create_namespaced_pod_binding(name, namespace, body, **self._opts()))

    async def evict_pod(self, namespace: str, name: str, uid: str) -> None:
        body: Obj = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        if uid:
            body["deleteOptions"] = {"preconditions": {"uid": uid}}
        await self._call(self._core.create_namespaced_pod_eviction(name, namespace, body, **self._opts()))

    async def list_pods(self, namespace: str, label_selector: str = "") -> list[Obj]:
        query = {"label_selector": label_selector} if label_selector else {}
        listed = await self._call(self._core.list_namespaced_pod(namespace, **query, **self._opts()))
        items = (listed or {}).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    async def replace_pod_status(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        await self._call(
            self._core.replace_namespaced_pod_status(meta["name"], meta["namespace"], pod, **self._opts())
        )

    async def get_podgroup(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self._call(
                self._custom.get_namespaced_custom_object(
                    *PODGROUP[:2], namespace, PODGROUP[2], name, **self._opts()
                )
            )
        except ApiFailure as err:
            if err.status == 404:
                return None
            raise

    async def patch_podgroup(self, namespace: str, name: str, patch: Obj) -> None:
        await self._call(
            self._custom.patch_namespaced_custom_object(
                *PODGROUP[:2], namespace, PODGROUP[2], name, patch, _content_type=MERGE_PATCH, **self._opts()
            )
        )

    async def create_event(self, namespace: str, event: Obj) -> None:
        await self._call(self._core.create_namespaced_event(namespace, event, **self._opts()))

    async def patch_event(self, namespace: str, name: str, patch: Obj) -> None:
        await self._call(
            self._core.patch_namespaced_event(
                name, namespace, patch, _content_type=MERGE_PATCH, **self._opts()
            )
        )


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
