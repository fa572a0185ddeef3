"""``mpi``: the worker host list for the master and the ssh port on every container."""

from __future__ import annotations

import msgspec

from pyroclast.common.models import Container, Job, Pod, TaskSpec
from pyroclast.common.models.core import EnvVar
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import Plugin, update_containers
from pyroclast.controller.job.plugins.pytorch import open_port

MPI_HOST = "MPI_HOST"
PORT_NAME = "mpijob-port"


def task_hosts(task: TaskSpec, job_name: str) -> str:
    """Comma-separated domain names of the task's replicas."""
    return ",".join(naming.task_hosts(task, job_name))


class MpiPlugin(Plugin):
    name = "mpi"
    flags = {"master": "master", "worker": "worker", "port": 22}

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        env: EnvVar | None = None
        if naming.task_key(pod) == self._str("master"):
            worker = spec.find_task(job, self._str("worker"))
            if worker is None:
                return pod
            env = EnvVar(name=MPI_HOST, value=task_hosts(worker, spec.name(job)))
        add_port = open_port(self._int("port"), PORT_NAME)

        def change(c: Container) -> Container:
            c = add_port(c)  # type: ignore[operator]
            if env is None:
                return c
            return msgspec.structs.replace(c, env=[*(c.env or []), env])

        return update_containers(pod, change)
