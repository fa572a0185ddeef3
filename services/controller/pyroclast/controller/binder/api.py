"""What the binder needs of the API server: the calls it makes (:class:`BinderApi`, on raw
JSON objects), the error they raise when the server refuses one (:class:`ApiFailure`), and
where the scheduler's explanations are read (:data:`ExplanationSource`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pyroclast.common.bus.messages import ExplanationRecord

__all__ = ["ApiFailure", "BinderApi", "ExplanationSource", "Obj", "meta_of", "ref_of"]

Obj = dict[str, Any]


class ApiFailure(Exception):
    """An API call the server refused: HTTP status, Status reason and message."""

    def __init__(self, status: int, reason: str = "", message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message


class BinderApi(Protocol):
    """The few API calls the binder makes (raw JSON objects; ``ApiFailure`` on errors)."""

    async def get_pod(self, namespace: str, name: str) -> Obj | None: ...
    async def bind_pod(self, namespace: str, name: str, uid: str, node: str) -> None: ...
    async def evict_pod(self, namespace: str, name: str, uid: str) -> None: ...
    async def list_pods(self, namespace: str, label_selector: str = "") -> list[Obj]: ...
    async def replace_pod_status(self, pod: Obj) -> None: ...
    async def get_podgroup(self, namespace: str, name: str) -> Obj | None: ...
    async def patch_podgroup(self, namespace: str, name: str, patch: Obj) -> None: ...
    async def create_event(self, namespace: str, event: Obj) -> None: ...
    async def patch_event(self, namespace: str, name: str, patch: Obj) -> None: ...


ExplanationSource = Callable[[str, str], Awaitable[ExplanationRecord | None]]
"""The explanation the scheduler wrote for podgroup ``(namespace, name)``, if any."""


def meta_of(obj: Obj) -> Obj:
    """The ``metadata`` of a raw object (empty when missing)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def ref_of(obj: Obj) -> str:
    """``namespace/name`` of a raw object, for logs."""
    meta = meta_of(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
