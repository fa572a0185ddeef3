"""The job plugin interface: pure hooks over models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec

from pyroclast.common.models import Container, Job, Pod, PodSpec
from pyroclast.common.models.core import EnvVar
from pyroclast.controller.job.plugins.flags import FlagValue, parse_flags


@dataclass(frozen=True)
class ObjectRef:
    """An object to delete."""

    kind: str
    namespace: str
    name: str


@dataclass
class JobObjects:
    """Objects a plugin needs to exist.

    ``upsert`` objects are created, or replaced when their data differs (a Secret only when
    its ``config`` entry differs, as Volcano compares); ``ensure`` objects are only created
    when missing.
    """

    upsert: list[Any] = field(default_factory=list)
    ensure: list[Any] = field(default_factory=list)

    def extend(self, other: JobObjects) -> None:
        self.upsert.extend(other.upsert)
        self.ensure.extend(other.ensure)


class PluginError(Exception):
    """A plugin hook failed; the controller retries the job later."""


def controlled_key(name: str) -> str:
    """Key under ``status.controlledResources`` recording that a plugin set the job up."""
    return f"plugin-{name}"


class Plugin:
    """A job plugin built from its arguments; hooks return new objects and never mutate."""

    name: ClassVar[str] = ""
    flags: ClassVar[dict[str, FlagValue]] = {}

    def __init__(self, args: Sequence[str] = ()) -> None:
        self.args = list(args)
        self.options = parse_flags(self.args, self.flags)

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        return pod

    def on_job_add(self, job: Job, controlled: dict[str, str]) -> JobObjects:
        """Objects to create when the job is initiated; records itself in ``controlled``."""
        controlled[controlled_key(self.name)] = self.name
        return JobObjects()

    def on_job_delete(self, job: Job, controlled: dict[str, str]) -> list[ObjectRef]:
        """Objects to delete when the job's pods are killed; forgets itself in ``controlled``."""
        if controlled.get(controlled_key(self.name)) == self.name:
            del controlled[controlled_key(self.name)]
        return []

    def on_job_update(self, job: Job) -> JobObjects:
        return JobObjects()

    def _str(self, flag: str) -> str:
        return str(self.options[flag])

    def _int(self, flag: str) -> int:
        return int(self.options[flag])

    def _bool(self, flag: str) -> bool:
        return bool(self.options[flag])


def replica_index(pod: Pod) -> int:
    """The index at the end of the pod name; a `PluginError` when it is not a number."""
    from pyroclast.controller.job import naming

    text = naming.pod_index(pod)
    try:
        return int(text)
    except ValueError as err:
        raise PluginError(
            f"invalid task index {text!r} of pod {pod.metadata.name if pod.metadata else ''}"
        ) from err


def update_containers(
    pod: Pod, change: Callable[[Container], Container], *, init: bool = True, main: bool = True
) -> Pod:
    """A copy of ``pod`` with ``change`` applied to its containers and/or init containers."""
    pod_spec = pod.spec or PodSpec()
    updates: dict[str, object] = {}
    if main and pod_spec.containers is not None:
        updates["containers"] = [change(c) for c in pod_spec.containers]
    if init and pod_spec.init_containers is not None:
        updates["init_containers"] = [change(c) for c in pod_spec.init_containers]
    return msgspec.structs.replace(pod, spec=msgspec.structs.replace(pod_spec, **updates))


def with_env(*env: EnvVar) -> Callable[[Container], Container]:
    def change(c: Container) -> Container:
        return msgspec.structs.replace(c, env=[*(c.env or []), *env])

    return change
