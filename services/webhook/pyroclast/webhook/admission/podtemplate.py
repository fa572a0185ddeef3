"""The part of Kubernetes' ``ValidatePodTemplate`` a Volcano task template goes through.

Covers object metadata (the task name as pod template name, the namespace), template labels
and annotations, volume names and types, containers and init containers (see `containers`),
``restartPolicy`` and ``dnsPolicy``. Other pod spec checks (env, probes, security contexts,
affinity, ...) are not reproduced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from pyroclast.common.models import Container, PodTemplateSpec, Volume
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.containers import container_errors, pod_resource_errors

_LABEL_VALUE_FMT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}\\Z")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")


def _label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value.encode("utf-8", "surrogatepass")) > 63:
        errs.append("must be no more than 63 bytes")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(
            k8s.regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


def _metadata_errors(labels: Mapping[str, str] | None, annotations: Mapping[str, str] | None) -> list[str]:
    errs = []
    for key in sorted(labels or {}):
        errs += [k8s.invalid("template.labels", key, m) for m in k8s.is_qualified_name(key)]
        errs += [
            k8s.invalid("template.labels", (labels or {})[key], m)
            for m in _label_value_errors((labels or {})[key])
        ]
    for key in sorted(annotations or {}):
        errs += [k8s.invalid("template.annotations", key, m) for m in k8s.is_qualified_name(key.lower())]
    return errs


def volume_errors(volumes: list[Volume]) -> tuple[list[str], set[str]]:
    """Field errors of the pod's volumes, and the names of the valid ones."""
    errs: list[str] = []
    names: set[str] = set()
    for index, volume in enumerate(volumes):
        vpath = f"template.spec.volumes[{index}]"
        found = []
        sources = {k: v for k, v in msgspec.structs.asdict(volume).items() if k != "name" and v is not None}
        if not sources:
            found.append(k8s.required(vpath, "must specify a volume type"))
        name = volume.name or ""
        if not name:
            found.append(k8s.required(f"{vpath}.name"))
        else:
            found += [k8s.invalid(f"{vpath}.name", name, m) for m in k8s.is_dns1123_label(name)]
        if name in names:
            found.append(k8s.duplicate(f"{vpath}.name", name))
        if found:
            errs += found
        else:
            names.add(name)
    return errs, names


def validate_pod_template(
    name: str, namespace: str, template: PodTemplateSpec | None, *, pod_level_resources: bool = True
) -> list[str]:
    """Field errors of a pod template called ``name`` in ``namespace``, in Kubernetes' order."""
    errs: list[str] = []
    if not name:
        errs.append(k8s.required("metadata.name", "name or generateName is required"))
    else:
        errs += [k8s.invalid("metadata.name", name, m) for m in k8s.is_dns1123_subdomain(name)]
    if not namespace:
        errs.append(k8s.required("metadata.namespace"))
    else:
        errs += [k8s.invalid("metadata.namespace", namespace, m) for m in k8s.is_dns1123_label(namespace)]
    template = template or PodTemplateSpec()
    meta = template.metadata
    errs += _metadata_errors(meta.labels if meta else None, meta.annotations if meta else None)
    spec = template.spec
    vol_errs, volumes = volume_errors(list((spec.volumes or []) if spec else []))
    errs += vol_errs
    containers = (spec.containers if spec else None) or []
    seen: set[str] = set()
    if not containers:
        errs.append(k8s.required("template.spec.containers"))
    else:
        errs += container_errors(containers, "template.spec.containers", seen, volumes)
    init: list[Container] = list(spec.init_containers or []) if spec else []
    errs += container_errors(init, "template.spec.initContainers", seen, volumes)
    if pod_level_resources and spec is not None:
        errs += pod_resource_errors(spec, "template.spec")
    restart = (spec.restart_policy if spec else None) or "Always"
    if restart not in RESTART_POLICIES:
        errs.append(k8s.not_supported("template.spec.restartPolicy", restart, RESTART_POLICIES))
    dns = (spec.dns_policy if spec else None) or "ClusterFirst"
    if dns not in DNS_POLICIES:
        errs.append(k8s.not_supported("template.spec.dnsPolicy", dns, DNS_POLICIES))
    return errs
