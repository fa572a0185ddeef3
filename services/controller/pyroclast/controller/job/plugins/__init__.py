"""Job plugins by name, and the hooks run across all plugins a job enables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyroclast.common.models import Job, Pod
from pyroclast.controller.job import spec
from pyroclast.controller.job.plugins.base import JobObjects, ObjectRef, Plugin, PluginError, controlled_key
from pyroclast.controller.job.plugins.env import EnvPlugin
from pyroclast.controller.job.plugins.hcclrank import HcclRankPlugin
from pyroclast.controller.job.plugins.mpi import MpiPlugin
from pyroclast.controller.job.plugins.pytorch import PytorchPlugin
from pyroclast.controller.job.plugins.ray import RayPlugin
from pyroclast.controller.job.plugins.ssh import SshPlugin
from pyroclast.controller.job.plugins.svc import SvcPlugin
from pyroclast.controller.job.plugins.tensorflow import TensorflowPlugin

PluginFactory = Callable[[Sequence[str]], Plugin]

REGISTRY: dict[str, PluginFactory] = {
    cls.name: cls
    for cls in (
        SshPlugin,
        EnvPlugin,
        SvcPlugin,
        TensorflowPlugin,
        MpiPlugin,
        PytorchPlugin,
        HcclRankPlugin,
        RayPlugin,
    )
}


class UnknownPluginError(PluginError):
    def __init__(self, name: str) -> None:
        super().__init__(f"failed to get plugin {name}")
        self.name = name


def build(name: str, args: Sequence[str] = ()) -> Plugin:
    factory = REGISTRY.get(name)
    if factory is None:
        raise UnknownPluginError(name)
    return factory(args)


def enabled(job: Job) -> list[Plugin]:
    """The job's plugins in manifest order; raises `UnknownPluginError` for an unknown name."""
    return [build(name, args) for name, args in ((job.spec.plugins if job.spec else None) or {}).items()]


def on_pod_create(pod: Pod, job: Job) -> Pod:
    for plugin in enabled(job):
        pod = plugin.on_pod_create(pod, job)
    return pod


def _controlled(job: Job) -> dict[str, str]:
    return dict(spec.status(job).controlled_resources or {})


def on_job_add(job: Job) -> tuple[JobObjects, dict[str, str]]:
    """Objects to create at initiation, and the new ``status.controlledResources``."""
    controlled = _controlled(job)
    objects = JobObjects()
    for plugin in enabled(job):
        objects.extend(plugin.on_job_add(job, controlled))
    return objects, controlled


def on_job_delete(job: Job) -> tuple[list[ObjectRef], dict[str, str]]:
    """Objects to delete when the job's pods are killed, and the new ``controlledResources``."""
    controlled = _controlled(job)
    refs: list[ObjectRef] = []
    for plugin in enabled(job):
        refs.extend(plugin.on_job_delete(job, controlled))
    return refs, controlled


def on_job_update(job: Job) -> JobObjects:
    objects = JobObjects()
    for plugin in enabled(job):
        objects.extend(plugin.on_job_update(job))
    return objects


__all__ = [
    "REGISTRY",
    "JobObjects",
    "ObjectRef",
    "Plugin",
    "PluginError",
    "UnknownPluginError",
    "build",
    "controlled_key",
    "enabled",
    "on_job_add",
    "on_job_delete",
    "on_job_update",
    "on_pod_create",
]
