"""Label, node-selector, toleration and pod-affinity-term matching (Kubernetes' semantics).

Pure functions over the Kubernetes-shaped structs of the records; the predicates and
nodeorder plugins build on them. Parsing errors (an ``In`` without values, a ``Gt`` whose
value is not an integer, an unknown operator) make the requirement, hence its term, fail
to match, as the Kubernetes helpers do when they ignore the parse error. Vectorisation:
a requirement over all nodes becomes a comparison on one column of an interned
node x label-key matrix (and taints likewise); these scalar matchers stay the oracle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pyroclast.common.models.core import (
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinityTerm,
    Taint,
    Toleration,
)
from pyroclast.common.models.meta import LabelSelector

__all__ = [
    "NO_EXECUTE",
    "NO_SCHEDULE",
    "PREFER_NO_SCHEDULE",
    "TAINT_NODE_UNSCHEDULABLE",
    "find_untolerated_taint",
    "label_selector_matches",
    "node_selector_term_matches",
    "node_selector_terms_match",
    "required_node_names",
    "term_matches_pod",
    "toleration_tolerates_taint",
    "tolerations_tolerate_taint",
]

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NODE_NAME_FIELD = "metadata.name"


_INT = re.compile(r"[+-]?[0-9]+")


def _parse_int(value: str) -> int | None:
    """Go's ``strconv.ParseInt(value, 10, 64)``: no spaces, no underscores."""
    if not _INT.fullmatch(value):
        return None
    n = int(value)
    return n if -(2**63) <= n < 2**63 else None


def requirement_matches(req: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` requirement against a label set (In/NotIn/Exists/DoesNotExist/Gt/Lt)."""
    key = req.key or ""
    op = req.operator or ""
    values = req.values or []
    present = key in labels
    if op == "In":
        return bool(values) and present and labels[key] in values
    if op == "NotIn":
        return bool(values) and (not present or labels[key] not in values)
    if op == "Exists":
        return not values and present
    if op == "DoesNotExist":
        return not values and not present
    if op in ("Gt", "Lt"):
        if len(values) != 1 or not present:
            return False
        bound = _parse_int(values[0])
        actual = _parse_int(labels[key])
        if bound is None or actual is None:
            return False
        return actual > bound if op == "Gt" else actual < bound
    return False


def _field_matches(req: NodeSelectorRequirement, node_name: str) -> bool:
    """A ``matchFields`` requirement: In/NotIn with exactly one value; the node's only field
    is ``metadata.name`` (any other key reads as the empty string)."""
    values = req.values or []
    if len(values) != 1 or req.operator not in ("In", "NotIn"):
        return False
    actual = node_name if req.key == NODE_NAME_FIELD else ""
    return (actual == values[0]) == (req.operator == "In")


def required_node_names(terms: Sequence[NodeSelectorTerm]) -> set[str] | None:
    """Kubernetes' NodeAffinity pre-filter: the node names every term pins with
    ``metadata.name In``, or None when some term pins none (all nodes are eligible)."""
    names: set[str] | None = None
    for term in terms:
        term_names: set[str] | None = None
        for req in term.match_fields or []:
            if req.key == NODE_NAME_FIELD and req.operator == "In":
                vals = set(req.values or [])
                term_names = vals if term_names is None else term_names & vals
        if term_names is None:
            return None
        names = term_names if names is None else names | term_names
    return names


def node_selector_term_matches(term: NodeSelectorTerm, labels: Mapping[str, str], node_name: str) -> bool:
    """All expressions and fields of a term hold; an empty term matches nothing."""
    exprs = term.match_expressions or []
    fields = term.match_fields or []
    if not exprs and not fields:
        return False
    return all(requirement_matches(r, labels) for r in exprs) and all(
        _field_matches(r, node_name) for r in fields
    )


def node_selector_terms_match(
    terms: Sequence[NodeSelectorTerm], labels: Mapping[str, str], node_name: str
) -> bool:
    """Terms are ORed; no term matches nothing."""
    return any(node_selector_term_matches(t, labels, node_name) for t in terms)


def label_selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """``metav1.LabelSelectorAsSelector``: a nil selector matches nothing, an empty one everything."""
    if selector is None:
        return False
    for key, value in (selector.match_labels or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.match_expressions or []:
        key = expr.key or ""
        values = expr.values or []
        present = key in labels
        op = expr.operator or ""
        if op == "In":
            ok = bool(values) and present and labels[key] in values
        elif op == "NotIn":
            ok = bool(values) and (not present or labels[key] not in values)
        elif op == "Exists":
            ok = not values and present
        elif op == "DoesNotExist":
            ok = not values and not present
        else:
            ok = False
        if not ok:
            return False
    return True


def term_matches_pod(
    term: PodAffinityTerm, owner_namespace: str, pod_namespace: str, pod_labels: Mapping[str, str]
) -> bool:
    """Whether a pod (namespace, labels) is selected by ``term`` declared by a pod of ``owner_namespace``.

    Namespaces: the listed ones, or the owner's when none is listed and there is no
    namespace selector. Namespace labels are not in the snapshot, so a namespace selector
    matches every namespace only when it is empty (``{}``) and none otherwise.
    """
    names = set(term.namespaces or [])
    ns_sel = term.namespace_selector
    if not names and ns_sel is None:
        names = {owner_namespace}
    ns_ok = pod_namespace in names
    if not ns_ok and ns_sel is not None:
        ns_ok = not ns_sel.match_labels and not ns_sel.match_expressions
    return ns_ok and label_selector_matches(term.label_selector, pod_labels)


def toleration_tolerates_taint(tol: Toleration, taint: Taint) -> bool:
    """``Toleration.ToleratesTaint``: effect and key (empty = any), then Equal value or Exists."""
    if tol.effect and tol.effect != taint.effect:
        return False
    if tol.key and tol.key != taint.key:
        return False
    op = tol.operator or "Equal"
    if op == "Equal":
        return (tol.value or "") == (taint.value or "")
    return op == "Exists"


def tolerations_tolerate_taint(tolerations: Sequence[Toleration], taint: Taint) -> bool:
    return any(toleration_tolerates_taint(t, taint) for t in tolerations)


def find_untolerated_taint(
    taints: Sequence[Taint], tolerations: Sequence[Toleration], effects: frozenset[str]
) -> Taint | None:
    """The first taint with one of ``effects`` that no toleration tolerates."""
    for taint in taints:
        if (taint.effect or "") not in effects:
            continue
        if not tolerations_tolerate_taint(tolerations, taint):
            return taint
    return None
