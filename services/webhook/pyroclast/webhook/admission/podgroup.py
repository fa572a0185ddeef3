"""Volcano's PodGroup rules: the queue must be Open, topology limits not both set; namespace queue default."""

from __future__ import annotations

from pyroclast.common.models import PodGroup, PodGroupSpec
from pyroclast.common.models.labels import QUEUE_NAME_ANNOTATION_KEY
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.request import AdmissionInput, Operation, queue_state, wrong_object
from pyroclast.webhook.admission.verdict import ALLOW, Verdict


def _queue_error(request: AdmissionInput, name: str) -> str:
    if not name:
        return ""
    queue = request.cluster.queue(name)
    if queue is None:
        return f"unable to find queue: queue.scheduling.volcano.sh {k8s.go_quote(name)} not found"
    if (state := queue_state(queue)) != "Open":
        return f"can only submit PodGroup to queue with state `Open`, queue `{name}` status is `{state}`. "
    return ""


def _topology_error(spec: PodGroupSpec) -> str:
    errs = []
    nt = spec.network_topology
    if nt is not None and nt.highest_tier_allowed is not None and nt.highest_tier_name:
        errs.append(
            "must not specify 'highestTierAllowed' and 'highestTierName' in networkTopology simultaneously."
        )
    for policy in spec.sub_group_policy or []:
        nt = policy.network_topology
        if nt is not None and nt.highest_tier_allowed is not None and nt.highest_tier_name:
            errs.append(
                f"in subGroupPolicy '{policy.name or ''}': must not specify 'highestTierAllowed' and "
                "'highestTierName' in networkTopology simultaneously."
            )
            break
    return " ".join(errs)


def validate_podgroup(request: AdmissionInput) -> Verdict:
    """``/podgroups/validate`` (CREATE)."""
    if request.operation != Operation.CREATE:
        return Verdict.deny(f"unsupported operation {request.operation}")
    podgroup = request.obj
    if not isinstance(podgroup, PodGroup):
        return Verdict.deny(wrong_object(PodGroup))
    spec = podgroup.spec or PodGroupSpec()
    errs = [m.strip() for m in (_queue_error(request, spec.queue or ""), _topology_error(spec)) if m.strip()]
    return Verdict.deny("; ".join(errs)) if errs else ALLOW


def mutate_podgroup(request: AdmissionInput) -> Verdict:
    """``/podgroups/mutate``: a podgroup in queue ``default`` moves to its namespace's annotated queue."""
    if request.operation != Operation.CREATE:
        return Verdict.deny(f"invalid operation `{request.operation}`, expect operation to be `CREATE`")
    podgroup = request.obj
    if not isinstance(podgroup, PodGroup):
        return Verdict.deny(wrong_object(PodGroup))
    if (podgroup.spec.queue if podgroup.spec else None) != "default":
        return ALLOW
    namespace = (podgroup.metadata.namespace if podgroup.metadata else None) or request.namespace
    annotations = request.cluster.namespace_annotations(namespace or "")
    if annotations is None or QUEUE_NAME_ANNOTATION_KEY not in annotations:
        return ALLOW
    return Verdict.allow(
        [{"op": "add", "path": "/spec/queue", "value": annotations[QUEUE_NAME_ANNOTATION_KEY]}]
    )
