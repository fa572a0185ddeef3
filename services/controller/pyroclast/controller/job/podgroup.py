"""The PodGroup a Job is gang-scheduled through: its gang sizes and minimum resources."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from pyroclast.common.models import Container, Job, ObjectMeta, PodGroup, PodGroupSpec, PodSpec, TaskSpec
from pyroclast.common.models import labels as keys
from pyroclast.common.models.meta import LabelSelector
from pyroclast.common.models.scheduling import SCHEDULING_API_VERSION, NetworkTopologySpec, SubGroupPolicySpec
from pyroclast.common.quantity import Quantity, parse_quantity
from pyroclast.controller.job import naming, spec

ResourceList = dict[str, Quantity]

_ONE = parse_quantity("1")


def _add(total: ResourceList, more: Mapping[str, Quantity]) -> ResourceList:
    """Sum two lists, keeping the first operand's quantity (and text) for keys only it has."""
    out = dict(total)
    for name, value in more.items():
        out[name] = out[name] + value if name in out else value
    return out


def _max(total: ResourceList, other: Mapping[str, Quantity]) -> ResourceList:
    out = dict(total)
    for name, value in other.items():
        if name not in out or value > out[name]:
            out[name] = value
    return out


def _parsed(values: Mapping[str, object] | None) -> ResourceList:
    return {k: parse_quantity(v) for k, v in (values or {}).items()}  # type: ignore[arg-type]


def _container_list(c: Container, which: str) -> ResourceList:
    res = c.resources
    return _parsed(getattr(res, which) if res else None)


def _pod_resources(pod_spec: PodSpec, which: str) -> ResourceList:
    """Effective pod requests or limits: containers plus sidecars, at least each init container."""
    total: ResourceList = {}
    for c in pod_spec.containers or []:
        total = _add(total, _container_list(c, which))
    sidecars: ResourceList = {}
    init_max: ResourceList = {}
    for c in pod_spec.init_containers or []:
        own = _container_list(c, which)
        if c.restart_policy == "Always":
            total = _add(total, own)
            sidecars = _add(sidecars, own)
            init_max = _max(init_max, sidecars)
        else:
            init_max = _max(init_max, _add(own, sidecars))
    total = _max(total, init_max)
    overhead = _parsed(pod_spec.overhead)
    if which == "requests":
        return _add(total, overhead)
    return _add(total, {k: v for k, v in overhead.items() if k in total})


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    return not _is_native(name) and not name.startswith("requests.")


def pod_quota_usage(pod_spec: PodSpec) -> ResourceList:
    """What one pod counts against a quota (Kubernetes' pod usage function), as Volcano reads it."""
    requests = _pod_resources(pod_spec, "requests")
    limits = _pod_resources(pod_spec, "limits")
    usage: ResourceList = {"count/pods": _ONE, "pods": _ONE}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            usage[name] = requests[name]
            usage[f"requests.{name}"] = requests[name]
        if name in limits:
            usage[f"limits.{name}"] = limits[name]
    for name, value in requests.items():
        if name.startswith("hugepages-"):
            usage[name] = value
            usage[f"requests.{name}"] = value
        if _is_extended(name):
            usage[f"requests.{name}"] = value
            usage[name] = value
    return usage


def _task_requests(task: TaskSpec, count: int) -> ResourceList:
    pod_spec = task.template.spec if task.template and task.template.spec else PodSpec()
    usage = pod_quota_usage(pod_spec)
    total: ResourceList = {}
    for _ in range(max(count, 0)):
        total = _add(total, usage)
    return total


def tasks_by_priority(job: Job, priorities: Mapping[str, int]) -> list[TaskSpec]:
    """Tasks, highest PriorityClass value first, in spec order otherwise."""

    def priority(task: TaskSpec) -> int:
        pc = task.template.spec.priority_class_name if task.template and task.template.spec else None
        return priorities.get(pc, 0) if pc else 0

    return sorted(spec.tasks(job), key=priority, reverse=True)


def first_count_resources(tasks: Iterable[TaskSpec], count: int) -> ResourceList:
    """Resources of the first ``count`` pods taking tasks in order."""
    total: ResourceList = {}
    for task in tasks:
        if count <= spec.replicas(task):
            return _add(total, _task_requests(task, count))
        total = _add(total, _task_requests(task, spec.replicas(task)))
        count -= spec.replicas(task)
    return total


def fill_min_resources(tasks: list[TaskSpec], job_min: int) -> ResourceList:
    """Each task's ``minAvailable`` pods, then spare replicas in order up to ``job_min`` pods."""
    total: ResourceList = {}
    count = 0
    for task in tasks:
        if task.min_available is None:
            continue
        valid = min(task.min_available, job_min - count)
        total = _add(total, _task_requests(task, valid))
        count += valid
        if count >= job_min:
            return total
    left_count = job_min - count
    for task in tasks:
        left = spec.replicas(task)
        if task.min_available is not None:
            if task.min_available == spec.replicas(task):
                continue
            left = spec.replicas(task) - task.min_available
        take = min(left, left_count)
        total = _add(total, _task_requests(task, take))
        left_count -= take
        if left_count <= 0:
            break
    return total


def min_resources(job: Job, priorities: Mapping[str, int] | None = None) -> ResourceList:
    """Resources of the first ``minAvailable`` pods, tasks ordered by priority then position.

    ``priorities`` maps PriorityClass names to their values; an unknown class counts as 0.
    """
    tasks = tasks_by_priority(job, priorities or {})
    job_min = spec.min_available(job)
    if job_min < spec.total_task_min_available(job):
        return first_count_resources(tasks, job_min)
    return fill_min_resources(tasks, job_min)


def render(resources: ResourceList) -> dict[str, str]:
    """A resource list as written on the wire, keys sorted."""
    return {k: str(resources[k]) for k in sorted(resources)}


def min_task_member(task: TaskSpec) -> int:
    if task.min_available is not None:
        return task.min_available
    pp = task.partition_policy
    if pp is not None and pp.min_partitions and pp.partition_size:
        return pp.min_partitions * pp.partition_size
    return spec.replicas(task)


def sub_group_policy(task: TaskSpec) -> SubGroupPolicySpec | None:
    pp = task.partition_policy
    if pp is None:
        return None
    nt = pp.network_topology
    return SubGroupPolicySpec(
        name=spec.task_name(task),
        sub_group_size=pp.partition_size,
        min_sub_groups=pp.min_partitions or 0,
        label_selector=LabelSelector(match_labels={keys.TASK_SPEC_KEY: spec.task_name(task)}),
        match_label_keys=[keys.TASK_PARTITION_ID_KEY],
        network_topology=None
        if nt is None
        else NetworkTopologySpec(
            mode=nt.mode, highest_tier_allowed=nt.highest_tier_allowed, highest_tier_name=nt.highest_tier_name
        ),
    )


def _network_topology(job: Job) -> NetworkTopologySpec | None:
    nt = job.spec.network_topology if job.spec else None
    if nt is None:
        return None
    if nt.highest_tier_allowed is not None:
        return NetworkTopologySpec(mode=nt.mode, highest_tier_allowed=nt.highest_tier_allowed)
    return NetworkTopologySpec(mode=nt.mode, highest_tier_name=nt.highest_tier_name or None)


def build_podgroup(job: Job, priorities: Mapping[str, int] | None = None) -> PodGroup:
    """The PodGroup ``<job>-<uid>`` created for a job that has none."""
    meta = job.metadata or ObjectMeta()
    policies = [p for p in map(sub_group_policy, spec.tasks(job)) if p is not None]
    return PodGroup(
        api_version=SCHEDULING_API_VERSION,
        kind="PodGroup",
        metadata=ObjectMeta(
            name=naming.podgroup_name(job),
            namespace=spec.namespace(job),
            annotations=meta.annotations,
            labels=meta.labels,
            owner_references=[naming.controller_ref(job)],
        ),
        spec=PodGroupSpec(
            min_member=spec.min_available(job) or None,
            min_task_member={spec.task_name(t): min_task_member(t) for t in spec.tasks(job)},
            queue=(job.spec.queue if job.spec else None) or None,
            min_resources=dict(render(min_resources(job, priorities))),
            priority_class_name=spec.priority_class_name(job) or None,
            network_topology=_network_topology(job),
            sub_group_policy=policies or None,
        ),
    )


def pending_message(job: Job, pg: PodGroup) -> str | None:
    """Warning recorded on the job (reason PodGroupPending) when the PodGroup's latest true
    condition is not Scheduled."""
    latest = None
    for cond in (pg.status.conditions if pg.status else None) or []:
        if cond.status != "True":
            continue
        if latest is None or (cond.last_transition_time or "") > (latest.last_transition_time or ""):
            latest = cond
    if latest is None or latest.type == "Scheduled":
        return None
    kind = (latest.type or "").lower()
    return f"PodGroup {spec.namespace(job)}:{spec.name(job)} {kind}, reason: {latest.message or ''}"


def _same_resources(current: Mapping[str, object] | None, wanted: ResourceList) -> bool:
    have = _parsed(current)
    return have == wanted


def podgroup_update(pg: PodGroup, job: Job, priorities: Mapping[str, int] | None = None) -> PodGroup | None:
    """The PodGroup to write after the job changed, or None when it is up to date."""
    pg_spec = pg.spec or PodGroupSpec()
    changes: dict[str, object] = {}
    if (pg_spec.priority_class_name or "") != spec.priority_class_name(job):
        changes["priority_class_name"] = spec.priority_class_name(job) or None
    wanted = min_resources(job, priorities)
    if (pg_spec.min_member or 0) != spec.min_available(job) or not _same_resources(
        pg_spec.min_resources, wanted
    ):
        changes["min_member"] = spec.min_available(job) or None
        changes["min_resources"] = render(wanted)
    members = dict(pg_spec.min_task_member or {})
    for task in spec.tasks(job):
        members[spec.task_name(task)] = min_task_member(task)
    if pg_spec.min_task_member is None or members != pg_spec.min_task_member:
        changes["min_task_member"] = members
    new_policies = _updated_sub_groups(pg_spec.sub_group_policy or [], spec.tasks(job))
    if new_policies is not None:
        changes["sub_group_policy"] = new_policies or None
    if not changes:
        return None
    return msgspec.structs.replace(pg, spec=msgspec.structs.replace(pg_spec, **changes))


def _updated_sub_groups(
    old: list[SubGroupPolicySpec], tasks: list[TaskSpec]
) -> list[SubGroupPolicySpec] | None:
    by_name = {p.name: p for p in old}
    changed = False
    new: list[SubGroupPolicySpec] = []
    for task in tasks:
        policy = sub_group_policy(task)
        if policy is None:
            changed = changed or spec.task_name(task) in by_name
            continue
        new.append(policy)
        changed = changed or by_name.get(policy.name) != policy
    return new if changed else None
