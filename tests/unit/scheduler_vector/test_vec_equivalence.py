"""The vectorised session decides exactly what the scalar reference decides, on random clusters."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from vec_support import CORE, Case, assert_same, available_extra, cases, make_conf, run_one

from pyroclast.scheduler.api import snapshot

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(case=cases())
def test_vec_core_plugins_match_scalar(case: Case) -> None:
    conf = make_conf([list(CORE)], cache=case.cache)
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


@SETTINGS
@given(case=cases())
def test_vec_all_plugins_match_scalar(case: Case) -> None:
    extra = available_extra()
    if not extra:
        pytest.skip("no plugin beyond the core is registered")
    conf = make_conf([list(CORE), extra], cache=case.cache)
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


@settings(max_examples=25, deadline=None)
@given(case=cases())
def test_vec_allocate_only_matches_scalar(case: Case) -> None:
    """Allocate alone (no enqueue, no backfill), so pending podgroups and pipelining show."""
    conf = make_conf([list(CORE)], cache=case.cache, actions="allocate")
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )
