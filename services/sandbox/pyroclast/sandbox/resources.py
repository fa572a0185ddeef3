"""Resource quantities and pod requests, as the kubelet and the built-in binder count them.

Quantities follow Kubernetes: ``500m``, ``2``, ``1.5`` for CPU; ``512Mi``, ``1G``, ``1e9`` for
bytes. Amounts are kept as integers in the unit the kubelet reports in its messages:
millicores for ``cpu``, plain units (bytes, counts) for everything else.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
GPU = "nvidia.com/gpu"
EPHEMERAL_STORAGE = "ephemeral-storage"

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

Resources = dict[str, int]


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: object) -> Decimal:
    """The numeric value of a quantity (``"500m"`` -> 0.5, ``"1Ki"`` -> 1024)."""
    if isinstance(value, bool):
        raise QuantityError(f"invalid quantity {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        raise QuantityError(f"invalid quantity {value!r}")
    match = _QUANTITY.match(value.strip())
    if not match:
        raise QuantityError(f"invalid quantity {value!r}")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes this
        raise QuantityError(f"invalid quantity {value!r}") from exc
    amount = number * _SUFFIXES[match.group(2) or ""]
    if amount < 0:
        raise QuantityError(f"invalid quantity {value!r}: must not be negative")
    return amount


def to_amount(resource: str, value: object) -> int:
    """A quantity in the kubelet's unit for ``resource``: millicores for cpu, else units (rounded up)."""
    amount = parse_quantity(value)
    if resource == CPU:
        amount *= 1000
    return int(amount.to_integral_value(rounding="ROUND_CEILING"))


def format_amount(resource: str, amount: int) -> str:
    """The API form of an amount: ``8`` or ``500m`` for cpu, ``34359738368`` or ``32Gi`` for bytes."""
    if resource == CPU:
        return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    if resource in (MEMORY, EPHEMERAL_STORAGE):
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = int(_SUFFIXES[suffix])
            if amount >= unit and amount % unit == 0:
                return f"{amount // unit}{suffix}"
    return str(amount)


def parse_resource_list(values: Mapping[str, Any] | None) -> Resources:
    """A resource list from the API (``{"cpu": "2", "memory": "1Gi"}``) as amounts."""
    return {name: to_amount(name, value) for name, value in (values or {}).items()}


def add(a: Mapping[str, int], b: Mapping[str, int]) -> Resources:
    out = dict(a)
    for name, amount in b.items():
        out[name] = out.get(name, 0) + amount
    return out


def pod_requests(pod: Mapping[str, Any]) -> Resources:
    """What a pod asks of a node, as the scheduler and kubelet count it.

    The sum of the app containers' requests (a limit stands in for a missing request, as
    the API server's defaulting does), at least each init container's, plus the pod's
    overhead, plus one ``pods`` slot. Invalid quantities count as zero: the API server
    rejects them before a pod reaches a node.
    """
    spec = pod.get("spec") or {}
    total: Resources = {}
    for container in spec.get("containers") or []:
        total = add(total, _container_requests(container))
    for container in spec.get("initContainers") or []:
        for name, amount in _container_requests(container).items():
            total[name] = max(total.get(name, 0), amount)
    with contextlib.suppress(QuantityError):
        total = add(total, parse_resource_list(spec.get("overhead")))
    total[PODS] = total.get(PODS, 0) + 1
    return total


def _container_requests(container: Mapping[str, Any]) -> Resources:
    resources = container.get("resources") or {}
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    out: Resources = {}
    for name, value in merged.items():
        try:
            out[name] = to_amount(name, value)
        except QuantityError:
            continue
    return out
