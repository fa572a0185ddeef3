"""``admission.k8s.io/v1`` AdmissionReview requests and responses as plain dicts.

`handle` is what Volcano's webhook server does for one path: read the request, run the rule,
answer with the request's uid, a status message or a base64 JSON patch.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from pyroclast.common.models import ManifestError
from pyroclast.webhook.admission.registry import BY_PATH, MAX_DEPTH, Rule, decode, decode_denial, json_depth
from pyroclast.webhook.admission.request import (
    DEFAULT_CONFIG,
    EMPTY_CLUSTER,
    AdmissionConfig,
    AdmissionInput,
    ClusterView,
    Operation,
)
from pyroclast.webhook.admission.verdict import PatchOp, Verdict

_VERSIONS = {
    "batch.volcano.sh": "v1alpha1",
    "scheduling.volcano.sh": "v1beta1",
    "flow.volcano.sh": "v1alpha1",
    "": "v1",
}


_ENCODE = msgspec.json.Encoder().encode

_OBJECT_LEVEL = 2
"""How deep a review holds its objects: ``{"request": {"object": ...}}``."""


def _patch_json(patch: Sequence[PatchOp]) -> bytes:
    """Compact JSON of ``patch``, non-ASCII characters escaped (as ``json.dumps`` writes it)."""
    try:
        text = _ENCODE(patch)
    except Exception:  # not encodable by msgspec (a huge int, ...): json.dumps decides
        text = b""
    if text and text.isascii():
        return text
    return json.dumps(list(patch), separators=(",", ":")).encode()


def response(uid: str, verdict: Verdict) -> dict[str, Any]:
    """The AdmissionReview answering request ``uid`` with ``verdict``."""
    body: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
    if not verdict.allowed:
        body["status"] = {"metadata": {}, "message": verdict.message}
    elif verdict.patch:
        body["patch"] = base64.b64encode(_patch_json(verdict.patch)).decode()
        body["patchType"] = "JSONPatch"
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": body}


def denial_text(rule: Rule, message: str) -> str:
    """The text the API server puts in the error a client sees when ``rule`` denies."""
    if rule.policy:
        return message
    return f'admission webhook "{rule.webhook}.volcano.sh" denied the request: {message}'


def _expected(rule: Rule) -> str:
    return f"expect resource to be {{{rule.group} {_VERSIONS[rule.group]} {rule.resource}}}"


def _object(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def handle(
    review: Mapping[str, Any],
    path: str,
    *,
    cluster: ClusterView = EMPTY_CLUSTER,
    config: AdmissionConfig = DEFAULT_CONFIG,
    body: bytes | None = None,
) -> dict[str, Any]:
    """Answer one AdmissionReview sent to the webhook at Volcano's ``path``.

    ``body``: the JSON text ``review`` was decoded from. Its `json_depth` bounds how deeply the
    objects nest (each sits two levels down), so within ``MAX_DEPTH`` they need no walk; a
    deeper body (or none) has its objects walked, as only they count.
    """
    request = review.get("request") if isinstance(review, Mapping) else None
    if not isinstance(request, Mapping):
        return response("", Verdict.deny("missing request in AdmissionReview"))
    uid = str(request.get("uid") or "")
    rule = BY_PATH[path]
    resource = request.get("resource")
    gvr: Mapping[str, Any] = resource if isinstance(resource, Mapping) else {}
    wanted = (rule.group, _VERSIONS[rule.group], rule.resource)
    if (gvr.get("group", ""), gvr.get("version", ""), gvr.get("resource", "")) != wanted:
        return response(uid, Verdict.deny(_expected(rule)))
    try:
        operation = Operation(str(request.get("operation", "")))
    except ValueError:
        return response(uid, Verdict.deny(f"invalid operation `{request.get('operation')}`"))
    raw, old_raw = _object(request.get("object")), _object(request.get("oldObject"))
    try:
        shallow = body is not None and json_depth(body) - _OBJECT_LEVEL <= MAX_DEPTH
        obj, old = decode(raw, shallow=shallow), decode(old_raw, shallow=shallow)
    except ManifestError as exc:
        return response(uid, decode_denial(exc))
    name, namespace = str(request.get("name") or ""), str(request.get("namespace") or "")
    decoded = AdmissionInput(operation, obj, old, raw, name, namespace, cluster, config, old_raw)
    return response(uid, rule.func(decoded))
