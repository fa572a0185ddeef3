"""Checks of a Job's parts: lifecycle policies, volumes, task dependencies, partitions, NUMA."""

from __future__ import annotations

from collections.abc import Mapping

from pyroclast.common.models import Job, LifecyclePolicy, NetworkTopologySpec, TaskSpec, VolumeSpec
from pyroclast.common.quantity import QuantityError, parse_quantity
from pyroclast.webhook.admission import k8s

# Events and actions a user may name in a policy, in Volcano's declaration order.
VALID_EVENTS = (
    "*",
    "PodFailed",
    "PodEvicted",
    "PodPending",
    "Unknown",
    "TaskCompleted",
    "TaskFailed",
    "JobUpdated",
)
VALID_ACTIONS = (
    "AbortJob",
    "RestartJob",
    "RestartTask",
    "RestartPod",
    "RestartPartition",
    "TerminateJob",
    "CompleteJob",
    "ResumeJob",
)
POLICY_HINT = (
    f" valid events are {k8s.go_list(VALID_EVENTS)}, valid actions are {k8s.go_list(VALID_ACTIONS)};"
)
NETWORK_TOPOLOGY_CONFLICT = (
    "must not specify 'highestTierAllowed' and 'highestTierName' in networkTopology simultaneously"
)


def _events(policy: LifecyclePolicy) -> list[str]:
    events = list(policy.events or [])
    if policy.event:
        events.append(policy.event)
    return list(dict.fromkeys(events))


def policy_errors(policies: list[LifecyclePolicy] | None, path: str) -> str:
    """Volcano's ``validatePolicies`` as go-multierror text, or "" when they are valid."""
    errs: list[str] = []
    seen_events: dict[str, None] = {}
    exit_codes: set[int] = set()
    for policy in policies or []:
        has_event = bool(policy.event) or bool(policy.events)
        if has_event and policy.exit_code is not None:
            errs.append("must not specify event and exitCode simultaneously")
            break
        if not has_event and policy.exit_code is None:
            errs.append("either event and exitCode should be specified")
            break
        if has_event:
            failed = False
            for event in _events(policy):
                if event not in VALID_EVENTS:
                    errs.append(k8s.invalid(path, event, "invalid policy event", named=True))
                elif (policy.action or "") not in VALID_ACTIONS:
                    errs.append(k8s.invalid(path, policy.action or "", "invalid policy action", named=True))
                elif event in seen_events:
                    errs.append(f"duplicate event {event}  across different policy")
                else:
                    seen_events[event] = None
                    continue
                failed = True
                break
            if failed:
                break
        else:
            code = policy.exit_code
            if code == 0:
                errs.append("0 is not a valid error code")
                break
            if code in exit_codes:
                errs.append(f"duplicate exitCode {code}")
                break
            exit_codes.add(code or 0)
    if "*" in seen_events and len(seen_events) > 1:
        errs.append("if there's * here, no other policy should be here")
    return k8s.multierror(errs) if errs else ""


def volume_errors(volumes: list[VolumeSpec] | None) -> str:
    """Volcano's ``validateIO``: the first problem with the job's volumes, or ""."""
    mount_paths: set[str] = set()
    for volume in volumes or []:
        if not volume.mount_path:
            return " mountPath is required;"
        if volume.mount_path in mount_paths:
            return f" duplicated mountPath: {volume.mount_path};"
        claim_name = volume.volume_claim_name or ""
        if volume.volume_claim is None and not claim_name:
            return " either VolumeClaim or VolumeClaimName must be specified;"
        if claim_name:
            if volume.volume_claim is not None:
                return (
                    "conflict: If you want to use an existing PVC, just specify VolumeClaimName."
                    "If you want to create a new PVC, you do not need to specify VolumeClaimName"
                )
            if msgs := k8s.is_dns1123_subdomain(claim_name):
                return f"invalid VolumeClaimName {claim_name} : {k8s.go_list(msgs)}"
        mount_paths.add(volume.mount_path)
    return ""


def is_dag(tasks: list[TaskSpec]) -> bool:
    """Whether the tasks' ``dependsOn`` edges form a DAG (Volcano's ``topoSort``)."""
    graph: dict[str, dict[str, bool]] = {}
    in_degree: dict[str, int] = {}
    for task in tasks:
        name = task.name or ""
        in_degree[name] = 0
        for dep in (task.depends_on.name or []) if task.depends_on else []:
            graph.setdefault(dep, {})[name] = True
            in_degree[name] += 1
    stack = [n for n, d in in_degree.items() if d == 0]
    ordered = 0
    while stack:
        out = stack.pop()
        ordered += 1
        for target, connected in graph.get(out, {}).items():
            if connected:
                graph[out][target] = False
                in_degree[target] -= 1
                if in_degree[target] == 0:
                    stack.append(target)
    return ordered == len(tasks)


def network_topology_error(spec: NetworkTopologySpec | None) -> str:
    """The tier limit may be given by number or by name, not both."""
    if spec is not None and spec.highest_tier_allowed is not None and spec.highest_tier_name:
        return NETWORK_TOPOLOGY_CONFLICT
    return ""


def partition_error(task: TaskSpec, job_name: str) -> str:
    """Volcano's ``validatePartitionPolicy``."""
    policy = task.partition_policy
    if policy is None:
        return ""
    name, replicas = task.name or "", task.replicas or 0
    where = f"in task: {name}, job: {job_name}"
    msg = ""
    min_partitions = policy.min_partitions or 0
    if policy.total_partitions <= 0:
        msg = f"'TotalPartitions' must be greater than 0 {where}"
    elif policy.partition_size <= 0:
        msg = f"'PartitionSize' must be greater than 0 {where}"
    elif replicas != policy.total_partitions * policy.partition_size:
        msg = f"'Replicas' are not equal to TotalPartitions*PartitionSize {where}"
    elif (
        task.min_available is not None
        and min_partitions > 0
        and min_partitions * policy.partition_size != task.min_available
    ):
        msg = f"'MinAvailable' is not equal to MinPartitions*PartitionSize {where}"
    return msg + network_topology_error(policy.network_topology)


def _guaranteed_cpus(requests: Mapping[str, object]) -> int:
    try:
        cpu = parse_quantity(requests.get("cpu", 0))  # type: ignore[arg-type]
    except (QuantityError, TypeError, ValueError):
        return 0
    if cpu.value() * 1000 != cpu.milli_value():
        return 0
    return cpu.value()


def topology_policy_error(task: TaskSpec, index: int) -> str:
    """Volcano's ``validateTaskTopoPolicy``: NUMA-aligned tasks need whole CPUs in every container."""
    if not task.topology_policy or task.topology_policy == "none":
        return ""
    spec = task.template.spec if task.template else None
    containers = list((spec.containers or []) if spec else []) + list(
        (spec.init_containers or []) if spec else []
    )
    for cid, container in enumerate(containers):
        res = container.resources
        requests = dict(res.requests or {}) if res else {}
        if not requests and res is not None:
            requests = dict(res.limits or {})
        if _guaranteed_cpus(requests) == 0:
            return f"the cpu request isn't an integer in spec.task[{index}] container[{cid}]."
    return ""


def mpi_master(args: list[str] | None) -> str:
    """The ``--master`` task name of the mpi plugin's arguments (Go flag parsing), ``master`` by default."""
    master = "master"
    items = list(args or [])
    i = 0
    while i < len(items):
        arg = items[i]
        if len(arg) < 2 or not arg.startswith("-"):
            break
        body = arg[2:] if arg.startswith("--") else arg[1:]
        if arg == "--":
            break
        if not body or body.startswith("-") or body.startswith("="):
            break
        name, eq, value = body.partition("=")
        if name not in ("master", "worker", "port"):
            break
        if not eq:
            if i + 1 >= len(items):
                break
            i += 1
            value = items[i]
        if name == "master":
            master = value
        elif name == "port" and k8s.go_atoi(value) is None:
            break
        i += 1
    return master


def job_name(job: Job) -> str:
    """The job's name, "" when unset."""
    return (job.metadata.name or "") if job.metadata else ""


def job_namespace(job: Job) -> str:
    """The job's namespace, "" when unset."""
    return (job.metadata.namespace or "") if job.metadata else ""
