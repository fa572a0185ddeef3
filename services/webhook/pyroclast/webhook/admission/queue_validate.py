"""Volcano's ``validatequeue.volcano.sh`` rules for Queues (CREATE, UPDATE, DELETE)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from pyroclast.common.models import Queue, QueueSpec
from pyroclast.common.models.labels import KUBE_HIERARCHY_ANNOTATION_KEY, KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY
from pyroclast.common.quantity import Quantity, QuantityError, parse_quantity
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.containers import quantity_value_errors
from pyroclast.webhook.admission.queue_hierarchy import allocated_pods, parent_error, resource_error
from pyroclast.webhook.admission.request import (
    AdmissionInput,
    Operation,
    children_of,
    queue_name,
    wrong_object,
)
from pyroclast.webhook.admission.verdict import ALLOW, Verdict

_SPEC = "requestBody.spec"
_ANNOTATIONS = "requestBody.metadata.annotations"
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_SPECIAL = re.compile(r"[+-]?(inf|infinity|nan)", re.IGNORECASE)


def go_parse_float(text: str) -> tuple[float | None, str]:
    """Go's ``strconv.ParseFloat(text, 64)``: the value, or None and the error text."""
    if _SPECIAL.fullmatch(text):
        return float(text), ""
    if _FLOAT.fullmatch(text):
        value = float(text)
        if not math.isinf(value):
            return value, ""
        reason = "value out of range"
    else:
        reason = "invalid syntax"
    return None, f"strconv.ParseFloat: parsing {k8s.go_quote(text)}: {reason}"


def _q(raw: object) -> Quantity | None:
    try:
        return parse_quantity(raw)  # type: ignore[arg-type]
    except (QuantityError, TypeError, ValueError):
        return None


def resource_errors(spec: QueueSpec) -> list[str]:
    """``validateResourceQuantityOfQueue``: non-negative, guarantee <= deserved <= capability."""
    errs: list[str] = []
    capability, deserved = spec.capability or {}, spec.deserved or {}
    guarantee = (spec.guarantee.resource if spec.guarantee else None) or {}
    for name in sorted(capability):
        errs += quantity_value_errors(name, capability[name], f"{_SPEC}.capability.{name}")
    for name in sorted(deserved):
        errs += quantity_value_errors(name, deserved[name], f"{_SPEC}.deserved.{name}")
    for name in sorted(guarantee):
        errs += quantity_value_errors(name, guarantee[name], f"{_SPEC}.guarantee.resource.{name}")
        g = _q(guarantee[name])
        if name not in deserved:
            errs.append(
                k8s.invalid(
                    f"{_SPEC}.deserved.{name}", "<nil>", f"deserved[{name}] must be >= guarantee[{name}]={g}"
                )
            )
            continue
        d = _q(deserved[name])
        if g is not None and d is not None and d < g:
            errs.append(
                k8s.invalid(
                    f"{_SPEC}.deserved.{name}",
                    str(d),
                    f"deserved[{name}]={d} must be >= guarantee[{name}]={g}",
                )
            )
    if deserved and capability:
        for name in sorted(deserved):
            if name not in capability:
                continue
            d, c = _q(deserved[name]), _q(capability[name])
            if d is not None and c is not None and d > c:
                errs.append(
                    k8s.invalid(
                        f"{_SPEC}.deserved.{name}",
                        str(d),
                        f"deserved[{name}]={d} must be <= capability[{name}]={c}",
                    )
                )
    return errs


def state_errors(state: str) -> list[str]:
    """``validateStateOfQueue``: empty, Open or Closed."""
    if not state or state in ("Open", "Closed"):
        return []
    return [k8s.invalid(f"{_SPEC}.state", state, "queue state must be in [Open Closed]", named=True)]


def hierarchy_errors(request: AdmissionInput, queue: Queue) -> list[str]:
    """``validateHierarchicalAttributes``: the hierarchy annotations and their place in the tree."""
    annotations: Mapping[str, str] = (queue.metadata.annotations or {}) if queue.metadata else {}
    hierarchy = annotations.get(KUBE_HIERARCHY_ANNOTATION_KEY, "")
    weights = annotations.get(KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY, "")
    if not hierarchy and not weights:
        return []
    if len(hierarchy.split("/")) != len(weights.split("/")):
        detail = (
            f"{KUBE_HIERARCHY_ANNOTATION_KEY} must have the same length with "
            f"{KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY}"
        )
        return [k8s.invalid(_ANNOTATIONS, hierarchy, detail)]
    for weight in weights.split("/"):
        value, err = go_parse_float(weight)
        if value is None:
            return [k8s.invalid(_ANNOTATIONS, weights, f"{weight} in the {weights} is invalid number: {err}")]
        if value <= 0:
            return [k8s.invalid(_ANNOTATIONS, weights, f"{weight} in the {weights} must be larger than 0")]
    name = queue_name(queue)
    for other in sorted(request.cluster.queues(), key=queue_name):
        theirs = ((other.metadata.annotations or {}) if other.metadata else {}).get(
            KUBE_HIERARCHY_ANNOTATION_KEY, ""
        )
        if theirs and queue_name(other) != name and theirs.startswith(hierarchy + "/"):
            detail = (
                f"{hierarchy} is not allowed to be in the sub path of {theirs} of queue {queue_name(other)}"
            )
            return [k8s.invalid(_ANNOTATIONS, hierarchy, detail)]
    return []


def _resources_of(spec: QueueSpec | None) -> tuple[object, ...]:
    spec = spec or QueueSpec()
    guarantee = spec.guarantee.resource if spec.guarantee else None

    def norm(resources: Mapping[str, object] | None) -> object:
        return {k: (q.nanos if (q := _q(v)) is not None else v) for k, v in (resources or {}).items()}

    return norm(spec.capability), norm(spec.deserved), norm(guarantee)


def validate_queue_write(request: AdmissionInput) -> Verdict:
    """CREATE and UPDATE of a queue."""
    queue = request.obj
    if not isinstance(queue, Queue):
        return Verdict.deny(wrong_object(Queue))
    spec = queue.spec or QueueSpec()
    state = (queue.status.state or "") if queue.status else ""
    errs = resource_errors(spec) + state_errors(state) + hierarchy_errors(request, queue)
    if errs:
        return Verdict.deny(k8s.aggregate(errs))
    old = request.old if isinstance(request.old, Queue) else None
    if request.operation == Operation.UPDATE and old is None:
        return Verdict.deny(wrong_object(Queue))
    old_parent = (old.spec.parent or "") if old is not None and old.spec else ""
    creating = request.operation == Operation.CREATE
    if (creating or old_parent != (spec.parent or "")) and (msg := parent_error(request, queue)):
        return Verdict.deny(msg)
    changed = old is not None and _resources_of(old.spec) != _resources_of(spec)
    name = queue_name(queue)
    if request.config.enable_root_queue_protection and not creating and name == "root" and changed:
        return Verdict.deny(
            "root queue's resource attributes (capability, deserved, guarantee) cannot be modified"
        )
    needs_check = creating or changed or (old is not None and old_parent != (spec.parent or ""))
    if name != "root" and needs_check and (msg := resource_error(request, queue)):
        return Verdict.deny(msg)
    return ALLOW


def validate_queue_delete(request: AdmissionInput) -> Verdict:
    """DELETE: never ``default`` or ``root``, nor a queue with children (or pods, when enabled)."""
    name = request.name
    if not name and isinstance(request.old, Queue):
        name = queue_name(request.old)
    if name in ("default", "root"):
        return Verdict.deny(f"`{name}` queue can not be deleted")
    queue = request.cluster.queue(name)
    if queue is None:
        return Verdict.deny(f"queue.scheduling.volcano.sh {k8s.go_quote(name)} not found")
    if request.config.enable_queue_allocated_pods_check and (pods := allocated_pods(queue)):
        return Verdict.deny(f"queue {name} cannot be deleted because it has allocated Pods: {pods}")
    if children := children_of(request.cluster, name):
        names = ", ".join(queue_name(c) for c in children)
        return Verdict.deny(
            f"queue {name} can not be deleted because it has {len(children)} child queues: {names}"
        )
    return ALLOW


def validate_queue(request: AdmissionInput) -> Verdict:
    """``/queues/validate``."""
    if request.operation in (Operation.CREATE, Operation.UPDATE):
        return validate_queue_write(request)
    if request.operation == Operation.DELETE:
        return validate_queue_delete(request)
    return Verdict.deny(
        f"invalid operation `{request.operation}`, expect operation to be `CREATE`, `UPDATE` or `DELETE`"
    )
