"""A small async client for the API server: JSON over aiohttp, objects as plain dicts.

Every request has a timeout; failures become :class:`VcctlError` with one readable line.
"""

# Helpers take a plain ``timeout`` in seconds.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from pyroclast.cli.vc import kubeconfig
from pyroclast.cli.vc.errors import VcctlError

if TYPE_CHECKING:
    import aiohttp

REQUEST_TIMEOUT = 15.0
MERGE_PATCH = "application/merge-patch+json"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """A kind the commands use: its API group version, plural and printable name."""

    group_version: str
    plural: str
    kind: str
    namespaced: bool = True
    noun: str = ""

    @property
    def label(self) -> str:
        return self.noun or self.kind.lower()

    def path(self, namespace: str | None = None, name: str = "", subresource: str = "") -> str:
        root = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


JOBS = Resource("batch.volcano.sh/v1alpha1", "jobs", "Job")
PODGROUPS = Resource("scheduling.volcano.sh/v1beta1", "podgroups", "PodGroup")
QUEUES = Resource("scheduling.volcano.sh/v1beta1", "queues", "Queue", namespaced=False)
COMMANDS = Resource("bus.volcano.sh/v1alpha1", "commands", "Command")
JOBFLOWS = Resource("flow.volcano.sh/v1alpha1", "jobflows", "JobFlow")
JOBTEMPLATES = Resource("flow.volcano.sh/v1alpha1", "jobtemplates", "JobTemplate", noun="job template")
PODS = Resource("v1", "pods", "Pod")
NODES = Resource("v1", "nodes", "Node", namespaced=False)
EVENTS = Resource("v1", "events", "Event")


class ApiError(VcctlError):
    """A request the API server refused."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message or f"{status} {reason}")
        self.status = status
        self.reason = reason


def not_found(resource: Resource, name: str, namespace: str | None) -> VcctlError:
    """The message for a missing object: ``job "x" not found in namespace "default"``."""
    where = f' in namespace "{namespace}"' if resource.namespaced and namespace else ""
    return VcctlError(f'{resource.label} "{name}" not found{where}')


class Kube:
    """Requests against one API server; use ``async with``."""

    def __init__(self, config: kubeconfig.ClusterConfig, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.config = config
        self.namespace = config.namespace
        self._timeout = timeout
        self._headers: dict[str, str] = {"Accept": "application/json", "User-Agent": "vcctl"}
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"
        elif config.username:
            raw = f"{config.username}:{config.password}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def connect(cls, kubeconfig_path: str | None, master: str | None = None) -> Kube:
        import aiohttp  # imported here: ``vcctl version`` and usage errors stay quick

        config = await asyncio.to_thread(kubeconfig.load, kubeconfig_path, master)
        kube = cls(config)
        if config.plugin:
            kube._headers.update(await kubeconfig.plugin_headers(config, kubeconfig_path))
        try:
            context = await asyncio.to_thread(config.ssl_context)
        except (OSError, ValueError) as err:
            raise VcctlError(f"kubeconfig {config.source}: bad TLS settings: {err}") from None
        kube._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
        return kube

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Kube:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON response; raises :class:`ApiError` on an error status."""
        import aiohttp

        assert self._session is not None, "client is closed"
        params = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        url = self.config.server + path + (f"?{urlencode(params)}" if params else "")
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        try:
            async with (
                asyncio.timeout(timeout or self._timeout),
                self._session.request(method, url, data=data, headers=headers) as resp,
            ):
                raw = await resp.read()
                if resp.status >= 400:
                    raise _error(resp.status, raw)
        except TimeoutError:
            raise VcctlError(
                f"the API server at {self.config.server} did not answer within {timeout or self._timeout:g}s"
            ) from None
        except aiohttp.ClientError as err:
            raise VcctlError(f"cannot reach the API server at {self.config.server}: {err}") from None
        return json.loads(raw) if raw else {}

    # --- verbs --------------------------------------------------------------------------

    async def get(self, resource: Resource, name: str, namespace: str | None = None) -> Obj:
        """One object; a missing one is reported as ``<kind> "<name>" not found ...``."""
        try:
            result: Obj = await self.request("GET", resource.path(namespace, name))
        except ApiError as err:
            if err.status == 404:
                raise not_found(resource, name, namespace) from None
            raise
        return result

    async def get_or_none(self, resource: Resource, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return await self.get(resource, name, namespace)
        except VcctlError as err:
            if isinstance(err, ApiError):
                raise
            return None

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[Obj]:
        """The items of a list; ``namespace`` ``None`` or ``""`` lists every namespace."""
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        try:
            result = await self.request("GET", resource.path(namespace), query=query)
        except ApiError as err:
            if err.status == 404:
                raise VcctlError(
                    f"the API server does not serve {resource.plural}.{resource.group_version}: "
                    "are Volcano's CRDs installed?"
                ) from None
            raise
        items: list[Obj] = result.get("items") or []
        return items

    async def create(self, resource: Resource, obj: Obj, namespace: str | None = None) -> Obj:
        body = {"apiVersion": resource.group_version, "kind": resource.kind, **obj}
        result: Obj = await self.request("POST", resource.path(namespace), body=body)
        return result

    async def patch(self, resource: Resource, name: str, patch: Obj, namespace: str | None = None) -> Obj:
        try:
            result: Obj = await self.request(
                "PATCH", resource.path(namespace, name), body=patch, content_type=MERGE_PATCH
            )
        except ApiError as err:
            if err.status == 404:
                raise not_found(resource, name, namespace) from None
            raise
        return result

    async def delete(self, resource: Resource, name: str, namespace: str | None = None) -> None:
        try:
            await self.request("DELETE", resource.path(namespace, name))
        except ApiError as err:
            if err.status == 404:
                raise not_found(resource, name, namespace) from None
            raise


def _error(status: int, raw: bytes) -> ApiError:
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    message = str(data.get("message") or raw.decode(errors="replace").strip()[:200])
    return ApiError(status, str(data.get("reason") or ""), message)


def dig(obj: Any, *path: str, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...``, or ``default`` where a step is missing."""
    for key in path:
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            return default
        obj = obj[key]
    return obj


def controller_ref(obj: Obj, resource: Resource) -> Obj:
    """An owner reference marking ``obj`` as the controller, as ``metav1.NewControllerRef``."""
    return {
        "apiVersion": resource.group_version,
        "kind": resource.kind,
        "name": dig(obj, "metadata", "name", default=""),
        "uid": dig(obj, "metadata", "uid", default=""),
        "controller": True,
        "blockOwnerDeletion": True,
    }
