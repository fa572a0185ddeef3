"""Which rule answers which request, and the whole admission chain over raw objects.

Rules are keyed by Volcano's webhook paths (``vap:<name>`` for its admission policies);
``DEFAULT_ENABLED`` is the set Volcano's chart turns on. `review` runs the mutating rules
(each patch applied before the next rule reads the object), then the validating policies and
webhooks, as the API server does.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import msgspec

from pyroclast.common.models import ManifestError, decode_object
from pyroclast.webhook.admission import vap
from pyroclast.webhook.admission.cronjob import validate_cronjob
from pyroclast.webhook.admission.job_mutate import mutate_job
from pyroclast.webhook.admission.job_validate import validate_job
from pyroclast.webhook.admission.jobflow import validate_jobflow
from pyroclast.webhook.admission.pod import mutate_pod, validate_pod
from pyroclast.webhook.admission.podgroup import mutate_podgroup, validate_podgroup
from pyroclast.webhook.admission.queue_mutate import mutate_queue
from pyroclast.webhook.admission.queue_validate import validate_queue
from pyroclast.webhook.admission.request import (
    DEFAULT_CONFIG,
    EMPTY_CLUSTER,
    AdmissionConfig,
    AdmissionInput,
    ClusterView,
    Operation,
)
from pyroclast.webhook.admission.verdict import PatchError, PatchOp, Verdict, apply_patch

RuleFunc = Callable[[AdmissionInput], Verdict]

_C, _U, _D = Operation.CREATE, Operation.UPDATE, Operation.DELETE
_C1, _CU, _CUD = frozenset({_C}), frozenset({_C, _U}), frozenset({_C, _U, _D})
_SCHED = "scheduling.volcano.sh"


@dataclass(frozen=True)
class Rule:
    """One of Volcano's admission webhooks, or (``policy``) one of its admission policies."""

    path: str
    group: str
    resource: str
    operations: frozenset[Operation]
    mutating: bool
    func: RuleFunc
    policy: bool = False
    webhook: str = ""
    """The webhook's name without ``.volcano.sh`` (as the API server reports it); "" for policies."""

    @property
    def stage(self) -> int:
        """The API server's order: mutating webhooks, validating policies, validating webhooks."""
        return 0 if self.mutating else 1 if self.policy else 2


def _webhook(path: str, group: str, ops: frozenset[Operation], func: RuleFunc, name: str) -> Rule:
    """A webhook at ``/<resource>/<mutate|validate>`` called ``<name>.volcano.sh``."""
    resource = path.split("/")[1]
    return Rule(path, group, resource, ops, path.endswith("/mutate"), func, webhook=name)


def _policy(name: str, group: str, resource: str, ops: frozenset[Operation], func: RuleFunc) -> Rule:
    return Rule(f"vap:{name}", group, resource, ops, False, func, policy=True)


_BATCH, _FLOW = "batch.volcano.sh", "flow.volcano.sh"

RULES: tuple[Rule, ...] = (
    _webhook("/jobs/mutate", _BATCH, _C1, mutate_job, "mutatejob"),
    _webhook("/jobs/validate", _BATCH, _CU, validate_job, "validatejob"),
    _webhook("/cronjobs/validate", _BATCH, _CU, validate_cronjob, "validatecronjob"),
    _webhook("/queues/mutate", _SCHED, _C1, mutate_queue, "mutatequeue"),
    _webhook("/queues/validate", _SCHED, _CUD, validate_queue, "validatequeue"),
    _webhook("/podgroups/mutate", _SCHED, _C1, mutate_podgroup, "mutatepodgroup"),
    _webhook("/podgroups/validate", _SCHED, _C1, validate_podgroup, "validatepodgroup"),
    _webhook("/pods/mutate", "", _C1, mutate_pod, "mutatepod"),
    _webhook("/pods/validate", "", _C1, validate_pod, "validatepod"),
    _webhook("/jobflows/validate", _FLOW, _CU, validate_jobflow, "validatejobflow"),
    _policy("job-validation-policy", _BATCH, "jobs", _CU, vap.job_validation_policy),
    _policy("queue-validation-policy", _SCHED, "queues", _CUD, vap.queue_validation_policy),
    _policy("pod-validation-policy", "", "pods", _C1, vap.pod_validation_policy),
    _policy("jobflow-validation-policy", _FLOW, "jobflows", _CU, vap.jobflow_validation_policy),
)
"""Every webhook of Volcano's webhook manager, and its ValidatingAdmissionPolicies."""

BY_PATH: Mapping[str, Rule] = {rule.path: rule for rule in RULES}

DEFAULT_ENABLED: frozenset[str] = frozenset(
    {
        "/jobs/mutate",
        "/jobs/validate",
        "/podgroups/validate",
        "/queues/mutate",
        "/queues/validate",
        "/cronjobs/validate",
    }
)
"""Webhooks Volcano's chart enables (``enabled_admissions``, less hypernodes)."""

WEBHOOK_PATHS: frozenset[str] = frozenset(r.path for r in RULES if not r.policy)
"""Every webhook; the default of `review`."""
POLICY_PATHS: frozenset[str] = frozenset(r.path for r in RULES if r.policy)
"""Volcano's ValidatingAdmissionPolicies (the chart's ``vap_enable``)."""


def rules_for(
    group: str, resource: str, operation: Operation, *, enabled: Collection[str] = WEBHOOK_PATHS
) -> list[Rule]:
    """Rules that match a request, in the order the API server runs them."""
    found = [
        r
        for r in RULES
        if r.group == group and r.resource == resource and operation in r.operations and r.path in enabled
    ]
    return sorted(found, key=lambda r: r.stage)


_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[([^\]]*)\]")
_MAX_PRUNED = 256


def _drop(data: Any, path: str) -> bool:
    """Remove the field at a ManifestError path from ``data``; False when it cannot be found."""
    tokens = [name if name else key for name, key in _PATH_TOKEN.findall(path)]
    node = data
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    if tokens and isinstance(node, dict) and tokens[-1] in node:
        del node[tokens[-1]]
        return True
    return False


MAX_DEPTH = 200
"""Deepest nesting of a manifest the rules accept (the rules copy objects recursively)."""


def depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (0 for a scalar), without recursion.

    Counted level by level; past `MAX_DEPTH` it stops and answers ``MAX_DEPTH + 1``.
    """
    deepest, level = 0, [value] if isinstance(value, _CONTAINERS) else []
    while level and deepest <= MAX_DEPTH:
        deepest += 1
        children: list[Any] = []
        for node in level:
            children.extend(node.values() if isinstance(node, dict | Mapping) else node)
        level = [c for c in children if not isinstance(c, _SCALARS) and isinstance(c, _CONTAINERS)]
    return deepest


_SCALARS = (str, int, float, type(None))
"""Checked first: testing a scalar against the Mapping ABC is slow."""
_CONTAINERS = (dict, list, tuple, Mapping)


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
"""A backslash escape; in valid JSON only string literals hold them, read left to right."""
_MARKS = bytes.maketrans(b"{[}]", b"\x01\x01\xff\xff")
"""Opening brackets to 1, closing ones to -1 (as a signed byte); quotes stay."""
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"{[}]')
_LEAF = b"\x01\xff"
"""A list or object holding no list or object."""
_ROUNDS = 16
"""Levels peeled off one at a time before the rest is summed step by step."""


def json_depth(text: bytes) -> int:
    """How deeply lists and objects nest in the JSON document ``text`` (0 for a scalar).

    Exact, and not capped as `depth` is, for valid JSON (a body the decoder accepted). A few
    passes in C over the bytes: escapes go first, so an escaped quote ends no string;
    only quotes and brackets stay, and string literals go with their quotes (adjacent quote
    pairs enclose nothing; any other literal holds brackets, which do not count). What is
    left is the tree of lists and objects: each round removes its leaves (one level); past
    `_ROUNDS`, the deepest running sum of the +1/-1 steps gives the remaining height.
    """
    if b"\\" in text:
        text = _ESCAPE.sub(b"", text)
    marks = text.translate(_MARKS, _NOT_MARKS).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    rounds = 0
    while marks and rounds < _ROUNDS:
        marks = marks.replace(_LEAF, b"")
        rounds += 1
    return rounds + max(accumulate(memoryview(marks).cast("b")), default=0)


def decode(raw: Mapping[str, Any] | None, *, shallow: bool = False) -> msgspec.Struct | None:
    """The typed object of a raw manifest (None for None); raises ManifestError.

    Unknown fields are ignored, as Go's decoder in Volcano's webhook ignores them. ``shallow``:
    the caller knows ``raw`` nests at most `MAX_DEPTH` levels (from `json_depth` of the request
    body); otherwise `depth` walks it.
    """
    if raw is None:
        return None
    if not shallow and depth(raw) > MAX_DEPTH:
        raise ManifestError(f"nesting deeper than {MAX_DEPTH} levels")
    data: Any = None
    for _ in range(_MAX_PRUNED):
        try:
            return decode_object(dict(raw) if data is None else data)
        except ManifestError as exc:
            if exc.rule != "unknown field":
                raise
            if data is None:
                data = copy.deepcopy(dict(raw))
            if not _drop(data, exc.path):
                raise
    return decode_object(data)


def decode_denial(exc: ManifestError) -> Verdict:
    """A denial naming the field a manifest failed to decode at."""
    return Verdict.deny(str(exc))


def review(
    group: str,
    resource: str,
    operation: Operation,
    raw: Mapping[str, Any] | None,
    old_raw: Mapping[str, Any] | None = None,
    *,
    name: str = "",
    namespace: str = "",
    cluster: ClusterView = EMPTY_CLUSTER,
    config: AdmissionConfig = DEFAULT_CONFIG,
    enabled: Collection[str] = WEBHOOK_PATHS,
) -> Verdict:
    """The whole admission chain: the first denial, or an allowance with every patch in order."""
    rules = rules_for(group, resource, operation, enabled=enabled)
    if not rules:
        return Verdict.allow()
    try:
        old = decode(old_raw)
        obj = decode(raw)
    except ManifestError as exc:
        return decode_denial(exc)
    current: Any = dict(raw) if raw is not None else None
    patch: list[PatchOp] = []
    for rule in rules:
        request = AdmissionInput(operation, obj, old, current, name, namespace, cluster, config, old_raw)
        verdict = rule.func(request)
        if not verdict.allowed:
            return dataclasses.replace(verdict, source=rule.path)
        if verdict.patch:
            try:
                current = apply_patch(current, verdict.patch)
                obj = decode(current)
            except (PatchError, ManifestError) as exc:
                return Verdict(False, str(exc), source=rule.path)
            patch += verdict.patch
    return Verdict.allow(patch)


def admit(request: AdmissionInput, path: str) -> Verdict:
    """Run the rule at Volcano webhook ``path`` on a decoded request."""
    return BY_PATH[path].func(request)
