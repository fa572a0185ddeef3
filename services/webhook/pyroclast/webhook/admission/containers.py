"""Kubernetes' checks of one container of a pod template: name, image, policies, ports,
volume mounts and resources, in the order ``validateContainerCommon`` runs them."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from pyroclast.common.models import Container, PodSpec, ResourceRequirements
from pyroclast.common.quantity import Quantity, QuantityError, parse_quantity
from pyroclast.webhook.admission import k8s

_INTEGER_RESOURCES = frozenset(
    {
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    }
)
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
PROTOCOLS = ("SCTP", "TCP", "UDP")
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+\Z")
_PORT_NAME_LETTER = re.compile(r".*[a-z]")
_PORT_RANGE = "must be between 1 and 65535, inclusive"


def is_native_resource(name: str) -> bool:
    """Kubernetes' ``IsNativeResource``: no domain, or a ``kubernetes.io/`` one."""
    return "/" not in name or "kubernetes.io/" in name


def is_extended_resource(name: str) -> bool:
    """Kubernetes' ``IsExtendedResourceName``: a domain-qualified, non-native resource."""
    if is_native_resource(name) or name.startswith("requests."):
        return False
    return not k8s.is_qualified_name("requests." + name)


def is_integer_resource(name: str) -> bool:
    """Resources whose quantities must be whole (object counts and extended resources)."""
    return name in _INTEGER_RESOURCES or is_extended_resource(name)


def quantity_value_errors(name: str, value: object, path: str) -> list[str]:
    """``ValidateResourceQuantityValue``: not negative, and whole for integer resources."""
    try:
        quantity = parse_quantity(value)  # type: ignore[arg-type]
    except (QuantityError, TypeError, ValueError):
        return [k8s.invalid(path, str(value), "must be a valid quantity")]
    errs = []
    if quantity.sign() < 0:
        errs.append(k8s.invalid(path, str(quantity), "must be greater than or equal to 0"))
    if is_integer_resource(name) and quantity.milli_value() % 1000 != 0:
        errs.append(k8s.invalid(path, str(quantity), "must be an integer", named=True))
    return errs


def _quantities(raw: Mapping[str, object] | None) -> dict[str, Quantity | None]:
    out: dict[str, Quantity | None] = {}
    for name, value in (raw or {}).items():
        try:
            out[name] = parse_quantity(value)  # type: ignore[arg-type]
        except (QuantityError, TypeError, ValueError):
            out[name] = None
    return out


def _resource_errors(container: Container, path: str) -> list[str]:
    if container.resources is None:
        return []
    return requirement_errors(container.resources, f"{path}.resources")


def requirement_errors(resources: ResourceRequirements, path: str) -> list[str]:
    """``ValidateContainerResourceRequirements``: quantities, and requests against limits."""
    errs: list[str] = []
    limits_raw, requests_raw = resources.limits or {}, resources.requests or {}
    limits = _quantities(limits_raw)
    for name in sorted(limits_raw):
        errs += quantity_value_errors(name, limits_raw[name], f"{path}.limits[{name}]")
    for name in sorted(requests_raw):
        errs += quantity_value_errors(name, requests_raw[name], f"{path}.requests[{name}]")
        request, limit = _quantities({name: requests_raw[name]})[name], limits.get(name)
        if request is None:
            continue
        overcommit = is_native_resource(name) and not name.startswith("hugepages-")
        if name in limits:
            if limit is None:
                continue
            if request != limit and not overcommit:
                errs.append(
                    k8s.invalid(
                        f"{path}.requests",
                        str(request),
                        f"must be equal to {name} limit of {limit}",
                    )
                )
            elif request > limit:
                errs.append(
                    k8s.invalid(
                        f"{path}.requests",
                        str(request),
                        f"must be less than or equal to {name} limit of {limit}",
                    )
                )
        elif not overcommit:
            errs.append(k8s.required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
    return errs


def _port_errors(container: Container, path: str) -> list[str]:
    errs: list[str] = []
    names: set[str] = set()
    for index, port in enumerate(container.ports or []):
        ppath = f"{path}.ports[{index}]"
        if port.name:
            if msgs := port_name_errors(port.name):
                errs += [k8s.invalid(f"{ppath}.name", port.name, m) for m in msgs]
            elif port.name in names:
                errs.append(k8s.duplicate(f"{ppath}.name", port.name))
            else:
                names.add(port.name)
        if not port.container_port:
            errs.append(k8s.required(f"{ppath}.containerPort"))
        elif not 1 <= port.container_port <= 65535:
            errs.append(k8s.invalid(f"{ppath}.containerPort", port.container_port, _PORT_RANGE))
        if port.host_port and not 1 <= port.host_port <= 65535:
            errs.append(k8s.invalid(f"{ppath}.hostPort", port.host_port, _PORT_RANGE))
        protocol = port.protocol or "TCP"
        if protocol not in PROTOCOLS:
            errs.append(k8s.not_supported(f"{ppath}.protocol", protocol, PROTOCOLS))
    return errs


def port_name_errors(name: str) -> list[str]:
    """apimachinery's ``IsValidPortName``."""
    errs = []
    if len(name.encode("utf-8", "surrogatepass")) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.match(name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _mount_errors(container: Container, path: str, volumes: Collection[str]) -> list[str]:
    errs: list[str] = []
    seen: set[str] = set()
    for index, mount in enumerate(container.volume_mounts or []):
        mpath = f"{path}.volumeMounts[{index}]"
        name, mount_path = mount.name or "", mount.mount_path or ""
        if not name:
            errs.append(k8s.required(f"{mpath}.name"))
        if name not in volumes:
            errs.append(f"{mpath}.name: Not found: {k8s.go_quote(name)}")
        if not mount_path:
            errs.append(k8s.required(f"{mpath}.mountPath"))
        if mount_path in seen:
            errs.append(k8s.invalid(f"{mpath}.mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
    return errs


def container_errors(
    containers: list[Container], path: str, seen: set[str], volumes: Collection[str]
) -> list[str]:
    """Field errors of a container list; ``seen`` collects names across lists (duplicates)."""
    errs: list[str] = []
    for index, container in enumerate(containers):
        cpath = f"{path}[{index}]"
        name = container.name or ""
        if not name:
            errs.append(k8s.required(f"{cpath}.name"))
        else:
            errs += [k8s.invalid(f"{cpath}.name", name, m) for m in k8s.is_dns1123_label(name)]
        if not container.image:
            errs.append(k8s.required(f"{cpath}.image"))
        policy = container.termination_message_policy or "File"
        if policy not in TERMINATION_MESSAGE_POLICIES:
            errs.append(
                k8s.not_supported(f"{cpath}.terminationMessagePolicy", policy, TERMINATION_MESSAGE_POLICIES)
            )
        errs += _port_errors(container, cpath)
        errs += _mount_errors(container, cpath, volumes)
        pull = container.image_pull_policy or "IfNotPresent"
        if pull not in PULL_POLICIES:
            errs.append(k8s.not_supported(f"{cpath}.imagePullPolicy", pull, PULL_POLICIES))
        errs += _resource_errors(container, cpath)
        if name in seen:
            errs.append(k8s.duplicate(f"{cpath}.name", name))
        else:
            seen.add(name)
    return errs


def _request(container: Container, name: str) -> Quantity | None:
    requests = (container.resources.requests or {}) if container.resources else {}
    return _quantities({name: requests[name]})[name] if name in requests else None


def pod_resource_errors(spec: PodSpec, path: str) -> list[str]:
    """Pod-level ``resources`` (feature PodLevelResources): valid themselves, and no smaller
    than what the containers request together (init containers one at a time)."""
    if spec.resources is None:
        return []
    errs = requirement_errors(spec.resources, f"{path}.resources")
    pod_requests = _quantities(spec.resources.requests)
    for name in sorted(pod_requests):
        mine = pod_requests[name]
        if mine is None or name not in ("cpu", "memory"):
            continue
        regular = [q for c in spec.containers or [] if (q := _request(c, name)) is not None]
        init = [q for c in spec.init_containers or [] if (q := _request(c, name)) is not None]
        total = sum(regular[1:], regular[0]) if regular else None
        aggregate = max([q for q in [total, *init] if q is not None], default=None)
        if aggregate is not None and mine < aggregate:
            errs.append(
                k8s.invalid(
                    f"{path}.resources.requests[{name}]",
                    str(mine),
                    f"must be greater than or equal to aggregate container requests of {aggregate}",
                )
            )
    return errs
