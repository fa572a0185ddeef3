"""``tensorflow``: the ``TF_CONFIG`` cluster description for ps/worker/chief/evaluator tasks."""

from __future__ import annotations

import json

from pyroclast.common.models import Job, Pod
from pyroclast.common.models.core import EnvVar
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import Plugin, replica_index, update_containers, with_env

TF_CONFIG = "TF_CONFIG"
_ROLES = ("ps", "worker", "chief", "evaluator")


class TensorflowPlugin(Plugin):
    name = "tensorflow"
    flags = {"ps": "ps", "worker": "worker", "chief": "chief", "evaluator": "evaluator", "port": 2222}

    def cluster_spec(self, pod: Pod, job: Job) -> dict[str, object]:
        index = replica_index(pod)
        task_key = naming.task_key(pod)
        cluster: dict[str, list[str]] = {}
        for task in spec.tasks(job):
            hosts = [
                f"{naming.domain_name(task, spec.name(job), i)}:{self._int('port')}"
                for i in range(spec.replicas(task))
            ]
            for role in _ROLES:
                if spec.task_name(task) == self._str(role):
                    cluster[role] = hosts
                    break
        ordered = {role: cluster[role] for role in _ROLES if cluster.get(role)}
        chosen = next((r for r in ("chief", "worker", "ps", "evaluator") if self._str(r) == task_key), None)
        return {"cluster": ordered, "task": {"type": chosen or task_key, "index": index}}

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        tasks = spec.tasks(job)
        if len(tasks) == 1 and spec.replicas(tasks[0]) == 1:
            return pod
        value = json.dumps(self.cluster_spec(pod, job), separators=(",", ":"))
        return update_containers(pod, with_env(EnvVar(name=TF_CONFIG, value=value)), init=False)
