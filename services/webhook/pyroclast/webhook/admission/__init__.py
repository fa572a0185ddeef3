"""Volcano's admission rules as plain functions over decoded objects.

Each rule takes an `AdmissionInput` and returns a `Verdict` (allowed, or denied with
Volcano's message; mutations carry RFC 6902 patch operations). `registry` maps Volcano's
webhook paths to rules and runs the whole chain over raw objects; `admission_review` reads
and writes ``admission.k8s.io/v1`` AdmissionReview dicts.
"""

from pyroclast.webhook.admission.admission_review import denial_text, handle, response
from pyroclast.webhook.admission.registry import (
    BY_PATH,
    DEFAULT_ENABLED,
    POLICY_PATHS,
    RULES,
    WEBHOOK_PATHS,
    Rule,
    review,
    rules_for,
)
from pyroclast.webhook.admission.request import (
    AdmissionConfig,
    AdmissionInput,
    ClusterView,
    Operation,
    ResourceGroup,
    StaticCluster,
)
from pyroclast.webhook.admission.verdict import PatchError, PatchOp, Verdict, apply_patch

__all__ = [
    "BY_PATH",
    "DEFAULT_ENABLED",
    "POLICY_PATHS",
    "RULES",
    "WEBHOOK_PATHS",
    "AdmissionConfig",
    "AdmissionInput",
    "ClusterView",
    "Operation",
    "PatchError",
    "PatchOp",
    "ResourceGroup",
    "Rule",
    "StaticCluster",
    "Verdict",
    "apply_patch",
    "denial_text",
    "handle",
    "response",
    "review",
    "rules_for",
]
