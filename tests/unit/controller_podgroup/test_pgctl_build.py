"""Podgroups for plain pods and workload pods, named and filled as Volcano does."""

from __future__ import annotations

from pyroclast.common.models import (
    Container,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodGroup,
    PodGroupSpec,
    PodSpec,
    ReplicaSet,
    ResourceRequirements,
)
from pyroclast.common.models.core import ReplicaSetSpec, StatefulSet, StatefulSetSpec, StatefulSetStatus
from pyroclast.common.models.meta import LabelSelector
from pyroclast.controller.podgroup import (
    CreatePodGroup,
    DeletePodGroup,
    PatchPod,
    PodGroupWorld,
    UpdatePodGroup,
    pod_annotation_patch,
    podgroup_for_pod,
    podgroup_name,
    reconcile_pod,
    reconcile_replicaset,
    reconcile_statefulset,
)

RS_REF = OwnerReference(
    api_version="apps/v1",
    kind="ReplicaSet",
    name="web-7d9",
    uid="rs-uid",
    controller=True,
    block_owner_deletion=True,
)


def pod(
    name: str = "p",
    uid: str = "pod-uid",
    scheduler: str = "volcano",
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    owners: list[OwnerReference] | None = None,
    cpu: str = "1",
) -> Pod:
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace="ns",
            uid=uid,
            annotations=annotations,
            labels=labels,
            owner_references=owners,
        ),
        spec=PodSpec(
            scheduler_name=scheduler,
            priority_class_name="high",
            containers=[
                Container(name="c", resources=ResourceRequirements(requests={"cpu": cpu, "memory": "1Gi"}))
            ],
        ),
    )


def test_pgctl_standalone_pod() -> None:
    p = pod(annotations={"scheduling.volcano.sh/queue-name": "eng", "volcano.sh/preemptable": "true"})
    pg = podgroup_for_pod(p, PodGroupWorld())
    assert pg is not None
    assert pg.metadata is not None
    assert pg.spec is not None
    assert pg.metadata.name == "podgroup-pod-uid" == podgroup_name(p)
    assert pg.metadata.namespace == "ns"
    ref = pg.metadata.owner_references
    assert ref == [
        OwnerReference(
            api_version="v1", kind="Pod", name="p", uid="pod-uid", controller=True, block_owner_deletion=True
        )
    ]
    assert pg.spec.min_member == 1
    assert pg.spec.queue == "eng"
    assert pg.spec.priority_class_name == "high"
    assert pg.spec.min_resources == {
        "count/pods": "1",
        "cpu": "1",
        "memory": "1Gi",
        "pods": "1",
        "requests.cpu": "1",
        "requests.memory": "1Gi",
    }
    assert pg.metadata.annotations == {"volcano.sh/preemptable": "true"}
    assert pg.status is not None
    assert pg.status.phase == "Pending"
    assert pod_annotation_patch(p, "podgroup-pod-uid") == {
        "metadata": {"annotations": {"scheduling.k8s.io/group-name": "podgroup-pod-uid"}}
    }


def test_pgctl_pod_without_queue_annotation_leaves_queue_to_defaults() -> None:
    pg = podgroup_for_pod(pod(), PodGroupWorld())
    assert pg is not None
    assert pg.spec is not None
    assert pg.spec.queue is None


def test_pgctl_deployment_pod_takes_replicaset_uid_and_annotations() -> None:
    p = pod(owners=[RS_REF])
    rs_annotations = {
        "scheduling.volcano.sh/group-min-member": "3",
        "volcano.sh/sla-waiting-time": "10m",
        "deployment.kubernetes.io/revision": "1",
    }
    world = PodGroupWorld(owner_annotations={("ReplicaSet", "ns", "web-7d9"): rs_annotations})
    pg = podgroup_for_pod(p, world)
    assert pg is not None
    assert pg.metadata is not None
    assert pg.spec is not None
    assert pg.metadata.name == "podgroup-rs-uid"
    assert pg.metadata.owner_references == [RS_REF]
    assert pg.spec.min_member == 3
    assert pg.spec.min_resources is not None
    assert pg.spec.min_resources["cpu"] == "3"
    assert pg.metadata.annotations == {"volcano.sh/sla-waiting-time": "10m"}


def test_pgctl_owner_annotations_off_means_min_member_one() -> None:
    world = PodGroupWorld(
        owner_annotations={("ReplicaSet", "ns", "web-7d9"): {"scheduling.volcano.sh/group-min-member": "3"}},
        inherit_owner_annotations=False,
    )
    pg = podgroup_for_pod(pod(owners=[RS_REF]), world)
    assert pg is not None
    assert pg.spec is not None
    assert pg.spec.min_member == 1


def test_pgctl_bad_min_member_falls_back_to_one() -> None:
    for text in ("x", "-2", "99999999999"):
        world = PodGroupWorld(
            owner_annotations={
                ("ReplicaSet", "ns", "web-7d9"): {"scheduling.volcano.sh/group-min-member": text}
            }
        )
        pg = podgroup_for_pod(pod(owners=[RS_REF]), world)
        assert pg is not None
        assert pg.spec is not None
        assert pg.spec.min_member == 1


def test_pgctl_pod_with_existing_group_or_other_scheduler_is_skipped() -> None:
    grouped = pod(annotations={"scheduling.k8s.io/group-name": "mine"})
    assert podgroup_for_pod(grouped, PodGroupWorld()) is None
    assert reconcile_pod(grouped, PodGroupWorld()).ops == []
    other = pod(scheduler="default-scheduler")
    assert podgroup_for_pod(other, PodGroupWorld()) is None
    assert podgroup_for_pod(other, PodGroupWorld(scheduler_names=("default-scheduler",))) is not None


def test_pgctl_reconcile_pod_creates_then_patches() -> None:
    plan = reconcile_pod(pod(), PodGroupWorld())
    assert [type(op) for op in plan.ops] == [CreatePodGroup, PatchPod]
    existing = {"ns/podgroup-pod-uid": PodGroup(metadata=ObjectMeta(name="podgroup-pod-uid", namespace="ns"))}
    plan = reconcile_pod(pod(), PodGroupWorld(podgroups=existing))
    assert plan.ops == [
        PatchPod(
            "ns", "p", {"metadata": {"annotations": {"scheduling.k8s.io/group-name": "podgroup-pod-uid"}}}
        )
    ]


def test_pgctl_network_topology_and_jdb_annotations() -> None:
    p = pod(
        annotations={
            "volcano.sh/network-topology-mode": "SOFT",
            "volcano.sh/network-topology-highest-tier": "2",
            "volcano.sh/jdb-min-available": "1",
            "volcano.sh/jdb-max-unavailable": "2",
        },
        labels={"volcano.sh/preemptable": "false"},
    )
    pg = podgroup_for_pod(p, PodGroupWorld())
    assert pg is not None
    assert pg.spec is not None
    assert pg.metadata is not None
    assert pg.spec.network_topology is not None
    assert (pg.spec.network_topology.mode, pg.spec.network_topology.highest_tier_allowed) == ("soft", 2)
    assert pg.metadata.annotations == {"volcano.sh/jdb-min-available": "1"}
    assert pg.metadata.labels == {"volcano.sh/preemptable": "false"}


def rs(replicas: int | None) -> ReplicaSet:
    return ReplicaSet(
        metadata=ObjectMeta(name="web-7d9", namespace="ns", uid="rs-uid"),
        spec=ReplicaSetSpec(replicas=replicas, selector=LabelSelector(match_labels={"app": "web"})),
    )


def test_pgctl_replicaset_scaled_to_zero_deletes_its_podgroup() -> None:
    assert reconcile_replicaset(rs(0), PodGroupWorld()).ops == [DeletePodGroup("ns", "podgroup-rs-uid")]


def test_pgctl_replicaset_update_refreshes_podgroup() -> None:
    p = pod("web-1", labels={"app": "web"}, owners=[RS_REF], cpu="2")
    stale = PodGroup(
        metadata=ObjectMeta(name="podgroup-rs-uid", namespace="ns", resource_version="7"),
        spec=PodGroupSpec(min_member=1, min_resources={"cpu": "1"}),
    )
    world = PodGroupWorld(
        podgroups={"ns/podgroup-rs-uid": stale}, pods=[p, pod("other", labels={"app": "db"})]
    )
    plan = reconcile_replicaset(rs(2), world)
    assert [type(op) for op in plan.ops] == [UpdatePodGroup, PatchPod]
    (update,) = plan.of(UpdatePodGroup)
    updated = update.podgroup
    assert updated.metadata is not None
    assert updated.metadata.resource_version == "7"
    assert updated.spec is not None
    assert updated.spec.min_resources is not None
    assert updated.spec.min_resources["cpu"] == "2"
    assert reconcile_replicaset(rs(2), PodGroupWorld()).ops == []


def test_pgctl_statefulset_uses_update_revision_pods() -> None:
    sts = StatefulSet(
        metadata=ObjectMeta(name="db", namespace="ns", uid="sts-uid"),
        spec=StatefulSetSpec(replicas=1, selector=LabelSelector(match_labels={"app": "db"})),
        status=StatefulSetStatus(update_revision="db-2"),
    )
    ref = OwnerReference(api_version="apps/v1", kind="StatefulSet", name="db", uid="sts-uid", controller=True)
    old = pod("db-0", uid="u0", labels={"app": "db", "controller-revision-hash": "db-1"}, owners=[ref])
    assert reconcile_statefulset(sts, PodGroupWorld(pods=[old])).ops == []
    new = pod("db-0", uid="u1", labels={"app": "db", "controller-revision-hash": "db-2"}, owners=[ref])
    plan = reconcile_statefulset(sts, PodGroupWorld(pods=[old, new]))
    created = plan.of(CreatePodGroup)
    assert created
    assert created[0].podgroup.metadata.name == "podgroup-sts-uid"


def test_pgctl_owner_annotations_first_owner_wins() -> None:
    from pyroclast.controller.podgroup.build import owner_annotations

    refs = [
        OwnerReference(kind="ReplicaSet", name="r", uid="1"),
        OwnerReference(kind="Job", name="j", uid="2"),
        OwnerReference(kind="Deployment", name="d", uid="3"),
    ]
    found = owner_annotations(
        pod(owners=refs),
        {
            ("ReplicaSet", "ns", "r"): {"k": "from-rs"},
            ("Job", "ns", "j"): {"k": "from-job", "only-job": "1"},
            ("Deployment", "ns", "d"): {"dep": "ignored"},
        },
    )
    assert found == {"k": "from-rs", "only-job": "1"}


def test_pgctl_pod_owned_without_controller_gets_its_own_group() -> None:
    loose = OwnerReference(api_version="v1", kind="ConfigMap", name="cm", uid="cm-uid")
    p = pod(owners=[loose])
    pg = podgroup_for_pod(p, PodGroupWorld())
    assert pg is not None
    assert pg.metadata is not None
    assert pg.metadata.name == "podgroup-pod-uid"
    refs = pg.metadata.owner_references or []
    assert [r.kind for r in refs] == ["Pod"]
