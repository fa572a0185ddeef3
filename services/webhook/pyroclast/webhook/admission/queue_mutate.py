"""Volcano's ``mutatequeue.volcano.sh`` defaults for new Queues."""

from __future__ import annotations

from pyroclast.common.models import Queue, QueueSpec
from pyroclast.common.models.labels import KUBE_HIERARCHY_ANNOTATION_KEY, KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY
from pyroclast.webhook.admission.request import AdmissionInput, Operation, wrong_object
from pyroclast.webhook.admission.verdict import PatchOp, Verdict, escape, spec_parent


def mutate_queue(request: AdmissionInput) -> Verdict:
    """``/queues/mutate``: root-prefixed hierarchy, ``reclaimable: true``, ``weight: 1``."""
    if request.operation != Operation.CREATE:
        return Verdict.deny(f"invalid operation `{request.operation}`, expect operation to be `CREATE`")
    queue = request.obj
    if not isinstance(queue, Queue):
        return Verdict.deny(wrong_object(Queue))
    spec = queue.spec or QueueSpec()
    annotations = (queue.metadata.annotations or {}) if queue.metadata else {}
    hierarchy = annotations.get(KUBE_HIERARCHY_ANNOTATION_KEY, "")
    weights = annotations.get(KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY, "")
    patch: list[PatchOp] = []
    if hierarchy and weights and not hierarchy.startswith("root"):
        base = "/metadata/annotations/"
        patch.append(
            {"op": "add", "path": base + escape(KUBE_HIERARCHY_ANNOTATION_KEY), "value": f"root/{hierarchy}"}
        )
        patch.append(
            {
                "op": "add",
                "path": base + escape(KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY),
                "value": f"1/{weights}",
            }
        )
    patch += spec_parent(request.raw) if spec.reclaimable is None or not spec.weight else []
    if spec.reclaimable is None:
        patch.append({"op": "add", "path": "/spec/reclaimable", "value": True})
    if not spec.weight:
        patch.append({"op": "add", "path": "/spec/weight", "value": 1})
    return Verdict.allow(patch)
