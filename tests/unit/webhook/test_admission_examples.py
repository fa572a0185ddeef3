"""Volcano's example manifests: the invalid jobs are denied with Volcano's messages, the rest
are admitted unchanged apart from defaults."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from pyroclast.common.models import KINDS, encode_object, parse_yaml
from pyroclast.webhook.admission import Operation, StaticCluster, apply_patch, review
from pyroclast.webhook.admission.gomarshal import go_quantity
from pyroclast.webhook.admission.job_checks import POLICY_HINT
from pyroclast.webhook.admission.registry import decode

EXAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "volcano-examples"
RESOURCES = {
    "Job": ("batch.volcano.sh", "jobs"),
    "CronJob": ("batch.volcano.sh", "cronjobs"),
    "Queue": ("scheduling.volcano.sh", "queues"),
    "PodGroup": ("scheduling.volcano.sh", "podgroups"),
    "JobFlow": ("flow.volcano.sh", "jobflows"),
    "JobTemplate": ("flow.volcano.sh", "jobtemplates"),
}
INVALID = {
    "duplicatedPolicyEvent-webhook-deny.yaml": (
        f"1 error occurred:\n\t* duplicate event PodFailed  across different policy\n\n{POLICY_HINT}"
    ),
    "duplicatedTaskName-webhook-deny.yaml": "duplicated task name task-1;",
    "minAvailable-webhook-deny.yaml": (
        "job 'minAvailable' should not be greater than total replicas in tasks;"
    ),
}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    if not EXAMPLES.is_dir():
        pytest.skip("volcano-examples are not available")
    out = []
    for path in sorted(EXAMPLES.rglob("*.y*ml")):
        for doc in parse_yaml(path.read_text(), source=str(path)):
            if isinstance(doc, dict):
                out.append((str(path.relative_to(EXAMPLES)), doc))
    return out


def _in_namespace(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc.setdefault("metadata", {}).setdefault("namespace", "default")
    return doc


def _cluster(documents: list[tuple[str, dict[str, Any]]], without: str = "") -> StaticCluster:
    queues = [
        {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": "default"}}
    ]
    queues += [d for _, d in documents if d.get("kind") == "Queue" and d["metadata"]["name"] != without]
    decoded = [decode({**q, "status": {"state": "Open"}}) for q in queues]
    return StaticCluster.of([q for q in decoded if q is not None])  # type: ignore[misc]


def _semantic(value: Any) -> Any:
    """Builtins with nulls and empty objects dropped and quantities canonical."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("limits", "requests") and isinstance(item, dict):
                item = {k: go_quantity(v) for k, v in item.items()}
            item = _semantic(item)
            if item is not None and item != {}:
                out[key] = item
        return out
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def _contains(whole: Any, part: Any) -> bool:
    """Whether every value of ``part`` is in ``whole`` (defaults may only add)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _contains(whole[k], v) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(whole) == len(part) and all(map(_contains, whole, part))
    return bool(whole == part)


def test_invalid_jobs_are_denied_with_volcanos_messages() -> None:
    documents = [(f, d) for f, d in _documents() if f.startswith("invalid_jobs/")]
    assert {Path(f).name for f, _ in documents} == set(INVALID)
    for name, doc in documents:
        verdict = review(
            "batch.volcano.sh", "jobs", Operation.CREATE, _in_namespace(doc), cluster=_cluster([])
        )
        assert (verdict.allowed, verdict.message) == (False, INVALID[Path(name).name]), name


def test_valid_examples_are_admitted_with_defaults_only() -> None:
    documents = [(f, d) for f, d in _documents() if not f.startswith("invalid_jobs/")]
    checked = 0
    for name, doc in documents:
        kind = doc.get("kind")
        if kind not in RESOURCES or (doc.get("apiVersion"), kind) not in KINDS:
            continue
        group, resource = RESOURCES[kind]
        raw = _in_namespace(doc)
        view = _cluster(documents, without=raw["metadata"]["name"] if kind == "Queue" else "")
        verdict = review(group, resource, Operation.CREATE, raw, cluster=view)
        assert verdict.allowed, f"{name}: {verdict.message}"
        admitted = apply_patch(raw, verdict.patch)
        known = encode_object(decode(raw))  # type: ignore[arg-type]
        assert _contains(_semantic(admitted), _semantic(known)), name
        if kind == "Job":
            spec = admitted["spec"]
            assert spec["queue"], name
            assert spec["schedulerName"], name
            assert spec["maxRetry"] > 0, name
            assert all(t["name"] and "minAvailable" in t and t["maxRetry"] for t in spec["tasks"]), name
        if kind == "Queue":
            assert admitted["spec"]["weight"] >= 1, name
            assert "reclaimable" in admitted["spec"], name
        checked += 1
    assert checked >= 30
