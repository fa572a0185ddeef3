"""PodGroup, Pod, JobFlow and CronJob rules, with Volcano's exact messages."""

from __future__ import annotations

from typing import Any

import pytest
from admission_support import BATCH, FLOW, SCHEDULING, cluster, queue, run

from pyroclast.webhook.admission import AdmissionConfig, Operation, ResourceGroup, apply_patch
from pyroclast.webhook.admission.cronjob import is_standard_cron

TOPOLOGY_BOTH = {"highestTierAllowed": 1, "highestTierName": "volcano.sh/hypernode"}
QUEUES = cluster(
    queue("default"),
    queue("closed", state="Closed"),
    namespaces={"team": {"scheduling.volcano.sh/queue-name": "team-q"}},
)


def podgroup(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": SCHEDULING,
        "kind": "PodGroup",
        "metadata": {"name": "pg", "namespace": "team"},
        "spec": spec,
    }


PODGROUP_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("open queue", podgroup(queue="default", minMember=1), ""),
    ("no queue", podgroup(minMember=1), ""),
    (
        "missing queue",
        podgroup(queue="nope"),
        'unable to find queue: queue.scheduling.volcano.sh "nope" not found',
    ),
    (
        "closed queue",
        podgroup(queue="closed"),
        "can only submit PodGroup to queue with state `Open`, queue `closed` status is `Closed`.",
    ),
    (
        "topology conflict",
        podgroup(queue="default", networkTopology=TOPOLOGY_BOTH),
        "must not specify 'highestTierAllowed' and 'highestTierName' in networkTopology simultaneously.",
    ),
    (
        "sub-group topology conflict",
        podgroup(
            subGroupPolicy=[
                {"name": "sg", "networkTopology": TOPOLOGY_BOTH},
                {"name": "sg2", "networkTopology": TOPOLOGY_BOTH},
            ]
        ),
        "in subGroupPolicy 'sg': must not specify 'highestTierAllowed' and 'highestTierName' "
        "in networkTopology simultaneously.",
    ),
    (
        "queue and topology",
        podgroup(queue="nope", networkTopology=TOPOLOGY_BOTH),
        'unable to find queue: queue.scheduling.volcano.sh "nope" not found; '
        "must not specify 'highestTierAllowed' and 'highestTierName' in networkTopology simultaneously.",
    ),
]


@pytest.mark.parametrize(
    ("manifest", "message"), [c[1:] for c in PODGROUP_CASES], ids=[c[0] for c in PODGROUP_CASES]
)
def test_podgroup_validate(manifest: dict[str, Any], message: str) -> None:
    verdict = run("/podgroups/validate", manifest, view=QUEUES)
    assert (verdict.allowed, verdict.message) == (not message, message)


def test_podgroup_validate_only_create() -> None:
    verdict = run("/podgroups/validate", podgroup(), operation=Operation.UPDATE, old=podgroup())
    assert verdict.message == "unsupported operation UPDATE"


def test_podgroup_mutate_takes_the_namespace_queue() -> None:
    manifest = podgroup(queue="default")
    verdict = run("/podgroups/mutate", manifest, view=QUEUES)
    assert apply_patch(manifest, verdict.patch)["spec"]["queue"] == "team-q"
    assert run("/podgroups/mutate", podgroup(queue="other"), view=QUEUES).patch == ()
    other_ns = {**manifest, "metadata": {"name": "pg", "namespace": "plain"}}
    assert run("/podgroups/mutate", other_ns, view=QUEUES).patch == ()


# --- pods -------------------------------------------------------------------------------------


def pod(annotations: dict[str, str] | None = None, scheduler: str = "volcano", **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "ns"}
    if annotations is not None:
        meta["annotations"] = annotations
    body = {"schedulerName": scheduler, "containers": [{"name": "c", "image": "i"}], **spec}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


MIN, MAX = "volcano.sh/jdb-min-available", "volcano.sh/jdb-max-unavailable"
POD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no annotations", pod(), ""),
    ("integer budget", pod({MIN: "2"}), ""),
    ("percentage budget", pod({MAX: "30%"}), ""),
    ("other scheduler", pod({MIN: "0"}, scheduler="default-scheduler"), ""),
    ("zero", pod({MIN: "0"}), f'invalid value <"0"> for {MIN}, it must be a positive integer'),
    (
        "int32 overflow",
        pod({MIN: "4294967296"}),
        f'invalid value <"4294967296"> for {MIN}, it must be a positive integer',
    ),
    (
        "percentage too big",
        pod({MAX: "150%"}),
        f'invalid value <"150%"> for {MAX}, it must be a valid percentage which between 1% ~ 99%',
    ),
    (
        "not a number",
        pod({MIN: "abc"}),
        f'invalid value strconv.Atoi: parsing "abc": invalid syntax for {MIN}',
    ),
    (
        "both",
        pod({MIN: "1", MAX: "1"}),
        f"not allow configure multiple annotations <[{MIN} {MAX}]> at same time",
    ),
]


@pytest.mark.parametrize(("manifest", "message"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_validate(manifest: dict[str, Any], message: str) -> None:
    verdict = run("/pods/validate", manifest)
    assert (verdict.allowed, verdict.message) == (not message, message)


def test_pod_mutate_needs_a_configuration() -> None:
    assert run("/pods/mutate", pod()).patch == ()


def test_pod_mutate_resource_groups() -> None:
    toleration = {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    groups = (
        ResourceGroup("by-ns", object_key="namespace", object_value=("other",), scheduler_name="x"),
        ResourceGroup(
            "gpu",
            object_key="annotation",
            object_value=("team: ml",),
            scheduler_name="volcano",
            tolerations=(toleration,),
            labels={"pool": "gpu"},
            affinity='{"nodeAffinity": {}}',
        ),
    )
    config = AdmissionConfig(resource_groups=groups)
    manifest = pod({"team": "ml"}, nodeSelector={"zone": "a"})
    out = apply_patch(manifest, run("/pods/mutate", manifest, config=config).patch)
    assert out["spec"]["nodeSelector"] == {"zone": "a", "pool": "gpu"}
    assert out["spec"]["tolerations"] == [toleration]
    assert out["spec"]["affinity"] == {"nodeAffinity": {}}
    assert run("/pods/mutate", pod({"team": "web"}), config=config).patch == ()
    default_key = AdmissionConfig(resource_groups=(ResourceGroup("rg", scheduler_name="s"),))
    tagged = pod({"volcano.sh/resource-group": "rg"}, scheduler="volcano")
    assert (
        apply_patch(tagged, run("/pods/mutate", tagged, config=default_key).patch)["spec"]["schedulerName"]
        == "s"
    )


def test_pod_mutate_scheduling_gate() -> None:
    config = AdmissionConfig(resource_groups=(), scheduling_gates_queue_admission=True)
    gate = {"name": "scheduling.volcano.sh/queue-allocation-gate"}
    manifest = pod({"scheduling.volcano.sh/queue-allocation-gate": "true"})
    assert apply_patch(manifest, run("/pods/mutate", manifest, config=config).patch)["spec"][
        "schedulingGates"
    ] == [gate]
    gated = pod({"scheduling.volcano.sh/queue-allocation-gate": "true"}, schedulingGates=[{"name": "other"}])
    out = apply_patch(gated, run("/pods/mutate", gated, config=config).patch)
    assert out["spec"]["schedulingGates"] == [{"name": "other"}, gate]
    assert run("/pods/mutate", out, config=config).patch == ()


# --- jobflows ---------------------------------------------------------------------------------


def jobflow(*flows: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": FLOW, "kind": "JobFlow", "metadata": {"name": "f"}, "spec": {"flows": list(flows)}}


def flow(name: str, *targets: str) -> dict[str, Any]:
    return {"name": name, "dependsOn": {"targets": list(targets)}} if targets else {"name": name}


JOBFLOW_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("chain", jobflow(flow("a"), flow("b", "a"), flow("c", "a", "b")), ""),
    ("diamond", jobflow(flow("a"), flow("b", "a"), flow("c", "a"), flow("d", "b", "c")), ""),
    ("undefined target", jobflow(flow("b", "a")), "jobflow Flow is not DAG: vertex is not defined: a"),
    ("cycle", jobflow(flow("a", "c"), flow("b", "a"), flow("c", "b")), "jobflow Flow is not DAG"),
    ("self loop", jobflow(flow("a", "a")), "jobflow Flow is not DAG"),
]


@pytest.mark.parametrize(
    ("manifest", "message"), [c[1:] for c in JOBFLOW_CASES], ids=[c[0] for c in JOBFLOW_CASES]
)
def test_jobflow_validate(manifest: dict[str, Any], message: str) -> None:
    verdict = run("/jobflows/validate", manifest)
    assert (verdict.allowed, verdict.message) == (not message, message)
    update = run("/jobflows/validate", manifest, operation=Operation.UPDATE, old=manifest)
    assert update.message == message


def test_jobflow_delete_is_refused() -> None:
    verdict = run("/jobflows/validate", jobflow(), operation=Operation.DELETE)
    assert verdict.message == "expect operation to be 'CREATE' or 'UPDATE'"


# --- cronjobs ---------------------------------------------------------------------------------


def cronjob(schedule: str = "*/5 * * * *", name: str = "cron", **spec: Any) -> dict[str, Any]:
    body = {"schedule": schedule, "jobTemplate": {"spec": {"tasks": []}}, **spec}
    return {"apiVersion": BATCH, "kind": "CronJob", "metadata": {"name": name}, "spec": body}


CRON_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("valid", cronjob(), ""),
    ("descriptor", cronjob("@every 1m"), ""),
    ("time zone", cronjob(timeZone="Pacific/Honolulu"), ""),
    ("empty schedule", cronjob(""), "schedule is required, but got empty"),
    (
        "TZ in schedule",
        cronjob("TZ=UTC 0 20 * * *", timeZone="Pacific/Honolulu"),
        "schedule should not contain TZ or CRON_TZ, TZ should only be set in the timeZone field",
    ),
    ("bad schedule", cronjob("error schedule"), "schedule is not a valid cron expression"),
    ("empty time zone", cronjob(timeZone=""), "timeZone must be nil or non-empty string, got empty string"),
    ("space in time zone", cronjob(timeZone="New York"), "unknown timeZone invalid timeZone"),
    ("dash in time zone", cronjob(timeZone="America/-NewYork"), "unknown timeZone invalid timeZone"),
    ("bang in time zone", cronjob(timeZone="UTC!"), "unknown timeZone invalid timeZone"),
    (
        "local time zone",
        cronjob(timeZone="Local"),
        "timeZone can't be Local, and must be defined in https://www.iana.org/time-zones",
    ),
    ("unknown time zone", cronjob(timeZone="Amerrica/New_York"), "invalid timeZone"),
    (
        "long name",
        cronjob(name="c" * 53),
        "cronJob name must be no more than 52 characters to accommodate job name suffix (max 63 total)",
    ),
    (
        "bad name and schedule",
        cronjob("x", name="-c"),
        'schedule is not a valid cron expression; invalid cronJob name "-c": '
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
        "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
        "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ),
]


@pytest.mark.parametrize(("manifest", "message"), [c[1:] for c in CRON_CASES], ids=[c[0] for c in CRON_CASES])
def test_cronjob_validate(manifest: dict[str, Any], message: str) -> None:
    verdict = run("/cronjobs/validate", manifest)
    assert (verdict.allowed, verdict.message) == (not message, message)
    update = run("/cronjobs/validate", manifest, operation=Operation.UPDATE, old=manifest)
    assert update.message == message


@pytest.mark.parametrize(
    ("spec", "valid"),
    [
        ("0 0 1 1 *", True),
        ("*/15 9-17 * * mon-fri", True),
        ("0 0 * JAN,jul SUN", True),
        ("5/10 * * * ?", True),
        ("@hourly", True),
        ("@every 1h30m", True),
        ("60 * * * *", False),
        ("* 24 * * *", False),
        ("* * 0 * *", False),
        ("* * * 13 *", False),
        ("* * * * 7", False),
        ("5-1 * * * *", False),
        ("*/0 * * * *", False),
        ("* * * *", False),
        ("0 * * * * *", False),
        ("@every x", False),
        ("@weird", False),
        ("1,,2 * * * *", False),
    ],
)
def test_standard_cron(spec: str, valid: bool) -> None:
    assert is_standard_cron(spec) is valid
