"""Volcano's ValidatingAdmissionPolicies (its chart's ``vap_enable``, off by default).

The API server runs them before the validating webhooks; the first failing validation
denies with ``ValidatingAdmissionPolicy '<policy>' with binding '<policy>-binding' denied
request: <message>``. The CEL expressions are evaluated here over the raw object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pyroclast.common.quantity import Quantity, QuantityError, parse_quantity
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.job_validate import UPDATE_FORBIDDEN
from pyroclast.webhook.admission.request import AdmissionInput, Operation
from pyroclast.webhook.admission.verdict import ALLOW, Verdict

VAP_EVENTS = (
    "*",
    "PodFailed",
    "PodEvicted",
    "PodPending",
    "Unknown",
    "TaskCompleted",
    "JobUpdated",
    "TaskFailed",
)
VAP_ACTIONS = (
    "AbortJob",
    "RestartJob",
    "RestartTask",
    "RestartPod",
    "TerminateJob",
    "CompleteJob",
    "ResumeJob",
)
_WEIGHT = re.compile(r"[0-9]+(\.[0-9]+)?")
_BUDGET_INT = re.compile(r"[0-9]+")
_BUDGET_PERCENT = re.compile(r"[0-9]+%")

Check = Iterator[str]


def denied(policy: str, message: str) -> Verdict:
    """The API server's denial for a failed validation of ``policy``."""
    return Verdict.deny(
        f"ValidatingAdmissionPolicy '{policy}' with binding '{policy}-binding' denied request: {message}"
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _num(value: Any) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _job_checks(request: AdmissionInput) -> Check:
    raw = _dict(request.raw)
    spec = _dict(raw.get("spec"))
    tasks = [_dict(t) for t in _list(spec.get("tasks"))]
    policies = [_dict(p) for p in _list(spec.get("policies"))]
    volumes = [_dict(v) for v in _list(spec.get("volumes"))]
    total = sum(_num(t.get("replicas")) for t in tasks)
    if "minAvailable" in spec and _num(spec["minAvailable"]) < 0:
        yield "job 'minAvailable' must be >= 0"
    if "maxRetry" in spec and _num(spec["maxRetry"]) < 0:
        yield "'maxRetry' cannot be less than zero"
    if "ttlSecondsAfterFinished" in spec and _num(spec["ttlSecondsAfterFinished"]) < 0:
        yield "'ttlSecondsAfterFinished' cannot be less than zero"
    if not tasks:
        yield "No task specified in job spec"
    names = [t.get("name") for t in tasks]
    if len(set(map(str, names))) != len(names):
        yield "duplicated task name found"
    if any(k8s.is_dns1123_label(str(n or "")) for n in names):
        yield "a lowercase RFC 1123 label must consist of lower case alphanumeric characters"
    if any("replicas" in t and _num(t["replicas"]) < 0 for t in tasks):
        yield "'replicas' < 0 in task"
    if any("minAvailable" in t and _num(t["minAvailable"]) < 0 for t in tasks):
        yield "'minAvailable' < 0 in task"
    if any(
        "minAvailable" in t and "replicas" in t and _num(t["minAvailable"]) > _num(t["replicas"])
        for t in tasks
    ):
        yield "'minAvailable' is greater than 'replicas' in task"
    if "minAvailable" in spec and _num(spec["minAvailable"]) > total:
        yield "job 'minAvailable' should not be greater than total replicas in tasks"
    events = [p["event"] for p in policies if "event" in p]
    codes = [p["exitCode"] for p in policies if "exitCode" in p]
    if any(e not in VAP_EVENTS for e in events):
        yield "invalid policy event"
    if any("action" in p and p["action"] not in VAP_ACTIONS for p in policies):
        yield "invalid policy action"
    if any("event" in p and "exitCode" in p for p in policies):
        yield "must not specify event and exitCode simultaneously"
    if any(not ("event" in p or "exitCode" in p or _list(p.get("events"))) for p in policies):
        yield "either event and exitCode should be specified"
    if any(c == 0 for c in codes):
        yield "0 is not a valid error code"
    if len(set(map(str, events))) != len(events):
        yield "duplicate policy event found"
    if len(set(map(str, codes))) != len(codes):
        yield "duplicate exitCode found"
    if "*" in events and len(events) != 1:
        yield "if there's * here, no other policy should be here"
    paths = [v.get("mountPath") for v in volumes]
    if any(p == "" for p in paths):
        yield "mountPath is required"
    if len(set(map(str, paths))) != len(paths):
        yield "duplicated mountPath found"
    if any(not v.get("volumeClaimName") and "volumeClaim" not in v for v in volumes):
        yield "either VolumeClaim or VolumeClaimName must be specified"
    if request.operation == Operation.UPDATE:
        old_spec = _dict(_dict(request.old_raw).get("spec"))
        if "tasks" not in old_spec or "tasks" not in spec or len(_list(old_spec["tasks"])) != len(tasks):
            yield "job updates may not add or remove tasks"
        if "queue" not in old_spec or "queue" not in spec or old_spec["queue"] != spec["queue"]:
            yield UPDATE_FORBIDDEN
        if "minAvailable" in spec and "tasks" in spec and _num(spec["minAvailable"]) > total:
            yield "job 'minAvailable' must not be greater than total replicas"
    name = _dict(raw.get("metadata")).get("name")
    if isinstance(name, str) and (errs := k8s.is_qualified_name(name)):
        yield "job name errors: " + "; ".join(errs)


def _quantity(value: Any) -> Quantity | None:
    try:
        return parse_quantity(value)
    except (QuantityError, TypeError, ValueError):
        return None


def _queue_checks(request: AdmissionInput) -> Check:
    if request.operation == Operation.DELETE:
        if request.name in ("default", "root"):
            yield f"`{request.name}` queue can not be deleted"
        return
    raw = _dict(request.raw)
    spec = _dict(raw.get("spec"))
    state = _dict(raw.get("status")).get("state")
    if state not in (None, "", "Open", "Closed"):
        yield "queue state must be in [Open, Closed]"
    capability, deserved = _dict(spec.get("capability")), _dict(spec.get("deserved"))
    guarantee = _dict(_dict(spec.get("guarantee")).get("resource"))
    for label, values in (("capability", capability), ("deserved", deserved), ("guarantee", guarantee)):
        if any(v == "" for v in values.values()):
            yield f"{label} resource values must not be empty"

    def cmp(left: Any, right: Any) -> int:
        a, b = _quantity(left), _quantity(right)
        return 0 if a is None or b is None else (a > b) - (a < b)

    if (
        capability
        and deserved
        and any(cmp(deserved[n], capability[n]) > 0 for n in deserved if n in capability)
    ):
        yield "must be <= capability"
    if guarantee and not (
        deserved and all(n in deserved and cmp(guarantee[n], deserved[n]) <= 0 for n in guarantee)
    ):
        yield "must be >= guarantee"
    annotations = _dict(_dict(raw.get("metadata")).get("annotations"))
    path, weights = (
        annotations.get("volcano.sh/hierarchy", ""),
        annotations.get("volcano.sh/hierarchy-weights", ""),
    )
    if (path or weights) and not (
        path and weights and len(str(path).split("/")) == len(str(weights).split("/"))
    ):
        yield "volcano.sh/hierarchy must have the same length with volcano.sh/hierarchy-weights"
    if weights and not all(_WEIGHT.fullmatch(w) and float(w) > 0 for w in str(weights).split("/")):
        yield "weights in volcano.sh/hierarchy-weights must be larger than 0"


def _budget_ok(value: str) -> bool:
    if _BUDGET_INT.fullmatch(value):
        return int(value) > 0
    return bool(_BUDGET_PERCENT.fullmatch(value)) and 0 < int(value[:-1]) < 100


def _pod_checks(request: AdmissionInput) -> Check:
    raw = _dict(request.raw)
    if _dict(raw.get("spec")).get("schedulerName") != "volcano":
        return
    annotations = _dict(_dict(raw.get("metadata")).get("annotations"))
    minimum, maximum = "volcano.sh/jdb-min-available", "volcano.sh/jdb-max-unavailable"
    if minimum in annotations and maximum in annotations:
        yield "not allow configure multiple annotations at same time"
    for key, short in ((minimum, "jdb-min-available"), (maximum, "jdb-max-unavailable")):
        if key in annotations and not _budget_ok(str(annotations[key])):
            yield f"{short} must be a positive integer or a valid percentage which between 1% ~ 99%"


def _jobflow_checks(request: AdmissionInput) -> Check:
    flows = [_dict(f) for f in _list(_dict(_dict(request.raw).get("spec")).get("flows"))]
    names = [f.get("name") for f in flows]
    targets = [(f.get("name"), _list(_dict(f.get("dependsOn")).get("targets"))) for f in flows]
    if any(t not in names for _, ts in targets for t in ts):
        yield "jobflow Flow is not DAG: vertex is not defined"
    if any(name in ts for name, ts in targets):
        yield "jobflow Flow is not DAG"


def _policy(name: str, checks: Callable[[AdmissionInput], Check]) -> Callable[[AdmissionInput], Verdict]:
    def rule(request: AdmissionInput) -> Verdict:
        for message in checks(request):
            return denied(name, message)
        return ALLOW

    rule.__name__ = rule.__qualname__ = name.replace("-", "_")
    rule.__doc__ = f"Volcano's ``{name}``."
    return rule


job_validation_policy = _policy("job-validation-policy", _job_checks)
queue_validation_policy = _policy("queue-validation-policy", _queue_checks)
pod_validation_policy = _policy("pod-validation-policy", _pod_checks)
jobflow_validation_policy = _policy("jobflow-validation-policy", _jobflow_checks)
