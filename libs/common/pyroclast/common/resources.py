"""Resource vectors for the scheduler, with Volcano's ``api.Resource`` semantics.

Canonical integer units (every module relies on these):

* ``cpu``: millicores (``Quantity.milli_value()``; ``"1.5"`` -> 1500);
* ``memory``: bytes (``Quantity.value()``; ``"1Gi"`` -> 1073741824);
* every other resource (``pods``, ``ephemeral-storage``, ``nvidia.com/gpu``,
  ``hugepages-*``, any extended resource): milli-units (``milli_value()``;
  ``nvidia.com/gpu: 1`` -> 1000, one pod -> 1000 ``pods``).

Volcano keeps float64 amounts and compares them with a tolerance,
``minResource = 0.1`` of a unit, to absorb float drift. Here amounts are exact
integers in the same units, so a difference below 0.1 is no difference: the
thresholds become exact comparisons (``l < r or |l - r| < 0.1`` is ``l <= r``;
``v < 0.1`` is ``v <= 0``). Where else this module differs from Volcano, the
method says so. ``Resource`` values are immutable; operations return new ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pyroclast.common.quantity import Format, Quantity, format_quantity, parse_quantity

__all__ = [
    "CPU",
    "EPHEMERAL_STORAGE",
    "GPU",
    "INFINITY",
    "MEMORY",
    "MIN_RESOURCE",
    "PODS",
    "ZERO",
    "DimensionDefault",
    "InsufficientResourceError",
    "Resource",
    "ResourceSpace",
    "canonical_amount",
    "format_amount",
    "is_scalar_resource_name",
]

CPU: Final = "cpu"
MEMORY: Final = "memory"
PODS: Final = "pods"
EPHEMERAL_STORAGE: Final = "ephemeral-storage"
GPU: Final = "nvidia.com/gpu"
#: Volcano's float tolerance, in canonical units; exact integers make it moot.
MIN_RESOURCE: Final = 0.1

# Scalars IsEmpty skips: every pod asks for one.
_IGNORED_SCALARS: Final = frozenset({PODS})
_BINARY_SCALAR_PREFIXES: Final = (EPHEMERAL_STORAGE, "hugepages-")
_QUALIFIED_NAME: Final = re.compile(
    r"(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?\Z"
)


class DimensionDefault(Enum):
    """How a scalar dimension missing from a Resource is read (Volcano's ``Zero``/``Infinity``)."""

    ZERO = 0
    INFINITY = -1


ZERO: Final = DimensionDefault.ZERO
INFINITY: Final = DimensionDefault.INFINITY


class InsufficientResourceError(ValueError):
    """``Resource.sub`` would go below zero (Volcano asserts here)."""


def is_scalar_resource_name(name: str) -> bool:
    """Kubernetes' ``IsScalarResourceName``: extended, hugepages, prefixed-native or attachable volumes."""
    if name.startswith(("hugepages-", "attachable-volumes-")) or "kubernetes.io/" in name:
        return True
    if "/" not in name or name.startswith("requests."):
        return False
    prefix, _, short = f"requests.{name}".rpartition("/")
    return len(prefix) <= 253 and len(short) <= 63 and bool(_QUALIFIED_NAME.match(f"{prefix}/{short}"))


def canonical_amount(name: str, quantity: Quantity | str | int | float) -> int:
    """A quantity of resource ``name`` in canonical integer units (see module doc)."""
    q = parse_quantity(quantity)
    return q.value() if name == MEMORY else q.milli_value()


def format_amount(name: str, amount: int) -> str:
    """The canonical quantity string of ``amount`` canonical units of ``name``.

    ``format_amount("cpu", 1500) == "1500m"``, ``format_amount("memory", 2**30) == "1Gi"``;
    byte-like scalars (ephemeral-storage, hugepages) print in binary SI.
    """
    if name == MEMORY:
        return format_quantity(amount, Format.BINARY_SI)
    fmt = Format.BINARY_SI if name.startswith(_BINARY_SCALAR_PREFIXES) else Format.DECIMAL_SI
    return format_quantity(amount, fmt, scale=-3)


def _le(left: int, right: int) -> bool:
    # Volcano: l < r || |l - r| < minResource. Exact on integers.
    return left <= right


class Resource:
    """An immutable resource vector: ``cpu_milli``, ``memory`` bytes and milli-unit ``scalars``.

    Whether a scalar is present matters: the ``INFINITY`` default reads a
    missing scalar as unbounded, while a present zero is zero.
    """

    __slots__ = ("_hash", "_scalars", "cpu_milli", "memory")

    cpu_milli: int
    memory: int
    _scalars: dict[str, int]
    _hash: int | None

    def __init__(self, cpu_milli: int = 0, memory: int = 0, scalars: Mapping[str, int] | None = None) -> None:
        object.__setattr__(self, "cpu_milli", int(cpu_milli))
        object.__setattr__(self, "memory", int(memory))
        scalar_map = {k: int(v) for k, v in scalars.items()} if scalars else {}
        if CPU in scalar_map or MEMORY in scalar_map:
            raise ValueError("cpu and memory are not scalars; pass cpu_milli and memory")
        object.__setattr__(self, "_scalars", scalar_map)
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Resource is immutable; cannot set {name}")

    @staticmethod
    def _make(cpu: int, memory: int, scalars: dict[str, int]) -> Resource:
        # (through the constructor: the compiled class has no other way to make one)
        return Resource(cpu, memory, scalars)

    # -- conversion ---------------------------------------------------------
    @classmethod
    def from_list(
        cls, resource_list: Mapping[str, Quantity | str | int | float], *, ignored: Collection[str] = ()
    ) -> Resource:
        """Volcano's ``NewResource`` from a ResourceList as found in manifests.

        Keeps cpu, memory, pods, ephemeral-storage and scalar resource names
        (``is_scalar_resource_name``); drops ``count/*`` quota names, other
        native names (``storage``) and the ``ignored`` devices. Surrounding
        whitespace in a string is trimmed, as apimachinery's JSON decoder does.
        Differs from Volcano: ``pods`` is held in milli-units like every other
        scalar (Volcano stores it with ``Value()``); comparisons are unaffected.
        """
        cpu = memory = 0
        scalars: dict[str, int] = {}
        for name, raw in resource_list.items():
            value = raw.strip() if isinstance(raw, str) else raw
            if name == CPU:
                cpu += canonical_amount(name, value)
            elif name == MEMORY:
                memory += canonical_amount(name, value)
            elif name in (PODS, EPHEMERAL_STORAGE) or (
                not name.startswith("count/") and is_scalar_resource_name(name) and name not in ignored
            ):
                scalars[name] = scalars.get(name, 0) + canonical_amount(name, value)
        return Resource._make(cpu, memory, scalars)

    def to_list(self) -> dict[str, str]:
        """A ResourceList of canonical quantity strings (cpu/memory only when non-zero)."""
        out: dict[str, str] = {}
        if self.cpu_milli:
            out[CPU] = format_amount(CPU, self.cpu_milli)
        if self.memory:
            out[MEMORY] = format_amount(MEMORY, self.memory)
        for name in sorted(self._scalars):
            out[name] = format_amount(name, self._scalars[name])
        return out

    # -- access -------------------------------------------------------------
    @property
    def scalars(self) -> Mapping[str, int]:
        return MappingProxyType(self._scalars)

    def has_scalars(self) -> bool:
        """Whether any scalar is present (zero or not): ``bool(self.scalars)`` without a view."""
        return bool(self._scalars)

    def scalar_names(self) -> list[str]:
        """The names of the scalars present, in their order."""
        return list(self._scalars)

    def get(self, name: str) -> int:
        """The amount of ``name``; a missing scalar reads as 0."""
        if name == CPU:
            return self.cpu_milli
        if name == MEMORY:
            return self.memory
        return self._scalars.get(name, 0)

    def names(self) -> list[str]:
        """Names with a positive amount (Volcano's ``ResourceNames``)."""
        out = [n for n, v in ((CPU, self.cpu_milli), (MEMORY, self.memory)) if v > 0]
        return out + [n for n, v in self._scalars.items() if v > 0]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        yield CPU, self.cpu_milli
        yield MEMORY, self.memory
        yield from self._scalars.items()

    def is_empty(self) -> bool:
        """No positive amount, ``pods`` aside (Volcano's ``IsEmpty``)."""
        if self.cpu_milli > 0 or self.memory > 0:
            return False
        return all(v <= 0 for n, v in self._scalars.items() if n not in _IGNORED_SCALARS)

    def is_zero(self, name: str) -> bool:
        """Whether ``name`` has no positive amount. Volcano asserts a missing
        scalar is known; a missing scalar reads as zero here."""
        return self.get(name) <= 0

    # -- algebra ------------------------------------------------------------
    def add(self, other: Resource) -> Resource:
        scalars = dict(self._scalars)
        for name, v in other._scalars.items():
            scalars[name] = scalars.get(name, 0) + v
        return Resource._make(self.cpu_milli + other.cpu_milli, self.memory + other.memory, scalars)

    def sub(self, other: Resource) -> Resource:
        """``self - other``; raises unless ``other.less_equal(self, ZERO)``, as Volcano's ``Sub``."""
        if not other.less_equal(self, ZERO):
            raise InsufficientResourceError(
                f"resource is not sufficient to do operation: <{self}> sub <{other}>"
            )
        return self.sub_without_assert(other)

    def sub_without_assert(self, other: Resource) -> Resource:
        """``self - other``, negative results allowed (Volcano's ``SubWithoutAssert``)."""
        scalars = dict(self._scalars)
        for name, v in other._scalars.items():
            scalars[name] = scalars.get(name, 0) - v
        return Resource._make(self.cpu_milli - other.cpu_milli, self.memory - other.memory, scalars)

    def __add__(self, other: Resource) -> Resource:
        return self.add(other)

    def __sub__(self, other: Resource) -> Resource:
        return self.sub(other)

    def multi(self, ratio: float | int | Fraction | Decimal) -> Resource:
        """Every amount times ``ratio``, rounded to the nearest integer (ties to even).

        Volcano keeps the fractional float; integer units must round.
        """
        f = Fraction(ratio)
        return Resource._make(
            round(self.cpu_milli * f),
            round(self.memory * f),
            {k: round(v * f) for k, v in self._scalars.items()},
        )

    def set_max(self, other: Resource) -> Resource:
        """The per-dimension maximum; a scalar present on one side only is kept (``SetMaxResource``)."""
        scalars = dict(self._scalars)
        for name, v in other._scalars.items():
            if name not in scalars or v > scalars[name]:
                scalars[name] = v
        return Resource._make(max(self.cpu_milli, other.cpu_milli), max(self.memory, other.memory), scalars)

    def min_dimension(self, other: Resource, default: DimensionDefault = ZERO) -> Resource:
        """Each of self's dimensions capped by ``other`` (``MinDimensionResource``).

        A scalar missing from ``other`` caps to 0 under ``ZERO`` and is kept under ``INFINITY``.
        """
        scalars: dict[str, int] = {}
        for name, v in self._scalars.items():
            if name in other._scalars:
                scalars[name] = min(v, other._scalars[name])
            else:
                scalars[name] = v if default is INFINITY else 0
        return Resource._make(min(self.cpu_milli, other.cpu_milli), min(self.memory, other.memory), scalars)

    def fit_delta(self, request: Resource) -> Resource:
        """Available (self) minus ``request`` on every dimension the request asks for (> 0).

        Volcano subtracts an extra ``minResource`` so that any negative field
        marks a shortfall, which also makes an exact fit a shortfall; with exact
        integers no margin is needed, so a negative field here means the
        request does not fit and an exact fit gives 0.
        """
        cpu = self.cpu_milli - request.cpu_milli if request.cpu_milli > 0 else self.cpu_milli
        memory = self.memory - request.memory if request.memory > 0 else self.memory
        scalars = dict(self._scalars)
        for name, v in request._scalars.items():
            if v > 0:
                scalars[name] = scalars.get(name, 0) - v
        return Resource._make(cpu, memory, scalars)

    def fits(self, request: Resource) -> bool:
        """Whether ``request`` fits in self: no field of ``fit_delta`` goes negative."""
        delta = self.fit_delta(request)
        if request.cpu_milli > 0 and delta.cpu_milli < 0:
            return False
        if request.memory > 0 and delta.memory < 0:
            return False
        return all(delta._scalars[n] >= 0 for n, v in request._scalars.items() if v > 0)

    # -- comparisons (Volcano's rules, dimension by dimension) ---------------
    def less_equal(self, other: Resource, default: DimensionDefault = ZERO) -> bool:
        """Every dimension of self <= other's (``LessEqual``).

        Under ``INFINITY`` a scalar other has and self lacks makes self
        unbounded (False), and one self has and other lacks is unbounded on
        the right (skipped). Under ``ZERO`` only self's scalars are checked,
        against other's or 0.
        """
        if not _le(self.cpu_milli, other.cpu_milli) or not _le(self.memory, other.memory):
            return False
        if default is INFINITY and any(n not in self._scalars for n in other._scalars):
            return False
        for name, left in self._scalars.items():
            if name not in other._scalars and default is INFINITY:
                continue
            if not _le(left, other._scalars.get(name, 0)):
                return False
        return True

    def less(self, other: Resource, default: DimensionDefault = ZERO) -> bool:
        """Every dimension of self < other's (``Less``), missing scalars as in ``less_equal``."""
        if not (self.cpu_milli < other.cpu_milli and self.memory < other.memory):
            return False
        if default is INFINITY and any(n not in self._scalars for n in other._scalars):
            return False
        for name, left in self._scalars.items():
            if name not in other._scalars and default is INFINITY:
                continue
            if not left < other._scalars.get(name, 0):
                return False
        return True

    def less_partly(self, other: Resource, default: DimensionDefault = ZERO) -> bool:
        """Some dimension of self < other's (``LessPartly``).

        Under ``ZERO`` a scalar other has and self lacks counts as less; under
        ``INFINITY`` one self has and other lacks does.
        """
        if self.cpu_milli < other.cpu_milli or self.memory < other.memory:
            return True
        if default is ZERO and any(n not in self._scalars for n in other._scalars):
            return True
        for name, left in self._scalars.items():
            if name not in other._scalars and default is INFINITY:
                return True
            if left < other._scalars.get(name, 0):
                return True
        return False

    def less_equal_partly(self, other: Resource, default: DimensionDefault = ZERO) -> bool:
        """Some dimension of self <= other's (``LessEqualPartly``), missing scalars as in ``less_partly``."""
        if _le(self.cpu_milli, other.cpu_milli) or _le(self.memory, other.memory):
            return True
        if default is ZERO and any(n not in self._scalars for n in other._scalars):
            return True
        for name, left in self._scalars.items():
            if name not in other._scalars and default is INFINITY:
                return True
            if _le(left, other._scalars.get(name, 0)):
                return True
        return False

    def insufficient(self, other: Resource, default: DimensionDefault = ZERO) -> list[str]:
        """Names where self exceeds other (``LessEqualWithResourcesName``); empty when it fits."""
        out = [n for n in (CPU, MEMORY) if not _le(self.get(n), other.get(n))]
        for name, left in self._scalars.items():
            if name not in other._scalars and default is INFINITY:
                continue
            if not _le(left, other._scalars.get(name, 0)):
                out.append(name)
        return out

    def equal(self, other: Resource) -> bool:
        """Same amount on every dimension, a missing scalar reading as 0.

        Volcano's ``Equal`` checks only self's scalars; this checks both sides.
        """
        if self.cpu_milli != other.cpu_milli or self.memory != other.memory:
            return False
        names = self._scalars.keys() | other._scalars.keys()
        return all(self._scalars.get(n, 0) == other._scalars.get(n, 0) for n in names)

    def diff(self, other: Resource, default: DimensionDefault = ZERO) -> tuple[Resource, Resource]:
        """(increased, decreased) from other to self (Volcano's ``Diff``).

        Missing scalars take the default's value; under ``INFINITY`` an
        unbounded side is reported as ``-1`` in the result, as Volcano marks it.
        """
        fill = default.value
        left = {**dict.fromkeys(other._scalars, fill), **self._scalars}
        right = {**dict.fromkeys(self._scalars, fill), **other._scalars}
        inc: dict[str, int] = {}
        dec: dict[str, int] = {}
        for name, lv in left.items():
            rv = right[name]
            if lv == INFINITY.value:
                inc[name] = lv
            elif rv == INFINITY.value:
                dec[name] = rv
            elif lv > rv:
                inc[name] = lv - rv
            else:
                dec[name] = rv - lv
        cpu, mem = self.cpu_milli - other.cpu_milli, self.memory - other.memory
        return (
            Resource._make(max(cpu, 0), max(mem, 0), inc),
            Resource._make(max(-cpu, 0), max(-mem, 0), dec),
        )

    # -- value semantics --------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return (
            self.cpu_milli == other.cpu_milli
            and self.memory == other.memory
            and self._scalars == other._scalars
        )

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((self.cpu_milli, self.memory, frozenset(self._scalars.items())))
            object.__setattr__(self, "_hash", h)
        return h

    def __str__(self) -> str:
        parts = [
            f"{CPU} {format_amount(CPU, self.cpu_milli)}",
            f"{MEMORY} {format_amount(MEMORY, self.memory)}",
        ]
        parts += [f"{n} {format_amount(n, self._scalars[n])}" for n in sorted(self._scalars)]
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Resource(cpu_milli={self.cpu_milli}, memory={self.memory}, scalars={self._scalars!r})"


class ResourceSpace:
    """An ordered tuple of resource names: the columns of the scheduler's int64 matrices."""

    __slots__ = ("_index", "names")

    names: tuple[str, ...]
    _index: dict[str, int]

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        self._index = {n: i for i, n in enumerate(self.names)}
        if len(self._index) != len(self.names):
            raise ValueError(f"duplicate resource names in {self.names}")

    @classmethod
    def covering(cls, resources: Iterable[Resource]) -> ResourceSpace:
        """``cpu``, ``memory``, then every scalar name seen, sorted."""
        seen: set[str] = set()
        for r in resources:
            seen.update(r.scalars)
        return cls((CPU, MEMORY, *sorted(seen - {CPU, MEMORY})))

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self._index[name]

    def to_array(self, resource: Resource) -> NDArray[np.int64]:
        """The amounts in column order; raises if a non-zero scalar has no column."""
        out = np.zeros(len(self.names), dtype=np.int64)
        for name, amount in resource:
            i = self._index.get(name)
            if i is None:
                if amount:
                    raise ValueError(f"resource {name!r} is not in this space {self.names}")
                continue
            out[i] = amount
        return out

    def from_array(self, row: NDArray[np.int64], *, keep_zero_scalars: bool = False) -> Resource:
        """The Resource of one row; zero scalars are dropped unless asked for."""
        cpu = memory = 0
        scalars: dict[str, int] = {}
        for name, value in zip(self.names, row.tolist(), strict=True):
            if name == CPU:
                cpu = value
            elif name == MEMORY:
                memory = value
            elif value or keep_zero_scalars:
                scalars[name] = value
        return Resource._make(cpu, memory, scalars)

    def stack(self, resources: Iterable[Resource]) -> NDArray[np.int64]:
        """A (len(resources), len(space)) matrix, one row per resource."""
        rows = [self.to_array(r) for r in resources]
        if not rows:
            return np.zeros((0, len(self.names)), dtype=np.int64)
        return np.stack(rows)

    def less_equal(self, request: Resource, matrix: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Row mask of ``request.less_equal(row, ZERO)`` over a stacked matrix.

        Checks cpu, memory and the request's own scalars, as the scalar rule
        does; a request scalar without a column compares against 0.
        """
        mask = np.ones(matrix.shape[0], dtype=np.bool_)
        for name, amount in request:
            i = self._index.get(name)
            if i is None:
                if not _le(amount, 0):
                    mask[:] = False
                continue
            mask &= matrix[:, i] >= amount
        return mask
