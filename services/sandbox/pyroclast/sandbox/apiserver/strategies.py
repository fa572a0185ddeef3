"""Per-kind behaviour of built-in types: defaults on create and the validation kube applies."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .status import Cause, field_invalid, field_required, field_unsupported

Obj = dict[str, Any]

DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# Kinds whose names must be DNS labels rather than subdomains.
LABEL_NAMED = {"Namespace", "Service"}
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def validate_name(kind: str, name: str, path: str = "metadata.name") -> list[Cause]:
    if kind in LABEL_NAMED:
        if len(name) > 63:
            return [field_invalid(path, name, "must be no more than 63 characters")]
        if not DNS1123_LABEL.fullmatch(name):
            return [field_invalid(path, name, LABEL_MSG)]
        return []
    if len(name) > 253:
        return [field_invalid(path, name, "must be no more than 253 characters")]
    if not DNS1123_SUBDOMAIN.fullmatch(name):
        return [field_invalid(path, name, SUBDOMAIN_MSG)]
    return []


def validate_metadata(kind: str, meta: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and not isinstance(value, dict):
            causes.append(field_invalid(f"metadata.{field}", value, "must be a map"))
    for key, value in (meta.get("labels") or {}).items():
        name = key.split("/", 1)[-1]
        if not QUALIFIED_NAME.fullmatch(name) or len(name) > 63:
            causes.append(
                field_invalid(
                    "metadata.labels",
                    key,
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.fullmatch(value):
            causes.append(
                field_invalid(
                    "metadata.labels",
                    value,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    "'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    for key, value in (meta.get("annotations") or {}).items():
        if not isinstance(value, str):
            causes.append(field_invalid(f"metadata.annotations[{key}]", value, "must be a string"))
    for i, ref in enumerate(meta.get("ownerReferences") or ()):
        for f in ("apiVersion", "kind", "name", "uid"):
            if not (isinstance(ref, dict) and ref.get(f)):
                causes.append(field_required(f"metadata.ownerReferences[{i}].{f}"))
    return causes


# ---- defaults ----------------------------------------------------------------------------------


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or ():
            if not isinstance(c, dict):
                continue
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            if isinstance(c.get("image"), str):
                c.setdefault("imagePullPolicy", _image_pull_policy(c["image"]))
            c.setdefault("resources", {})
            for p in c.get("ports") or ():
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
            for env in c.get("env") or ():
                vf = env.get("valueFrom") if isinstance(env, dict) else None
                if isinstance(vf, dict) and isinstance(vf.get("fieldRef"), dict):
                    vf["fieldRef"].setdefault("apiVersion", "v1")


def qos_class(spec: Obj) -> str:
    requests_seen = limits_seen = False
    guaranteed = True
    for c in spec.get("containers") or ():
        res = c.get("resources") or {} if isinstance(c, dict) else {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            requests_seen = requests_seen or bool(req)
            limits_seen = limits_seen or bool(lim)
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and req[r] != lim[r]):
                guaranteed = False
    if not requests_seen and not limits_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def default_template(template: Obj) -> None:
    spec = template.setdefault("spec", {})
    if isinstance(spec, dict):
        default_pod_spec(spec)
    template.setdefault("metadata", {})


def prepare_create(kind: str, obj: Obj, cluster_ip: str | None = None) -> None:
    """Defaults kube applies on create (the common subset clients observe)."""
    spec = obj.get("spec")
    if kind == "Pod" and isinstance(spec, dict):
        default_pod_spec(spec)
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault(
            "tolerations",
            [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
            ],
        )
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
    elif kind == "Namespace":
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and isinstance(spec, dict):
        if kind != "DaemonSet":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        for key in ("strategy", "updateStrategy"):
            if spec.get(key) == {}:
                del spec[key]
        if kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy",
                {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            )
        if kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        if isinstance(spec.get("template"), dict):
            default_template(spec["template"])
        obj["status"] = {}
    elif kind == "Job" and isinstance(spec, dict):
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if isinstance(spec.get("template"), dict):
            default_template(spec["template"])
        obj["status"] = {}
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = spec.get("jobTemplate")
        if isinstance(job_template, dict) and isinstance(job_template.get("spec"), dict):
            template = job_template["spec"].get("template")
            if isinstance(template, dict):
                default_template(template)
        obj["status"] = {}
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if cluster_ip and spec.get("clusterIP") is None:
            spec["clusterIP"] = cluster_ip
            spec["clusterIPs"] = [cluster_ip]
        for p in spec.get("ports") or ():
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
        obj["status"] = {"loadBalancer": {}}
    elif kind == "PriorityClass":
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        obj["status"] = {"phase": "Pending"}
    elif kind == "PodDisruptionBudget":
        obj["status"] = {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }
    elif kind == "Node":
        obj.setdefault("spec", {})
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})
        for v in spec.get("versions") or ():
            if isinstance(v, dict):
                v.setdefault("served", True)
        obj["status"] = {}


# ---- validation --------------------------------------------------------------------------------


def _containers(spec: Obj, path: str, required: bool) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get("containers")
    if containers is None or containers == []:
        if required:
            causes.append(field_required(f"{path}.containers"))
        return causes
    if not isinstance(containers, list):
        return [field_invalid(f"{path}.containers", containers, "must be a list")]
    seen: set[str] = set()
    for i, c in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        if not isinstance(c, dict):
            causes.append(field_invalid(cpath, c, "must be an object"))
            continue
        name = c.get("name")
        if not name:
            causes.append(field_required(f"{cpath}.name"))
        elif not isinstance(name, str) or not DNS1123_LABEL.fullmatch(name):
            causes.append(field_invalid(f"{cpath}.name", name, LABEL_MSG))
        elif name in seen:
            causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{name}"', f"{cpath}.name"))
        else:
            seen.add(name)
        if not c.get("image"):
            causes.append(field_required(f"{cpath}.image"))
        policy = c.get("imagePullPolicy")
        if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
            causes.append(
                field_unsupported(f"{cpath}.imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"])
            )
    return causes


def _pod_spec(spec: Any, path: str) -> list[Cause]:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return [field_invalid(path, spec, "must be an object")]
    causes = _containers(spec, path, True)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in ("Always", "OnFailure", "Never"):
        causes.append(field_unsupported(f"{path}.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
    return causes


def _selector_matches_template(spec: Obj, path: str) -> list[Cause]:
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        return [field_required(f"{path}.selector")]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return [
                field_invalid(
                    f"{path}.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            ]
    return []


def validate(kind: str, obj: Obj) -> list[Cause]:
    spec = obj.get("spec")
    causes: list[Cause] = []
    if kind == "Pod":
        causes += _pod_spec(spec, "spec")
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        if not isinstance(spec, dict):
            return [field_required("spec")]
        causes += _selector_matches_template(spec, "spec")
        causes += _pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
        replicas = spec.get("replicas")
        if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
            causes.append(field_invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    elif kind == "Job":
        if not isinstance(spec, dict):
            return [field_required("spec")]
        causes += _pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
    elif kind == "ConfigMap":
        for field in ("data", "binaryData"):
            for key, value in (obj.get(field) or {}).items():
                if not isinstance(value, str):
                    causes.append(field_invalid(f"{field}[{key}]", value, "must be a string"))
    elif kind == "Service" and isinstance(spec, dict):
        for i, p in enumerate(spec.get("ports") or ()):
            port = p.get("port") if isinstance(p, dict) else None
            if port is None:
                causes.append(field_required(f"spec.ports[{i}].port"))
            elif not isinstance(port, int) or not 1 <= port <= 65535:
                causes.append(
                    field_invalid(f"spec.ports[{i}].port", port, "must be between 1 and 65535, inclusive")
                )
        ip = spec.get("clusterIP")
        if ip not in (None, "", "None"):
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                causes.append(field_invalid("spec.clusterIP", ip, "must be a valid IP address"))
    elif kind == "PriorityClass":
        value = obj.get("value")
        if value is None:
            causes.append(field_required("value"))
        elif not isinstance(value, int) or isinstance(value, bool):
            causes.append(field_invalid("value", value, "must be an integer"))
    elif kind == "CustomResourceDefinition":
        from .crds import validate_crd

        causes += validate_crd(obj)
    return causes


# Kinds whose ``generation`` kube tracks (it increments when anything outside metadata/status changes).
GENERATION_KINDS = {
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "PriorityClass",
    "NetworkPolicy",
    "Service",
}
