"""The pods/log subresource: text from a pluggable source, by default files the kubelet writes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from . import status

if TYPE_CHECKING:
    from .registry import Registry
    from .rest import Target

# (namespace, pod, container, previous) -> path of the log file, or None when there is none.
LogSource = Callable[[str, str, str, bool], Path | None]
LOG_SOURCE: web.AppKey[LogSource] = web.AppKey("log_source")
STOPPING = web.AppKey("stopping", asyncio.Event)


def file_log_source(root: Path) -> LogSource:
    """Logs under ``root/<namespace>/<pod>/<container>.log`` (``.previous.log`` for previous)."""

    def source(namespace: str, pod: str, container: str, previous: bool) -> Path | None:
        suffix = ".previous.log" if previous else ".log"
        path = root / namespace / pod / f"{container}{suffix}"
        return path if path.is_file() else None

    return source


def _tail(data: bytes, lines: int) -> bytes:
    if lines <= 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])


async def serve_log(request: web.Request, registry: Registry, target: Target) -> web.StreamResponse:
    q = request.query
    pod = registry.get(target.rt, target.namespace, target.name)
    spec = pod.get("spec") or {}
    names = [c.get("name", "") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]
    container = q.get("container", "")
    if not container:
        main = [c.get("name", "") for c in spec.get("containers") or []]
        default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if isinstance(default, str) and default in names:
            container = default
        elif len(main) == 1:
            container = main[0]
        else:
            raise status.bad_request(
                f"a container name must be specified for pod {target.name}, choose one of: [{' '.join(main)}]"
            )
    if container not in names:
        raise status.bad_request(f"container {container} is not valid for pod {target.name}")
    source: LogSource = request.app[LOG_SOURCE]
    previous = q.get("previous") == "true"
    path = await asyncio.to_thread(source, target.namespace, target.name, container, previous)
    try:
        tail = int(q["tailLines"]) if q.get("tailLines") else None
        limit = int(q["limitBytes"]) if q.get("limitBytes") else None
    except ValueError:
        raise status.bad_request("tailLines and limitBytes must be integers") from None
    data = await asyncio.to_thread(path.read_bytes) if path is not None else b""
    offset = len(data)
    if tail is not None:
        data = _tail(data, tail)
    if limit is not None:
        data = data[:limit]
    if q.get("follow") != "true":
        return web.Response(body=data, content_type="text/plain")
    response = web.StreamResponse()
    response.content_type = "text/plain"
    await response.prepare(request)
    await response.write(data)
    store = registry.store
    key = (target.rt.key, target.namespace, target.name)
    with contextlib.suppress(ConnectionResetError):
        while store.get(*key) is not None and not request.app[STOPPING].is_set():
            await asyncio.sleep(0.2)
            if path is None:
                path = await asyncio.to_thread(source, target.namespace, target.name, container, previous)
            if path is None:
                continue
            size = await asyncio.to_thread(_size, path)
            if size > offset:
                chunk = await asyncio.to_thread(_read_from, path, offset)
                offset += len(chunk)
                await response.write(chunk)
        await response.write_eof()
    return response


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read()
