"""Label and field selector parsing and matching."""

from __future__ import annotations

import pytest

from pyroclast.sandbox.apiserver.selectors import (
    Requirement,
    compile_field_selector,
    match_labels,
    parse_field_selector,
    parse_label_selector,
    selector_from_label_selector,
)
from pyroclast.sandbox.apiserver.status import ApiError


def test_parse_all_operators() -> None:
    reqs = parse_label_selector("a=b,c==d,e!=f,g in (h, i),j notin (k),l,!m")
    assert reqs == [
        Requirement("a", "=", ("b",)),
        Requirement("c", "=", ("d",)),
        Requirement("e", "!=", ("f",)),
        Requirement("g", "in", ("h", "i")),
        Requirement("j", "notin", ("k",)),
        Requirement("l", "exists"),
        Requirement("m", "!"),
    ]


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {"app": "db"}, False),
        ("app!=web", {}, True),
        ("tier in (fe,be)", {"tier": "be"}, True),
        ("tier notin (fe)", {"tier": "fe"}, False),
        ("tier notin (fe)", {}, True),
        ("tier", {"tier": ""}, True),
        ("!tier", {"tier": "x"}, False),
        ("example.com/role=x,app", {"example.com/role": "x", "app": "y"}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_matching(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert match_labels(parse_label_selector(selector), labels) is expected


@pytest.mark.parametrize("bad", ["a in (b", "a in b", "=b", "a=b=c d", "a==(b)"])
def test_malformed_label_selectors(bad: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_label_selector(bad)
    assert exc.value.code == 400


def test_label_selector_object() -> None:
    reqs = selector_from_label_selector(
        {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "c", "operator": "In", "values": ["d"]}]}
    )
    assert reqs is not None
    assert match_labels(reqs, {"a": "b", "c": "d"})
    assert not match_labels(reqs, {"a": "b"})


def test_field_selectors() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1"},
        "status": {"phase": "Running"},
    }
    match = compile_field_selector("Pod", "v1", parse_field_selector("spec.nodeName=n1,status.phase!=Failed"))
    assert match(pod)
    match = compile_field_selector("Pod", "v1", parse_field_selector("metadata.name==q"))
    assert not match(pod)
    event = {"metadata": {"name": "e"}, "involvedObject": {"name": "p", "kind": "Pod"}}
    assert compile_field_selector("Event", "v1", parse_field_selector("involvedObject.name=p"))(event)
    with pytest.raises(ApiError) as exc:
        compile_field_selector("ConfigMap", "v1", parse_field_selector("spec.nodeName=x"))
    assert exc.value.message == "field label not supported: spec.nodeName"
