"""Conversion between versions that share storage: events.k8s.io/v1 Event is a view of the
core/v1 Event stored under ``core/events`` (kube's field mapping)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# (events.k8s.io/v1 field, core/v1 field)
EVENT_FIELDS = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)
SHARED = ("metadata", "eventTime", "series", "action", "reason", "related", "type", "reportingInstance")


def core_event_to_v1(obj: Obj) -> Obj:
    out: Obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for key in SHARED:
        if obj.get(key) not in (None, "", {}):
            out[key] = obj[key]
    for new, old in EVENT_FIELDS:
        if obj.get(old) not in (None, "", {}, 0):
            out[new] = obj[old]
    return out


def v1_event_to_core(obj: Obj) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "Event"}
    for key in SHARED:
        if key in obj:
            out[key] = obj[key]
    for new, old in EVENT_FIELDS:
        if new in obj:
            out[old] = obj[new]
    return out
