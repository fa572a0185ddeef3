"""``env``: tells every container its replica index."""

from __future__ import annotations

from pyroclast.common.models import Job, Pod
from pyroclast.common.models.core import EnvVar
from pyroclast.controller.job import naming
from pyroclast.controller.job.plugins.base import Plugin, update_containers, with_env

TASK_VK_INDEX = "VK_TASK_INDEX"
TASK_INDEX = "VC_TASK_INDEX"


class EnvPlugin(Plugin):
    name = "env"

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        index = naming.pod_index(pod)
        change = with_env(EnvVar(name=TASK_VK_INDEX, value=index), EnvVar(name=TASK_INDEX, value=index))
        return update_containers(pod, change)
