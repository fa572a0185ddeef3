"""Float resources: Volcano's float64 Resource operations used by proportion and overcommit."""

from __future__ import annotations

from pyroclast.common.resources import INFINITY, ZERO, Resource
from pyroclast.scheduler.plugins.fresource import FRes, fmax


def test_of_and_names() -> None:
    r = FRes.of(Resource(1500, 0, {"pods": 1000, "x": 0}))
    assert r == FRes(1500.0, 0.0, {"pods": 1000.0, "x": 0.0})
    assert r.names() == ["cpu", "pods"]


def test_less_equal_tolerance() -> None:
    assert FRes(1000.05, 0).less_equal(FRes(1000, 0))
    assert not FRes(1000.2, 0).less_equal(FRes(1000, 0))
    assert FRes(0, 0, {"gpu": 1}).less_equal(FRes(0, 0), INFINITY)
    assert not FRes(0, 0, {"gpu": 1}).less_equal(FRes(0, 0), ZERO)


def test_min_dimension_defaults() -> None:
    r = FRes(5, 5, {"a": 3, "b": 3})
    assert r.min_dimension(FRes(4, 6, {"a": 1}), INFINITY) == FRes(4, 5, {"a": 1, "b": 3})
    assert r.min_dimension(FRes(4, 6, {"a": 1}), ZERO) == FRes(4, 5, {"a": 1, "b": 0})


def test_diff_and_exceeded_part() -> None:
    inc, dec = FRes(5, 1, {"a": 2}).diff(FRes(3, 4, {"b": 1}))
    assert inc == FRes(2, 0, {"a": 2})
    assert dec == FRes(0, 3, {"b": 1})
    assert FRes(5, 1).exceeded_part(FRes(3, 4)) == FRes(2, 0, {})


def test_exceeding_and_is_empty() -> None:
    req = FRes(1, 0, {"pods": 1, "gpu": 1})
    assert FRes(2, 9, {"pods": 9, "gpu": 2}).exceeding(FRes(1, 0, {"gpu": 1}), req) == ["cpu", "gpu"]
    assert FRes(0.05, 0.05, {"pods": 5}).is_empty()
    assert not FRes(0, 0, {"gpu": 0.2}).is_empty()
    assert fmax(FRes(1, 2), FRes(2, 1)) == FRes(2, 2)
