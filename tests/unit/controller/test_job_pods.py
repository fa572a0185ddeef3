"""Pods and claims built for a Volcano Job: names, labels, annotations, volumes, owners."""

from __future__ import annotations

import msgspec
from job_builders import fixed_rand, job, task

from pyroclast.common.models import ObjectMeta, PartitionPolicySpec, PodTemplateSpec, VolumeSpec
from pyroclast.common.models.core import PersistentVolumeClaimSpec
from pyroclast.controller.job import naming
from pyroclast.controller.job.pods import build_pod, plan_volume_claims


def test_pod_name_labels_and_annotations() -> None:
    j = job(task("worker", 2), task("ps", 1), queue="q1")
    p = build_pod(j, j.spec.tasks[0], 1, rand=fixed_rand)
    assert p.metadata is not None
    assert p.metadata.name == "job-worker-1"
    assert p.metadata.namespace == "ns"
    assert p.metadata.annotations == {
        "volcano.sh/task-index": "1",
        "volcano.sh/task-spec": "worker",
        "scheduling.k8s.io/group-name": "job-uid-1",
        "volcano.sh/job-name": "job",
        "volcano.sh/queue-name": "q1",
        "volcano.sh/job-version": "0",
        "volcano.sh/template-uid": "job-worker",
        "volcano.sh/job-retry-count": "0",
    }
    assert p.metadata.labels == {
        "volcano.sh/task-index": "1",
        "volcano.sh/job-name": "job",
        "volcano.sh/task-spec": "worker",
        "volcano.sh/job-namespace": "ns",
        "volcano.sh/queue-name": "q1",
    }


def test_owner_reference_is_controlling_job() -> None:
    j = job(task("t"))
    ref = build_pod(j, j.spec.tasks[0], 0).metadata.owner_references[0]  # type: ignore[index,union-attr]
    assert (ref.api_version, ref.kind, ref.name, ref.uid) == (
        "batch.volcano.sh/v1alpha1",
        "Job",
        "job",
        "uid-1",
    )
    assert ref.controller is True
    assert ref.block_owner_deletion is True


def test_template_labels_kept_and_version_and_retry_annotated() -> None:
    t = task("t")
    t = msgspec.structs.replace(
        t,
        template=msgspec.structs.replace(
            t.template, metadata=ObjectMeta(labels={"app": "x"}, annotations={"a": "b"})
        ),
    )
    j = job(t, phase="Running", status={"version": 4, "retry_count": 2})
    meta = build_pod(j, t, 0).metadata
    assert meta is not None
    assert meta.labels is not None
    assert meta.annotations is not None
    assert meta.labels["app"] == "x"
    assert meta.annotations["a"] == "b"
    assert meta.annotations["volcano.sh/job-version"] == "4"
    assert meta.annotations["volcano.sh/job-retry-count"] == "2"


def test_scheduler_and_priority_class_from_job_unless_template_sets_them() -> None:
    j = job(task("a"), task("b", priority_class="own"), scheduler_name="volcano", priority_class_name="high")
    a = build_pod(j, j.spec.tasks[0], 0).spec
    b = build_pod(j, j.spec.tasks[1], 0).spec
    assert a is not None
    assert b is not None
    assert (a.scheduler_name, a.priority_class_name) == ("volcano", "high")
    assert b.priority_class_name == "own"


def test_scheduler_defaults_to_volcano() -> None:
    j = job(task("a"), scheduler_name=None)
    p = build_pod(j, task("a"), 0)
    assert p.spec is not None
    assert p.spec.scheduler_name == "volcano"


def test_job_annotations_and_labels_copied() -> None:
    j = job(task("t"))
    j = msgspec.structs.replace(
        j,
        metadata=msgspec.structs.replace(
            j.metadata,
            annotations={
                "volcano.sh/preemptable": "true",
                "volcano.sh/revocable-zone": "*",
                "volcano.sh/jdb-min-available": "1",
                "volcano.sh/jdb-max-unavailable": "2",
                "other": "x",
            },
            labels={"volcano.sh/cooldown-time": "60s", "other": "y"},
        ),
    )
    meta = build_pod(j, j.spec.tasks[0], 0).metadata
    assert meta is not None
    assert meta.annotations is not None
    assert meta.labels is not None
    assert meta.annotations["volcano.sh/preemptable"] == "true"
    assert meta.annotations["volcano.sh/revocable-zone"] == "*"
    assert meta.annotations["volcano.sh/jdb-min-available"] == "1"
    assert "volcano.sh/jdb-max-unavailable" not in meta.annotations
    assert "other" not in meta.annotations
    assert meta.labels["volcano.sh/cooldown-time"] == "60s"
    assert "other" not in meta.labels


def test_topology_policy_partition_and_forwarding() -> None:
    t = task(
        "t",
        5,
        topology_policy="best-effort",
        partition_policy=PartitionPolicySpec(total_partitions=3, partition_size=2),
    )
    j = job(t)
    p = build_pod(j, t, 3, job_forwarding=True)
    assert p.metadata is not None
    assert p.metadata.labels is not None
    assert p.metadata.annotations is not None
    assert p.metadata.annotations["volcano.sh/numa-topology-policy"] == "best-effort"
    assert p.metadata.labels["volcano.sh/partition-id"] == "1"
    assert p.metadata.labels["volcano.sh/job-forwarding"] == "true"
    assert p.metadata.annotations["volcano.sh/job-forwarding"] == "true"


def test_unnamed_task_uses_default_task_spec() -> None:
    t = msgspec.structs.replace(task("x"), name=None)
    p = build_pod(job(t), t, 0)
    assert p.metadata is not None
    assert p.metadata.annotations is not None
    assert p.metadata.annotations["volcano.sh/task-spec"] == "default"


def test_job_volumes_mounted_in_every_container_once_per_claim() -> None:
    t = task("t")
    t = msgspec.structs.replace(
        t,
        template=PodTemplateSpec(
            spec=msgspec.structs.replace(
                t.template.spec,
                containers=[*t.template.spec.containers, *t.template.spec.containers],
            )
        ),
    )
    vols = [
        VolumeSpec(mount_path="/data", volume_claim_name="claim-a"),
        VolumeSpec(mount_path="/again", volume_claim_name="claim-a"),
        VolumeSpec(mount_path="/out", volume_claim_name="claim-b"),
    ]
    p = build_pod(job(t, volumes=vols), t, 0, rand=fixed_rand)
    assert p.spec is not None
    assert p.spec.volumes is not None
    assert p.spec.containers is not None
    assert [(v.name, v.persistent_volume_claim.claim_name) for v in p.spec.volumes] == [  # type: ignore[union-attr]
        ("job-rrrrrrrrrrrr", "claim-a"),
        ("job-rrrrrrrrrrrr", "claim-b"),
    ]
    for c in p.spec.containers:
        assert [(m.mount_path, m.name) for m in c.volume_mounts or []] == [
            ("/data", "job-rrrrrrrrrrrr"),
            ("/out", "job-rrrrrrrrrrrr"),
        ]


def test_claims_generated_for_unnamed_volumes() -> None:
    claim = PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"])
    j = job(
        task("t"),
        volumes=[
            VolumeSpec(mount_path="/d", volume_claim=claim),
            VolumeSpec(mount_path="/e", volume_claim_name="mine"),
        ],
    )
    names = iter(["taken0000000", "fresh0000000"])
    plan = plan_volume_claims(j, existing={"job-pvc-taken0000000", "mine"}, rand=lambda n: next(names))
    assert not plan.missing
    assert plan.spec_changed
    assert [v.volume_claim_name for v in plan.volumes] == ["job-pvc-fresh0000000", "mine"]
    assert len(plan.create) == 1
    pvc = plan.create[0]
    assert pvc.metadata is not None
    assert pvc.metadata.name == "job-pvc-fresh0000000"
    assert pvc.metadata.owner_references[0].kind == "Job"  # type: ignore[index]
    assert pvc.spec == claim
    assert plan.controlled_resources == {
        "volume-pvc-job-pvc-fresh0000000": "job-pvc-fresh0000000",
        "volume-pvc-mine": "mine",
    }


def test_missing_named_claim_reported() -> None:
    plan = plan_volume_claims(
        job(task("t"), volumes=[VolumeSpec(mount_path="/d", volume_claim_name="nope")]), existing=()
    )
    assert plan.missing == ["nope"]


def test_naming_helpers() -> None:
    j = job(task("t"))
    assert naming.podgroup_name(j) == "job-uid-1"
    assert naming.legacy_podgroup_name(j) == "job"
    assert naming.pvc_name("job", fixed_rand) == "job-pvc-rrrrrrrrrrrr"
    assert len(naming.random_str(12)) == 12
    assert set(naming.random_str(50)) <= set("0123456789abcdefghijklmnopqrstuvwxyz")
    p = build_pod(j, j.spec.tasks[0], 7)
    assert naming.pod_index(p) == "7"
    assert naming.task_key(p) == "t"
    assert naming.controlled_by_job(p) is not None
