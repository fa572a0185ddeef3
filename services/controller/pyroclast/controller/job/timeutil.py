"""Kubernetes timestamps and Go duration strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def format_time(moment: datetime) -> str:
    """RFC 3339 with second precision in UTC, as ``metav1.Time`` is written."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_duration(text: str) -> timedelta:
    """A Go duration string (``"90s"``, ``"1h30m"``, ``"1.5s"``) as a timedelta."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-")
    if body == "0":
        return timedelta(0)
    pos, nanos = 0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        number, unit = match.groups()
        whole, _, frac = number.partition(".")
        scale = _UNITS_NS[unit]
        nanos += int(whole or 0) * scale
        if frac:
            nanos += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    return timedelta(microseconds=sign * nanos / 1000)


def _frac(value: int, digits: int) -> str:
    whole, rest = divmod(value, 10**digits)
    tail = f"{rest:0{digits}d}".rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def format_duration(delta: timedelta) -> str:
    """Go's ``Duration.String()``: ``"1h2m3.5s"``, ``"1.5ms"``, ``"0s"``."""
    nanos = (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos == 0:
        return "0s"
    if nanos < 10**3:
        return f"{sign}{nanos}ns"
    if nanos < 10**6:
        return f"{sign}{_frac(nanos, 3)}µs"
    if nanos < 10**9:
        return f"{sign}{_frac(nanos, 6)}ms"
    hours, rem = divmod(nanos, 3600 * 10**9)
    minutes, rem = divmod(rem, 60 * 10**9)
    out = f"{_frac(rem, 9)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{out}"
    if minutes:
        return f"{sign}{minutes}m{out}"
    return f"{sign}{out}"
