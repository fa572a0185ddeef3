"""Setting a job up: first status, plugin objects, claims, PodGroup; time helpers."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from job_builders import NOW, fixed_rand, job, task, with_status

from pyroclast.common.models import JobState, VolumeSpec
from pyroclast.common.models.core import PersistentVolumeClaimSpec
from pyroclast.common.models.scheduling import Cluster, PodGroupCondition, PodGroupStatus, Queue, QueueSpec
from pyroclast.controller.job.initiate import (
    initial_status,
    is_initiated,
    job_forwarding,
    mark_forwarding,
    prepare,
    queue_error,
)
from pyroclast.controller.job.podgroup import build_podgroup, pending_message
from pyroclast.controller.job.timeutil import format_duration, parse_duration
from pyroclast.controller.job.ttl import needs_cleanup, time_left


def test_new_job_gets_pending_status_objects_claims_and_podgroup() -> None:
    claim = PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"])
    j = job(task("t", 2), plugins={"svc": []}, volumes=[VolumeSpec(mount_path="/d", volume_claim=claim)])
    prep = prepare(j, NOW, podgroup=None, rand=fixed_rand)
    assert prep.error is None
    st = prep.job.status
    assert st is not None
    assert st.state is not None
    assert (st.state.phase, st.state.last_transition_time, st.min_available) == (
        "Pending",
        "2026-01-02T03:04:05Z",
        2,
    )
    assert [c.status for c in st.conditions or []] == ["Pending"]
    assert st.controlled_resources == {
        "plugin-svc": "svc",
        "volume-pvc-job-pvc-rrrrrrrrrrrr": "job-pvc-rrrrrrrrrrrr",
    }
    assert prep.status_changed
    assert prep.spec_changed
    assert prep.job.spec.volumes[0].volume_claim_name == "job-pvc-rrrrrrrrrrrr"  # type: ignore[index,union-attr]
    assert [c.metadata.name for c in prep.claims] == ["job-pvc-rrrrrrrrrrrr"]  # type: ignore[union-attr]
    assert [o.kind for o in prep.objects.upsert + prep.objects.ensure] == [
        "ConfigMap",
        "Service",
        "NetworkPolicy",
    ]
    assert prep.podgroup_create is not None
    assert prep.podgroup_create.metadata.name == "job-uid-1"  # type: ignore[union-attr]


def test_running_job_refreshes_plugins_and_podgroup() -> None:
    j = job(task("t", 2), phase="Running", plugins={"svc": []})
    assert is_initiated(j)
    pg = build_podgroup(job(task("t", 1)))
    prep = prepare(j, NOW, podgroup=pg)
    assert [o.kind for o in prep.objects.upsert] == ["ConfigMap"]
    assert prep.podgroup_update is not None
    assert prep.podgroup_update.spec.min_member == 2  # type: ignore[union-attr]
    assert prep.job is j


def test_errors_for_missing_claim_and_unknown_plugin() -> None:
    missing = job(task("t"), volumes=[VolumeSpec(mount_path="/d", volume_claim_name="gone")])
    prep = prepare(missing, NOW, podgroup=None)
    assert prep.reason == "PVCError"
    assert (
        prep.error == "pvc gone is not found, the job will be in the Pending state until the PVC is created"
    )
    assert prepare(job(task("t"), plugins={"x": []}), NOW, podgroup=None).reason == "PluginError"


def test_initial_status_only_once_and_forwarding() -> None:
    j = job(task("t"), phase="Running")
    assert initial_status(j, NOW) is j
    assert not job_forwarding(None)
    assert job_forwarding(Queue(spec=QueueSpec(extend_clusters=[Cluster(name="c")])))


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5s", timedelta(seconds=1.5)),
        ("300ms", timedelta(milliseconds=300)),
        ("0", timedelta(0)),
        ("-2m", timedelta(minutes=-2)),
    ],
)
def test_parse_duration(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("bad", ["", "5", "1x", "m"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=5), "5m0s"),
        (timedelta(hours=1, seconds=3.5), "1h0m3.5s"),
        (timedelta(milliseconds=1.5), "1.5ms"),
        (timedelta(microseconds=7), "7µs"),
        (timedelta(seconds=-61), "-1m1s"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


def test_forwarding_annotation_and_missing_queue() -> None:
    j = job(task("t"))
    forwarding = Queue(spec=QueueSpec(extend_clusters=[Cluster(name="c")]))
    marked = mark_forwarding(j, forwarding)
    assert marked is not None
    assert marked.metadata is not None
    assert marked.metadata.annotations == {"volcano.sh/job-forwarding": "true"}
    assert mark_forwarding(marked, forwarding) is None
    assert mark_forwarding(j, Queue(spec=QueueSpec())) is None
    assert queue_error(j, None) == "queue default not found"
    assert queue_error(j, Queue()) is None


def test_podgroup_pending_message() -> None:
    j = job(task("t"))
    pg = build_podgroup(j)
    assert pending_message(j, pg) is None
    conds = [
        PodGroupCondition(type="Scheduled", status="True", last_transition_time="2026-01-01T00:00:00Z"),
        PodGroupCondition(
            type="Unschedulable",
            status="True",
            last_transition_time="2026-01-01T00:00:05Z",
            message="1/0 tasks in gang unschedulable",
        ),
        PodGroupCondition(type="Scheduled", status="False", last_transition_time="2026-01-01T00:00:09Z"),
    ]
    pg = msgspec.structs.replace(pg, status=PodGroupStatus(conditions=conds))
    assert pending_message(j, pg) == "PodGroup ns:job unschedulable, reason: 1/0 tasks in gang unschedulable"
    conds[0] = msgspec.structs.replace(conds[0], last_transition_time="2026-01-01T00:00:07Z")
    pg = msgspec.structs.replace(pg, status=PodGroupStatus(conditions=conds))
    assert pending_message(j, pg) is None


def test_ttl_after_finished() -> None:
    done = job(task("t"), phase="Completed", ttl_seconds_after_finished=600)
    done = with_status(done, state=JobState(phase="Completed", last_transition_time="2026-01-02T03:00:00Z"))
    assert needs_cleanup(done)
    assert time_left(done, NOW) == timedelta(minutes=5, seconds=55)
    assert time_left(with_status(done, state=JobState(phase="Aborted")), NOW) is None
    assert time_left(job(task("t"), phase="Completed"), NOW) is None
    assert time_left(with_status(done, state=JobState(phase="Failed")), NOW) is None
