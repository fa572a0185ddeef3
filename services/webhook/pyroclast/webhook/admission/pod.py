"""Volcano's Pod rules: disruption-budget annotations; resource-group and scheduling-gate patches."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from pyroclast.common.models import Pod
from pyroclast.common.models.labels import JDB_MAX_UNAVAILABLE, JDB_MIN_AVAILABLE, QUEUE_ALLOCATION_GATE_KEY
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.request import AdmissionInput, Operation, ResourceGroup, wrong_object
from pyroclast.webhook.admission.verdict import ALLOW, PatchOp, Verdict

BUDGET_KEYS = (JDB_MIN_AVAILABLE, JDB_MAX_UNAVAILABLE)
RESOURCE_GROUP_ANNOTATION = "volcano.sh/resource-group"


def _int32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def budget_error(key: str, value: str) -> str:
    """Volcano's ``validateIntPercentageStr``: a positive integer or a 1%..99% percentage."""
    number = k8s.go_atoi(value)
    if number is not None:
        if _int32(number) <= 0:
            return f"invalid value <{k8s.go_quote(value)}> for {key}, it must be a positive integer"
        return ""
    stripped = value.replace("%", "")
    percent = k8s.go_atoi(stripped)
    if percent is None:
        return f"invalid value {k8s.atoi_error(stripped)} for {key}"
    if percent <= 0 or percent >= 100:
        return (
            f"invalid value <{k8s.go_quote(value)}> for {key}, "
            "it must be a valid percentage which between 1% ~ 99%"
        )
    return ""


def validate_pod(request: AdmissionInput) -> Verdict:
    """``/pods/validate`` (CREATE): budget annotations of pods Volcano schedules."""
    if request.operation != Operation.CREATE:
        return Verdict.deny("expect operation to be 'CREATE'")
    pod = request.obj
    if not isinstance(pod, Pod):
        return Verdict.deny(wrong_object(Pod))
    if ((pod.spec.scheduler_name if pod.spec else None) or "") not in request.config.scheduler_names:
        return ALLOW
    annotations = (pod.metadata.annotations or {}) if pod.metadata else {}
    found = 0
    for key in BUDGET_KEYS:
        if key in annotations:
            found += 1
            if msg := budget_error(key, annotations[key]):
                return Verdict.deny(msg)
    if found > 1:
        return Verdict.deny(
            f"not allow configure multiple annotations <{k8s.go_list(BUDGET_KEYS)}> at same time"
        )
    return ALLOW


def _belongs(pod: Pod, namespace: str, group: ResourceGroup) -> bool:
    annotations: Mapping[str, str] = (pod.metadata.annotations or {}) if pod.metadata else {}
    if group.object_key == "namespace":
        return namespace in group.object_value
    if group.object_key not in ("", "annotation"):
        return False
    wanted: dict[str, str] = {}
    for text in group.object_value:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(parsed, dict):
            for k, v in parsed.items():
                wanted.setdefault(str(k), str(v))
    if any(annotations.get(k) == v for k, v in wanted.items()):
        return True
    return group.object_key == "" and annotations.get(RESOURCE_GROUP_ANNOTATION) == group.resource_group


def _group_patch(pod: Pod, raw_spec: Mapping[str, Any], group: ResourceGroup) -> list[PatchOp]:
    patch: list[PatchOp] = []
    if group.labels:
        selector = {**(pod.spec.node_selector or {} if pod.spec else {}), **group.labels}
        patch.append({"op": "add", "path": "/spec/nodeSelector", "value": selector})
    if group.affinity and raw_spec.get("affinity") is None:
        try:
            affinity = json.loads(group.affinity)
        except ValueError:
            affinity = None
        if isinstance(affinity, dict):
            patch.append({"op": "add", "path": "/spec/affinity", "value": affinity})
    if group.tolerations:
        existing = list(raw_spec.get("tolerations") or [])
        patch.append(
            {
                "op": "add",
                "path": "/spec/tolerations",
                "value": existing + [dict(t) for t in group.tolerations],
            }
        )
    if group.scheduler_name:
        patch.append({"op": "add", "path": "/spec/schedulerName", "value": group.scheduler_name})
    return patch


def mutate_pod(request: AdmissionInput) -> Verdict:
    """``/pods/mutate`` (CREATE): only with an admission configuration, as in Volcano."""
    if request.operation != Operation.CREATE:
        return Verdict.deny("expect operation to be 'CREATE' ")
    pod = request.obj
    if not isinstance(pod, Pod):
        return Verdict.deny(wrong_object(Pod))
    groups = request.config.resource_groups
    if groups is None:
        return ALLOW
    raw = request.raw or {}
    raw_spec: dict[str, Any] = raw["spec"] if isinstance(raw.get("spec"), dict) else {}
    patch: list[PatchOp] = []
    annotations = (pod.metadata.annotations or {}) if pod.metadata else {}
    if (
        request.config.scheduling_gates_queue_admission
        and annotations.get(QUEUE_ALLOCATION_GATE_KEY) == "true"
    ):
        gates = raw_spec.get("schedulingGates")
        gate = {"name": QUEUE_ALLOCATION_GATE_KEY}
        if gates is None:
            patch.append({"op": "add", "path": "/spec/schedulingGates", "value": [gate]})
        elif isinstance(gates, list) and not any(
            isinstance(g, dict) and g.get("name") == gate["name"] for g in gates
        ):
            patch.append({"op": "add", "path": "/spec/schedulingGates/-", "value": gate})
    namespace = (pod.metadata.namespace if pod.metadata else None) or request.namespace
    for group in groups:
        if _belongs(pod, namespace, group):
            patch += _group_patch(pod, raw_spec, group)
            break
    return Verdict.allow(patch)
