"""``hcclrank``: the HCCL rank annotation of master and worker pods (Ascend collective comms)."""

from __future__ import annotations

import msgspec

from pyroclast.common.models import Job, ObjectMeta, Pod
from pyroclast.common.models import labels as keys
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import JobObjects, ObjectRef, Plugin, PluginError

HCCL_RANK_KEY = "hccl/rankIndex"
RANK_ENV = "RANK"


class HcclRankPlugin(Plugin):
    name = "hcclrank"
    flags = {"master": "master", "worker": "worker"}

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        meta = pod.metadata
        annotations = dict((meta.annotations if meta else None) or {})
        if annotations.get(HCCL_RANK_KEY):
            return pod
        rank = next(
            (
                e.value or ""
                for c in (pod.spec.containers if pod.spec else None) or []
                for e in c.env or []
                if e.name == RANK_ENV
            ),
            "",
        )
        if not rank:
            role = naming.task_key(pod)
            if role not in (self._str("master"), self._str("worker")):
                return pod
            text = ((meta.labels if meta else None) or {}).get(keys.TASK_INDEX_KEY)
            if text is None or not text.lstrip("+-").isdigit():
                raise PluginError(f"pod {meta.name if meta else ''} has no valid {keys.TASK_INDEX_KEY} label")
            index = int(text)
            if role == self._str("worker"):
                master = spec.find_task(job, self._str("master"))
                index += spec.replicas(master) if master else 0
            rank = str(index)
        annotations[HCCL_RANK_KEY] = rank
        return msgspec.structs.replace(
            pod, metadata=msgspec.structs.replace(meta or ObjectMeta(), annotations=annotations)
        )

    def on_job_add(self, job: Job, controlled: dict[str, str]) -> JobObjects:
        return JobObjects()

    def on_job_delete(self, job: Job, controlled: dict[str, str]) -> list[ObjectRef]:
        return []
