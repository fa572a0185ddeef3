"""In-memory bookkeeping of the job controller: pods by job and task, delayed actions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pyroclast.common.models import Pod
from pyroclast.common.models import labels as keys
from pyroclast.controller.job import naming
from pyroclast.controller.job.policies import DelayedAction
from pyroclast.controller.kube.informer import newer, resource_version


def pod_job_key(pod: Pod) -> str | None:
    """``namespace/job`` of the Volcano job a pod belongs to, from its job-name label."""
    meta = pod.metadata
    if meta is None:
        return None
    job = (meta.labels or {}).get(keys.JOB_NAME_KEY) or (meta.annotations or {}).get(keys.JOB_NAME_KEY)
    if not job:
        return None
    return f"{meta.namespace or ''}/{job}"


class PodIndex:
    """Pods grouped as the job core expects them: job key -> task -> pod name -> pod."""

    def __init__(self) -> None:
        self._jobs: dict[str, dict[str, dict[str, Pod]]] = {}

    def upsert(self, pod: Pod) -> None:
        key = pod_job_key(pod)
        if key is None or pod.metadata is None:
            return
        tasks = self._jobs.setdefault(key, {})
        name = pod.metadata.name or ""
        task = naming.task_key(pod)
        for other_task, pods in tasks.items():
            if other_task != task and name in pods:
                del pods[name]
        current = tasks.get(task, {}).get(name)
        if current is not None and not newer(resource_version(pod), resource_version(current)):
            return
        tasks.setdefault(task, {})[name] = pod

    def note(self, pod: Pod) -> None:
        """A pod this process created: kept unless the watch already delivered it."""
        self.upsert(pod)

    def remove(self, pod: Pod) -> bool:
        """Forget ``pod``; True when it was known."""
        key = pod_job_key(pod)
        if key is None or pod.metadata is None:
            return False
        tasks = self._jobs.get(key, {})
        name = pod.metadata.name or ""
        known = False
        for pods in tasks.values():
            if pods.pop(name, None) is not None:
                known = True
        if not any(tasks.values()):
            self._jobs.pop(key, None)
        return known

    def job_pods(self, key: str) -> dict[str, dict[str, Pod]]:
        return {task: dict(pods) for task, pods in self._jobs.get(key, {}).items()}

    def task_pods(self, key: str, task: str) -> dict[str, Pod]:
        return dict(self._jobs.get(key, {}).get(task, {}))


@dataclass
class _Pending:
    action: DelayedAction
    handle: asyncio.TimerHandle


class DelayedActions:
    """Delayed actions waiting per job; firing one hands it to ``fire``."""

    def __init__(self, fire: Callable[[DelayedAction], None]) -> None:
        self._fire = fire
        self._pending: dict[str, list[_Pending]] = {}

    def add(self, action: DelayedAction) -> None:
        loop = asyncio.get_running_loop()
        entry: _Pending | None = None

        def run() -> None:
            if entry is not None:
                self._drop(action.job_key, entry)
            self._fire(action)

        entry = _Pending(action, loop.call_later(action.delay.total_seconds(), run))
        self._pending.setdefault(action.job_key, []).append(entry)

    def _drop(self, key: str, entry: _Pending) -> None:
        entries = self._pending.get(key, [])
        if entry in entries:
            entries.remove(entry)
        if not entries:
            self._pending.pop(key, None)

    def pending(self, key: str) -> list[DelayedAction]:
        return [e.action for e in self._pending.get(key, [])]

    def cancel(self, key: str, actions: list[DelayedAction]) -> None:
        for entry in list(self._pending.get(key, [])):
            if entry.action in actions:
                entry.handle.cancel()
                self._drop(key, entry)

    def cancel_job(self, key: str) -> None:
        for entry in self._pending.pop(key, []):
            entry.handle.cancel()

    def cancel_all(self) -> None:
        for key in list(self._pending):
            self.cancel_job(key)
