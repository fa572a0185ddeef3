"""Float resource vectors with Volcano's float64 ``api.Resource`` arithmetic.

Proportion's water-filling and overcommit's inflated idle multiply by fractions; Volcano
keeps the fractional float64 and compares integer allocations against it (with its 0.1
tolerance in ``LessEqual``/``IsEmpty``, strictly in ``LessEqualWithDimension...``). These
plugins do the same with Python floats (IEEE doubles, as Go's), so their verdicts match
Volcano's where rounding to integers could not. Units are the canonical ones of
:class:`~pyroclast.common.resources.Resource`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyroclast.common.resources import (
    CPU,
    INFINITY,
    MEMORY,
    PODS,
    ZERO,
    DimensionDefault,
    Resource,
    format_amount,
)

__all__ = ["MAX_FLOAT", "MIN_RESOURCE", "FRes"]

MIN_RESOURCE = 0.1
MAX_FLOAT = sys.float_info.max
_INF_MARK = -1.0  # Volcano's Infinity default value, as stored by Diff


def _le(left: float, right: float) -> bool:
    return left < right or abs(left - right) < MIN_RESOURCE


@dataclass(frozen=True)
class FRes:
    cpu: float = 0.0
    memory: float = 0.0
    scalars: Mapping[str, float] = field(default_factory=dict)

    # (written out: the compiled core compiles it, not so the one dataclass would generate)
    def __init__(
        self, cpu: float = 0.0, memory: float = 0.0, scalars: Mapping[str, float] | None = None
    ) -> None:
        object.__setattr__(self, "cpu", cpu)
        object.__setattr__(self, "memory", memory)
        object.__setattr__(self, "scalars", {} if scalars is None else scalars)

    @classmethod
    def of(cls, r: Resource | None) -> FRes:
        if r is None:
            return cls()
        return cls(float(r.cpu_milli), float(r.memory), {k: float(v) for k, v in r.scalars.items()})

    def get(self, name: str) -> float:
        if name == CPU:
            return self.cpu
        if name == MEMORY:
            return self.memory
        return self.scalars.get(name, 0.0)

    def names(self) -> list[str]:
        """Dimensions of at least 0.1 (``ResourceNames``)."""
        out = [n for n, v in ((CPU, self.cpu), (MEMORY, self.memory)) if v >= MIN_RESOURCE]
        return out + [n for n, v in self.scalars.items() if v >= MIN_RESOURCE]

    def add(self, o: FRes) -> FRes:
        s = dict(self.scalars)
        for k, v in o.scalars.items():
            s[k] = s.get(k, 0.0) + v
        return FRes(self.cpu + o.cpu, self.memory + o.memory, s)

    def sub(self, o: FRes) -> FRes:
        s = dict(self.scalars)
        for k, v in o.scalars.items():
            s[k] = s.get(k, 0.0) - v
        return FRes(self.cpu - o.cpu, self.memory - o.memory, s)

    def multi(self, ratio: float) -> FRes:
        return FRes(self.cpu * ratio, self.memory * ratio, {k: v * ratio for k, v in self.scalars.items()})

    def min_dimension(self, o: FRes, default: DimensionDefault) -> FRes:
        """``MinDimensionResource``: a scalar ``o`` lacks is kept (Infinity) or zeroed (Zero)."""
        s: dict[str, float] = {}
        for k, v in self.scalars.items():
            if k in o.scalars:
                s[k] = min(v, o.scalars[k])
            else:
                s[k] = v if default is INFINITY else 0.0
        return FRes(min(self.cpu, o.cpu), min(self.memory, o.memory), s)

    def diff(self, o: FRes, default: DimensionDefault = ZERO) -> tuple[FRes, FRes]:
        """(increased, decreased) from ``o`` to self, as Volcano's ``Diff``."""
        fill = _INF_MARK if default is INFINITY else 0.0
        left = {**dict.fromkeys(o.scalars, fill), **self.scalars}
        right = {**dict.fromkeys(self.scalars, fill), **o.scalars}
        inc: dict[str, float] = {}
        dec: dict[str, float] = {}
        for name, lv in left.items():
            rv = right[name]
            if lv == _INF_MARK:
                inc[name] = lv
            elif rv == _INF_MARK:
                dec[name] = rv
            elif lv > rv:
                inc[name] = lv - rv
            else:
                dec[name] = rv - lv
        cpu_inc, cpu_dec = (self.cpu - o.cpu, 0.0) if self.cpu > o.cpu else (0.0, o.cpu - self.cpu)
        mem_inc, mem_dec = (
            (self.memory - o.memory, 0.0) if self.memory > o.memory else (0.0, o.memory - self.memory)
        )
        return FRes(cpu_inc, mem_inc, inc), FRes(cpu_dec, mem_dec, dec)

    def exceeded_part(self, o: FRes) -> FRes:
        """What self has beyond ``o`` (``ExceededPart``)."""
        return self.diff(o, ZERO)[0]

    def less_equal(self, o: FRes, default: DimensionDefault = ZERO) -> bool:
        """``LessEqual`` with Volcano's 0.1 tolerance."""
        if not _le(self.cpu, o.cpu) or not _le(self.memory, o.memory):
            return False
        if default is INFINITY and any(n not in self.scalars for n in o.scalars):
            return False
        for name, lv in self.scalars.items():
            if name not in o.scalars and default is INFINITY:
                continue
            if not _le(lv, o.scalars.get(name, 0.0)):
                return False
        return True

    def exceeding(self, o: FRes, req: FRes) -> list[str]:
        """``LessEqualWithDimensionAndResourcesName``: names ``req`` asks for (pods aside) where
        self is strictly above ``o``; empty when it fits."""
        out: list[str] = []
        if req.cpu > 0 and self.cpu > o.cpu:
            out.append(CPU)
        if req.memory > 0 and self.memory > o.memory:
            out.append(MEMORY)
        if not self.scalars:
            return out
        for name, q in req.scalars.items():
            if name == PODS:
                continue
            if q > 0 and self.scalars.get(name, 0.0) > o.scalars.get(name, 0.0):
                out.append(name)
        return out

    def is_empty(self) -> bool:
        """Below 0.1 everywhere, ``pods`` aside (``IsEmpty``)."""
        if not (self.cpu < MIN_RESOURCE and self.memory < MIN_RESOURCE):
            return False
        return all(v < MIN_RESOURCE for k, v in self.scalars.items() if k != PODS)


def fmax(left: FRes, right: FRes) -> FRes:
    """Volcano's ``helpers.Max``: per-dimension maximum, negative scalars dropped."""
    s = {k: v for k, v in left.scalars.items() if v >= 0}
    for k, v in right.scalars.items():
        if v >= 0:
            s[k] = max(v, s.get(k, 0.0))
    return FRes(max(left.cpu, right.cpu), max(left.memory, right.memory), s)


def amount_text(name: str, value: float) -> str:
    """``value`` canonical units of ``name`` as a quantity (``cpu 1500m``, ``memory 2Gi``)."""
    if value >= MAX_FLOAT:
        return "unlimited"
    return format_amount(name, max(0, math.ceil(value)))
