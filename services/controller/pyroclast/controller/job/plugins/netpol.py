"""``networking.k8s.io/v1`` NetworkPolicy, as far as the svc plugin writes it."""

from __future__ import annotations

from pyroclast.common.models import Model, ObjectMeta
from pyroclast.common.models.meta import LabelSelector


class NetworkPolicyPeer(Model, kw_only=True):
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None


class NetworkPolicyIngressRule(Model, kw_only=True):
    # ``from`` is a Python keyword; the wire name is kept by ``rename``.
    from_: list[NetworkPolicyPeer] | None = None


class NetworkPolicySpec(Model, kw_only=True):
    pod_selector: LabelSelector | None = None
    ingress: list[NetworkPolicyIngressRule] | None = None
    policy_types: list[str] | None = None


class NetworkPolicy(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: NetworkPolicySpec | None = None
