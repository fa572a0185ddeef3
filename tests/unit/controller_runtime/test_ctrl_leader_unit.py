"""Lease bookkeeping of the leader elector: expiry by local observation, transitions."""

from __future__ import annotations

from datetime import UTC, datetime

from pyroclast.common.models import Lease, ObjectMeta
from pyroclast.common.models.core import LeaseSpec
from pyroclast.controller.leader import LeaderElector, LeaderSettings, micro_time


def lease(holder: str, renewed: str, transitions: int = 0) -> Lease:
    return Lease(
        metadata=ObjectMeta(name="l", namespace="ns"),
        spec=LeaseSpec(
            holder_identity=holder,
            renew_time=renewed,
            lease_duration_seconds=10,
            acquire_time="2026-01-01T00:00:00.000000Z",
            lease_transitions=transitions,
        ),
    )


def elector(identity: str) -> LeaderElector:
    return LeaderElector(None, LeaderSettings(name="l", namespace="ns", identity=identity))  # type: ignore[arg-type]


def test_a_lease_expires_only_after_it_stopped_changing_for_its_duration() -> None:
    e = elector("b")
    assert not e._expired(lease("a", "t1"))
    e._observed_at -= 11  # ten seconds pass without a renewal
    assert e._expired(lease("a", "t1"))
    assert not e._expired(lease("a", "t2"))  # renewed: the clock starts again
    assert e._expired(lease("", "t2"))  # released


def test_taking_over_counts_a_transition_and_renewing_keeps_the_acquire_time() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    taken = elector("b")._spec(lease("a", "t1", transitions=2), now)
    assert (taken.holder_identity, taken.lease_transitions) == ("b", 3)
    assert taken.acquire_time == micro_time(now)
    renewed = elector("a")._spec(lease("a", "t1", transitions=2), now)
    assert renewed.lease_transitions == 2
    assert renewed.acquire_time == "2026-01-01T00:00:00.000000Z"
    assert renewed.renew_time == "2026-01-02T00:00:00.000000Z"
