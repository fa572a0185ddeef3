"""``/jobs/validate``: every create and update rule, with Volcano's exact messages."""

from __future__ import annotations

from typing import Any

import pytest
from admission_support import OPEN_DEFAULT, cluster, container, job, queue, run, task

from pyroclast.webhook.admission import AdmissionConfig, Operation
from pyroclast.webhook.admission.job_checks import POLICY_HINT
from pyroclast.webhook.admission.job_validate import UPDATE_FORBIDDEN

EVENTS = "[* PodFailed PodEvicted PodPending Unknown TaskCompleted TaskFailed JobUpdated]"
ACTIONS = "[AbortJob RestartJob RestartTask RestartPod RestartPartition TerminateJob CompleteJob ResumeJob]"
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
QNAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def multi(message: str) -> str:
    return f"1 error occurred:\n\t* {message}\n\n{POLICY_HINT}"


def with_tasks(*tasks: dict[str, Any], **spec: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = job(tasks=list(tasks), **spec)
    return manifest


def policy(**fields: Any) -> dict[str, Any]:
    return fields


PARTITION = {"totalPartitions": 2, "partitionSize": 2}
TOPOLOGY_BOTH = {"highestTierAllowed": 1, "highestTierName": "volcano.sh/hypernode"}
TOPOLOGY_CONFLICT = (
    "must not specify 'highestTierAllowed' and 'highestTierName' in networkTopology simultaneously"
)

CREATE_DENIED: list[tuple[str, dict[str, Any], str]] = [
    ("no tasks", job(tasks=[]), "No task specified in job spec"),
    (
        "duplicate task names",
        with_tasks(task("t"), task("t")),
        "duplicated task name t;",
    ),
    (
        "job minAvailable above replicas",
        job(minAvailable=5),
        "job 'minAvailable' should not be greater than total replicas in tasks;",
    ),
    (
        "task minAvailable above replicas",
        with_tasks(task(replicas=2, minAvailable=3)),
        "'minAvailable' is greater than 'replicas' in task: task-1, job: job-1;",
    ),
    ("unknown plugin", job(plugins={"big_plugin": []}), "unable to find job plugin: big_plugin;"),
    (
        "event and exitCode",
        job(policies=[policy(event="PodFailed", exitCode=1, action="AbortJob")]),
        multi("must not specify event and exitCode simultaneously"),
    ),
    (
        "neither event nor exitCode",
        job(policies=[policy(action="AbortJob")]),
        multi("either event and exitCode should be specified"),
    ),
    (
        "unknown event",
        job(policies=[policy(event="Foo", action="AbortJob")]),
        multi('spec.policies: Invalid value: "Foo": invalid policy event'),
    ),
    (
        "internal event",
        job(policies=[policy(event="OutOfSync", action="AbortJob")]),
        multi('spec.policies: Invalid value: "OutOfSync": invalid policy event'),
    ),
    (
        "unknown action",
        job(policies=[policy(event="PodFailed", action="Explode")]),
        multi('spec.policies: Invalid value: "Explode": invalid policy action'),
    ),
    (
        "internal action",
        job(policies=[policy(event="PodFailed", action="SyncJob")]),
        multi('spec.policies: Invalid value: "SyncJob": invalid policy action'),
    ),
    (
        "missing action",
        job(policies=[policy(event="PodFailed")]),
        multi('spec.policies: Invalid value: "": invalid policy action'),
    ),
    (
        "exit code zero",
        job(policies=[policy(exitCode=0, action="AbortJob")]),
        multi("0 is not a valid error code"),
    ),
    (
        "duplicate exit code",
        job(policies=[policy(exitCode=1, action="AbortJob"), policy(exitCode=1, action="RestartJob")]),
        multi("duplicate exitCode 1"),
    ),
    (
        "duplicate event",
        job(
            policies=[
                policy(event="PodFailed", action="AbortJob"),
                policy(events=["PodFailed"], action="RestartJob"),
            ]
        ),
        multi("duplicate event PodFailed  across different policy"),
    ),
    (
        "any event with others",
        job(policies=[policy(event="*", action="AbortJob"), policy(event="PodEvicted", action="RestartJob")]),
        multi("if there's * here, no other policy should be here"),
    ),
    (
        "task policies",
        with_tasks(task(policies=[policy(event="Nope", action="AbortJob")])),
        multi('spec.tasks.policies: Invalid value: "Nope": invalid policy event'),
    ),
    (
        "empty mount path",
        job(volumes=[{"mountPath": "", "volumeClaimName": "pvc"}]),
        "mountPath is required;",
    ),
    (
        "duplicate mount path",
        job(
            volumes=[
                {"mountPath": "/var", "volumeClaimName": "a"},
                {"mountPath": "/var", "volumeClaimName": "b"},
            ]
        ),
        "duplicated mountPath: /var;",
    ),
    (
        "volume without claim",
        job(volumes=[{"mountPath": "/var"}]),
        "either VolumeClaim or VolumeClaimName must be specified;",
    ),
    (
        "volume with both claims",
        job(
            volumes=[
                {
                    "mountPath": "/var",
                    "volumeClaimName": "a",
                    "volumeClaim": {"accessModes": ["ReadWriteOnce"]},
                }
            ]
        ),
        "conflict: If you want to use an existing PVC, just specify VolumeClaimName."
        "If you want to create a new PVC, you do not need to specify VolumeClaimName",
    ),
    (
        "bad claim name",
        job(volumes=[{"mountPath": "/var", "volumeClaimName": "Bad_Name"}]),
        f"invalid VolumeClaimName Bad_Name : [{SUBDOMAIN}]",
    ),
    (
        "missing queue",
        job(queue="nope"),
        'unable to find job queue: queue.scheduling.volcano.sh "nope" not found;',
    ),
    (
        "closed queue",
        job(queue="closed"),
        "can only submit job to queue with state `Open`, queue `closed` status is `Closed`;",
    ),
    ("root queue", job(queue="root"), "can not submit job to root queue;"),
    (
        "non-leaf queue",
        job(queue="parent"),
        "can only submit job to leaf queue, queue `parent` has 1 child queues;",
    ),
    (
        "dependency cycle",
        with_tasks(task("a", dependsOn={"name": ["b"]}), task("b", dependsOn={"name": ["a"]})),
        "job has dependencies between tasks, but doesn't form a directed acyclic graph(DAG);",
    ),
    (
        "dependency on a missing task",
        with_tasks(task("a", dependsOn={"name": ["c"]}), task("b")),
        "job has dependencies between tasks, but doesn't form a directed acyclic graph(DAG);",
    ),
    (
        "mpi master missing",
        with_tasks(task("worker"), plugins={"mpi": ["--master=launcher"]}),
        "The specified mpi master task was not found",
    ),
    (
        "mpi default master missing",
        with_tasks(task("worker"), plugins={"mpi": []}),
        "The specified mpi master task was not found",
    ),
    (
        "total partitions zero",
        with_tasks(task(replicas=4, partitionPolicy={"totalPartitions": 0, "partitionSize": 2})),
        "'TotalPartitions' must be greater than 0 in task: task-1, job: job-1",
    ),
    (
        "partition size zero",
        with_tasks(task(replicas=4, partitionPolicy={"totalPartitions": 2, "partitionSize": 0})),
        "'PartitionSize' must be greater than 0 in task: task-1, job: job-1",
    ),
    (
        "replicas not partitions times size",
        with_tasks(task(replicas=3, partitionPolicy=PARTITION)),
        "'Replicas' are not equal to TotalPartitions*PartitionSize in task: task-1, job: job-1",
    ),
    (
        "minAvailable not minPartitions times size",
        with_tasks(task(replicas=4, minAvailable=3, partitionPolicy={**PARTITION, "minPartitions": 1})),
        "'MinAvailable' is not equal to MinPartitions*PartitionSize in task: task-1, job: job-1",
    ),
    (
        "partition topology conflict",
        with_tasks(task(replicas=4, partitionPolicy={**PARTITION, "networkTopology": TOPOLOGY_BOTH})),
        TOPOLOGY_CONFLICT,
    ),
    ("job topology conflict", job(networkTopology=TOPOLOGY_BOTH), TOPOLOGY_CONFLICT),
    (
        "pod name too long",
        job("j" * 55, tasks=[task("task-1")]),
        f"create pod with name {'j' * 55}-task-1-0 validate failed "
        "[name part must be no more than 63 bytes];",
    ),
    (
        "bad job name",
        job("-bad"),
        f"create pod with name -bad-task-1-0 validate failed [{QNAME}];"
        f"create job with name -bad validate failed [{QNAME}]",
    ),
    (
        "task name not a subdomain",
        with_tasks(task("Task1")),
        f'spec.task[0].metadata.name: Invalid value: "Task1": {SUBDOMAIN}.',
    ),
    (
        "no containers",
        with_tasks({"name": "t", "replicas": 1, "template": {"spec": {}}}),
        "spec.task[0].template.spec.containers: Required value.",
    ),
    (
        "container without image and name",
        with_tasks(task(template={"spec": {"containers": [{}]}})),
        "spec.task[0].template.spec.containers[0].name: Required value. "
        "template.spec.containers[0].image: Required value.",
    ),
    (
        "container name not a label",
        with_tasks(task(template={"spec": {"containers": [container("Main")]}})),
        f'spec.task[0].template.spec.containers[0].name: Invalid value: "Main": {LABEL}.',
    ),
    (
        "duplicate container names",
        with_tasks(task(template={"spec": {"containers": [container("a"), container("a")]}})),
        'spec.task[0].template.spec.containers[1].name: Duplicate value: "a".',
    ),
    (
        "requests above limits",
        with_tasks(
            task(
                template={
                    "spec": {
                        "containers": [container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": 1}})]
                    }
                }
            )
        ),
        'spec.task[0].template.spec.containers[0].resources.requests: Invalid value: "2": '
        "must be less than or equal to cpu limit of 1.",
    ),
    (
        "negative request",
        with_tasks(
            task(template={"spec": {"containers": [container(resources={"requests": {"memory": "-1Gi"}})]}})
        ),
        'spec.task[0].template.spec.containers[0].resources.requests[memory]: Invalid value: "-1Gi": '
        "must be greater than or equal to 0.",
    ),
    (
        "unsupported restart policy",
        with_tasks(task(template={"spec": {"containers": [container()], "restartPolicy": "Sometimes"}})),
        'spec.task[0].template.spec.restartPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "OnFailure", "Never".',
    ),
    (
        "numa policy without whole cpus",
        with_tasks(
            task(
                topologyPolicy="restricted",
                template={"spec": {"containers": [container(resources={"limits": {"cpu": "500m"}})]}},
            )
        ),
        "the cpu request isn't an integer in spec.task[0] container[0].",
    ),
    (
        "several problems",
        job(minAvailable=3, plugins={"nope": []}, queue="nope"),
        "job 'minAvailable' should not be greater than total replicas in tasks; "
        "unable to find job plugin: nope; "
        'unable to find job queue: queue.scheduling.volcano.sh "nope" not found;',
    ),
]

CREATE_ALLOWED: list[tuple[str, dict[str, Any]]] = [
    ("simple", job()),
    (
        "policies",
        job(
            policies=[policy(event="PodEvicted", action="RestartJob"), policy(exitCode=3, action="AbortJob")]
        ),
    ),
    ("any event alone", job(policies=[policy(event="*", action="RestartJob")])),
    (
        "volumes",
        job(volumes=[{"mountPath": "/a", "volumeClaimName": "pvc"}, {"mountPath": "/b", "volumeClaim": {}}]),
    ),
    ("dag", with_tasks(task("a", dependsOn={"name": ["b"]}), task("b"), minAvailable=2)),
    ("mpi master", with_tasks(task("launcher"), task("worker"), plugins={"mpi": ["--master=launcher"]})),
    ("known plugins", job(plugins={"ssh": [], "env": [], "svc": [], "pytorch": ["--master=task-1"]})),
    (
        "partitions",
        with_tasks(task(replicas=4, minAvailable=2, partitionPolicy={**PARTITION, "minPartitions": 1})),
    ),
    (
        "partitions without minPartitions",
        with_tasks(task(replicas=4, minAvailable=3, partitionPolicy=PARTITION)),
    ),
    ("leaf queue", job(queue="child")),
    (
        "numa whole cpus",
        with_tasks(
            task(
                topologyPolicy="single-numa-node",
                template={"spec": {"containers": [container(resources={"limits": {"cpu": 2}})]}},
            )
        ),
    ),
    (
        "gpu request equal to limit",
        with_tasks(
            task(template={"spec": {"containers": [container(resources={"limits": {"nvidia.com/gpu": 1}})]}})
        ),
    ),
]

HIERARCHY = cluster(
    queue("default"),
    queue("closed", state="Closed"),
    queue("root"),
    queue("parent", parent="root"),
    queue("child", parent="parent"),
)


@pytest.mark.parametrize(
    ("manifest", "message"), [c[1:] for c in CREATE_DENIED], ids=[c[0] for c in CREATE_DENIED]
)
def test_create_denied(manifest: dict[str, Any], message: str) -> None:
    verdict = run("/jobs/validate", manifest, view=HIERARCHY)
    assert not verdict.allowed
    assert verdict.message == message


@pytest.mark.parametrize("manifest", [c[1] for c in CREATE_ALLOWED], ids=[c[0] for c in CREATE_ALLOWED])
def test_create_allowed(manifest: dict[str, Any]) -> None:
    verdict = run("/jobs/validate", manifest, view=HIERARCHY)
    assert verdict.allowed, verdict.message


def _update(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = job(
        tasks=[task(replicas=5)], minAvailable=5, policies=[policy(event="PodEvicted", action="RestartTask")]
    )
    for key, value in changes.items():
        manifest["spec"][key] = value
    return manifest


UPDATE_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("scale up", _update(tasks=[task(replicas=6)]), None),
    ("scale down", _update(tasks=[task(replicas=4)], minAvailable=3), None),
    ("priority class", _update(priorityClassName="high"), None),
    ("task minAvailable", _update(tasks=[task(replicas=5, minAvailable=2)]), None),
    (
        "below minAvailable",
        _update(tasks=[task(replicas=4)]),
        "job 'minAvailable' must not be greater than total replicas",
    ),
    ("negative replicas", _update(tasks=[task(replicas=-1)]), "'replicas' must be >= 0 in task: task-1"),
    (
        "negative task minAvailable",
        _update(tasks=[task(replicas=5, minAvailable=-1)]),
        "'minAvailable' must be >= 0 in task: task-1",
    ),
    (
        "task minAvailable above replicas",
        _update(tasks=[task(replicas=5, minAvailable=6)]),
        "'minAvailable' must be <= 'replicas' in task: task-1",
    ),
    ("negative minAvailable", _update(minAvailable=-1), "job 'minAvailable' must be >= 0"),
    ("topology conflict", _update(networkTopology=TOPOLOGY_BOTH), TOPOLOGY_CONFLICT),
    (
        "partition mismatch",
        _update(tasks=[task(replicas=5, partitionPolicy=PARTITION)]),
        "'Replicas' are not equal to TotalPartitions*PartitionSize in task: task-1, job: job-1",
    ),
    (
        "add task",
        _update(tasks=[task(replicas=5), task("task-2", replicas=5)]),
        "job updates may not add or remove tasks",
    ),
    ("rename task", _update(tasks=[task("renamed", replicas=5)]), UPDATE_FORBIDDEN),
    ("change queue", _update(queue="other"), UPDATE_FORBIDDEN),
    ("change policies", _update(policies=[]), UPDATE_FORBIDDEN),
]


@pytest.mark.parametrize(
    ("manifest", "message"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
def test_update(manifest: dict[str, Any], message: str | None) -> None:
    verdict = run("/jobs/validate", manifest, operation=Operation.UPDATE, old=_update())
    assert verdict.allowed is (message is None)
    assert verdict.message == (message or "")


def test_update_ignores_status_metadata_and_generated_claim_names() -> None:
    old = _update(volumes=[{"mountPath": "/data", "volumeClaim": {"accessModes": ["ReadWriteOnce"]}}])
    new = _update(
        volumes=[
            {
                "mountPath": "/data",
                "volumeClaim": {"accessModes": ["ReadWriteOnce"]},
                "volumeClaimName": "job-1-pvc",
            }
        ]
    )
    new["metadata"]["resourceVersion"] = "502593"
    new["status"] = {"succeeded": 2}
    assert run("/jobs/validate", new, operation=Operation.UPDATE, old=old).allowed


def test_update_compares_quantities_semantically() -> None:
    limits = {"limits": {"cpu": "1"}}
    old = _update(tasks=[task(replicas=5, template={"spec": {"containers": [container(resources=limits)]}})])
    new = _update(
        tasks=[
            task(
                replicas=5,
                template={"spec": {"containers": [container(resources={"limits": {"cpu": "1000m"}})]}},
            )
        ]
    )
    assert run("/jobs/validate", new, operation=Operation.UPDATE, old=old).allowed


def test_other_operations_are_refused() -> None:
    verdict = run("/jobs/validate", job(), operation=Operation.DELETE, view=OPEN_DEFAULT)
    assert verdict.message == "expect operation to be 'CREATE' or 'UPDATE'"


def _template_error(spec: dict[str, Any]) -> str:
    message: str = run("/jobs/validate", with_tasks(task(template={"spec": spec})), view=HIERARCHY).message
    return message


TEMPLATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "volume without type",
        {"volumes": [{"name": "v"}], "containers": [container()]},
        "template.spec.volumes[0]: Required value: must specify a volume type.",
    ),
    (
        "duplicate volume",
        {
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}],
            "containers": [container()],
        },
        'template.spec.volumes[1].name: Duplicate value: "v".',
    ),
    (
        "volume name not a label",
        {"volumes": [{"name": "V", "emptyDir": {}}], "containers": [container()]},
        f'template.spec.volumes[0].name: Invalid value: "V": {LABEL}.',
    ),
    (
        "mount of an undefined volume",
        {"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]},
        'template.spec.containers[0].volumeMounts[0].name: Not found: "data".',
    ),
    (
        "mount paths not unique",
        {
            "volumes": [{"name": "v", "emptyDir": {}}],
            "containers": [
                container(volumeMounts=[{"name": "v", "mountPath": "/d"}, {"name": "v", "mountPath": "/d"}])
            ],
        },
        'template.spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique.',
    ),
    (
        "container port out of range",
        {"containers": [container(ports=[{"containerPort": 70000}])]},
        "template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive.",
    ),
    (
        "container port missing",
        {"containers": [container(ports=[{"name": "http"}])]},
        "template.spec.containers[0].ports[0].containerPort: Required value.",
    ),
    (
        "port protocol",
        {"containers": [container(ports=[{"containerPort": 80, "protocol": "HTTP"}])]},
        'template.spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": '
        'supported values: "SCTP", "TCP", "UDP".',
    ),
    (
        "port name",
        {"containers": [container(ports=[{"containerPort": 80, "name": "http--port-too-long"}])]},
        'template.spec.containers[0].ports[0].name: Invalid value: "http--port-too-long": '
        "must be no more than 15 characters. "
        'template.spec.containers[0].ports[0].name: Invalid value: "http--port-too-long": '
        "must not contain consecutive hyphens.",
    ),
    (
        "pull policy",
        {"containers": [container(imagePullPolicy="Sometimes")]},
        'template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "IfNotPresent", "Never".',
    ),
    (
        "termination message policy",
        {"containers": [container(terminationMessagePolicy="Log")]},
        'template.spec.containers[0].terminationMessagePolicy: Unsupported value: "Log": '
        'supported values: "File", "FallbackToLogsOnError".',
    ),
    (
        "init container named as a container",
        {"containers": [container("a")], "initContainers": [container("a")]},
        'template.spec.initContainers[0].name: Duplicate value: "a".',
    ),
    (
        "gpu request without limit",
        {"containers": [container(resources={"requests": {"nvidia.com/gpu": 1}})]},
        "template.spec.containers[0].resources.limits: Required value: "
        "Limit must be set for non overcommitable resources.",
    ),
    (
        "gpu request below limit",
        {
            "containers": [
                container(resources={"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}})
            ]
        },
        'template.spec.containers[0].resources.requests: Invalid value: "1": '
        "must be equal to nvidia.com/gpu limit of 2.",
    ),
    (
        "dns policy",
        {"containers": [container()], "dnsPolicy": "Custom"},
        'template.spec.dnsPolicy: Unsupported value: "Custom": '
        'supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None".',
    ),
]


@pytest.mark.parametrize(
    ("spec", "message"), [c[1:] for c in TEMPLATE_CASES], ids=[c[0] for c in TEMPLATE_CASES]
)
def test_task_template(spec: dict[str, Any], message: str) -> None:
    assert _template_error(spec) == f"spec.task[0].{message}"


def test_template_labels_and_several_errors() -> None:
    manifest = with_tasks(
        task(template={"metadata": {"labels": {"-bad": "v v"}}, "spec": {"containers": [{}]}})
    )
    message = run("/jobs/validate", manifest, view=HIERARCHY).message
    assert message.startswith(
        'spec.task[0].template.labels: Invalid value: "-bad": name part must consist of'
    )
    assert message.endswith(
        "template.spec.containers[0].name: Required value. template.spec.containers[0].image: Required value."
    )
    assert 'template.labels: Invalid value: "v v": a valid label must be an empty string' in message


def _pod_level_job(
    pod: dict[str, Any], containers: list[dict[str, Any]], init: list[dict[str, Any]]
) -> dict[str, Any]:
    spec = {"resources": pod, "containers": containers, "initContainers": init}
    return with_tasks(task(template={"metadata": {"labels": {"name": "test"}}, "spec": spec}))


def test_pod_level_resources_as_in_volcanos_tests() -> None:
    two = {"requests": {"cpu": "2"}}
    below = _pod_level_job(
        {"requests": {"cpu": "2"}, "limits": {"cpu": "2"}},
        [container("fake-name-1", resources=two), container("fake-name-2", resources=two)],
        [container("fake-name-0", resources=two)],
    )
    assert run("/jobs/validate", below, view=HIERARCHY).message == (
        'spec.task[0].template.spec.resources.requests[cpu]: Invalid value: "2": '
        "must be greater than or equal to aggregate container requests of 4."
    )
    disabled = AdmissionConfig(pod_level_resources=False)
    assert run("/jobs/validate", below, view=HIERARCHY, config=disabled).allowed
    both = {"requests": {"cpu": "2"}, "limits": {"cpu": "2"}}
    above_limit = _pod_level_job(
        {"requests": {"cpu": "6"}, "limits": {"cpu": "4"}},
        [container("fake-name-1", resources=both), container("fake-name-2", resources=both)],
        [],
    )
    assert run("/jobs/validate", above_limit, view=HIERARCHY).message == (
        'spec.task[0].template.spec.resources.requests: Invalid value: "6": '
        "must be less than or equal to cpu limit of 4."
    )
