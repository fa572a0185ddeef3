"""Review resources answered without storage: access reviews (everything is allowed in the
sandbox) and token/self-subject reviews (who the caller is)."""

from __future__ import annotations

from typing import Any

from . import status
from .resources import ResourceType

Obj = dict[str, Any]
REVIEW_GROUPS = ("authorization.k8s.io", "authentication.k8s.io")
GROUPS = ["system:masters", "system:authenticated"]


def review(rt: ResourceType, body: Any, user: str, tokens: dict[str, str]) -> Obj:
    if not isinstance(body, dict):
        raise status.bad_request("the body of the request must be a JSON object")
    out = dict(body)
    out["apiVersion"], out["kind"] = rt.api_version, rt.kind
    out.setdefault("metadata", {})
    if rt.kind in ("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview"):
        out["status"] = {"allowed": True, "reason": "the sandbox allows every request"}
    elif rt.kind == "SelfSubjectRulesReview":
        out["status"] = {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    elif rt.kind == "SelfSubjectReview":
        out["status"] = {"userInfo": {"username": user, "groups": GROUPS}}
    elif rt.kind == "TokenReview":
        token = ((body.get("spec") or {}).get("token")) or ""
        name = tokens.get(token)
        out["status"] = (
            {"authenticated": True, "user": {"username": name, "groups": GROUPS}, "audiences": []}
            if name
            else {"authenticated": False, "error": "invalid bearer token"}
        )
    return out
