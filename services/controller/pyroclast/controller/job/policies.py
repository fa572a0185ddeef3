"""From watch events to actions: pod/job/command events become requests, and lifecycle
policies (task-level first, then job-level) choose the action each request triggers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum

from pyroclast.common.models import Action, Command, Job, LifecyclePolicy, Pod, PodGroup, PolicyEvent
from pyroclast.common.models import labels as keys
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.state.plan import StateAction, Target, TargetType
from pyroclast.controller.job.status import pod_phase
from pyroclast.controller.job.timeutil import format_duration, parse_duration

INTERNAL_EVENTS = frozenset({PolicyEvent.OUT_OF_SYNC, PolicyEvent.COMMAND_ISSUED, PolicyEvent.POD_RUNNING})
INTERNAL_ACTIONS = frozenset(
    {Action.SYNC_JOB, Action.ENQUEUE_JOB, Action.SYNC_QUEUE, Action.OPEN_QUEUE, Action.CLOSE_QUEUE}
)
POD_EVENTS = frozenset(
    {PolicyEvent.POD_PENDING, PolicyEvent.POD_RUNNING, PolicyEvent.POD_FAILED, PolicyEvent.POD_EVICTED}
)


@dataclass(frozen=True)
class Request:
    """One unit of work for a job: what happened, to which pod, and any requested action."""

    namespace: str
    job_name: str
    job_uid: str = ""
    task_name: str = ""
    pod_name: str = ""
    pod_uid: str = ""
    partition_id: str = ""
    event: str = ""
    exit_code: int = 0
    action: str = ""
    job_version: int = 0

    @property
    def job_key(self) -> str:
        return f"{self.namespace}/{self.job_name}"


@dataclass(frozen=True)
class DelayedAction:
    """The action a request resolved to; run after ``delay`` when it is not zero."""

    job_key: str
    action: str
    event: str = ""
    task_name: str = ""
    pod_name: str = ""
    pod_uid: str = ""
    partition: str = ""
    delay: timedelta = timedelta(0)


def _events(policy: LifecyclePolicy) -> list[str]:
    return [*(policy.events or []), *([policy.event] if policy.event else [])]


def _delay(policy: LifecyclePolicy) -> timedelta:
    return parse_duration(policy.timeout) if policy.timeout else timedelta(0)


def _match(policy: LifecyclePolicy, req: Request) -> bool:
    events = _events(policy)
    hit = bool(events and req.event and (req.event in events or PolicyEvent.ANY in events))
    # A PodPending policy only applies with a timeout: pods are pending briefly anyway.
    if hit and (req.event != PolicyEvent.POD_PENDING or policy.timeout is not None):
        return True
    return policy.exit_code is not None and policy.exit_code == req.exit_code


def apply_policies(job: Job, req: Request) -> DelayedAction:
    """The action for ``req``: its own action, else the first matching task policy, else
    the first matching job policy, else SyncJob."""
    base = DelayedAction(
        job_key=req.job_key,
        action=Action.SYNC_JOB.value,
        event=req.event,
        task_name=req.task_name,
        pod_name=req.pod_name,
        pod_uid=req.pod_uid,
        partition=req.partition_id,
    )
    if req.action:
        return _with(base, req.action, timedelta(0))
    if req.event in INTERNAL_EVENTS:
        return base
    if req.job_uid and req.job_uid != spec.uid(job):
        return base
    if req.job_version < spec.version(job):
        return base
    if req.task_name:
        task = spec.find_task(job, req.task_name)
        for policy in (task.policies if task else None) or []:
            if _match(policy, req):
                return _with(base, policy.action or "", _delay(policy))
    for policy in (job.spec.policies if job.spec else None) or []:
        if _match(policy, req):
            return _with(base, policy.action or "", _delay(policy))
    return base


def _with(base: DelayedAction, action: str, delay: timedelta) -> DelayedAction:
    return DelayedAction(**{**base.__dict__, "action": action, "delay": delay})


class ActionType(IntEnum):
    JOB = 0
    TASK = 1
    POD = 2
    PARTITION = 3


_ACTION_TYPES: dict[str, ActionType] = {
    Action.RESTART_TASK: ActionType.TASK,
    Action.RESTART_POD: ActionType.POD,
    Action.RESTART_PARTITION: ActionType.PARTITION,
}


def action_type(action: str) -> ActionType:
    return _ACTION_TYPES.get(action, ActionType.JOB)


def state_action(delayed: DelayedAction) -> StateAction:
    """The state-machine action, with the task/pod/partition it targets."""
    target = None
    if delayed.action == Action.RESTART_TASK:
        target = Target(TargetType.TASK, task=delayed.task_name)
    elif delayed.action == Action.RESTART_POD:
        target = Target(TargetType.POD, task=delayed.task_name, pod=delayed.pod_name)
    elif delayed.action == Action.RESTART_PARTITION:
        target = Target(
            TargetType.PARTITION, task=delayed.task_name, pod=delayed.pod_name, partition=delayed.partition
        )
    return StateAction(delayed.action, target)


def cancels_pending(req: Request, pending: DelayedAction) -> bool:
    """Whether a new pod event cancels the delayed action waiting for that pod."""
    if req.event not in POD_EVENTS or req.event == PolicyEvent.POD_PENDING:
        return False
    if pending.event == PolicyEvent.POD_PENDING and req.pod_uid == pending.pod_uid:
        return True
    return (
        pending.event in (PolicyEvent.POD_FAILED, PolicyEvent.POD_EVICTED)
        and req.event == PolicyEvent.POD_RUNNING
    )


def superseded(done: DelayedAction, pending: Iterable[DelayedAction]) -> list[DelayedAction]:
    """Delayed actions of the same kind (and same task/pod/partition) as one that just ran."""
    kind = action_type(done.action)
    out = []
    for other in pending:
        if action_type(other.action) != kind:
            continue
        if kind == ActionType.TASK and other.task_name != done.task_name:
            continue
        if kind == ActionType.POD and other.pod_name != done.pod_name:
            continue
        if kind == ActionType.PARTITION and other.partition != done.partition:
            continue
        out.append(other)
    return out


def execute_message(delayed: DelayedAction) -> str | None:
    """Message of the ExecuteAction event recorded for a (delayed) action."""
    if delayed.delay:
        return f"Execute action {delayed.action} after {format_duration(delayed.delay)}"
    if delayed.action != Action.SYNC_JOB:
        return f"Start to execute action {delayed.action} "
    return None


# --- watch events -> requests ---------------------------------------------------------


def _pod_request(pod: Pod, event: str, exit_code: int = 0) -> Request | None:
    ref = naming.controlled_by_job(pod)
    meta = pod.metadata
    if ref is None or meta is None:
        return None
    annotations = meta.annotations or {}
    job_name = annotations.get(keys.JOB_NAME_KEY)
    version = annotations.get(keys.JOB_VERSION_KEY)
    task = annotations.get(keys.TASK_SPEC_KEY)
    if job_name is None or version is None or task is None:
        return None
    try:
        job_version = int(version, 10)
    except ValueError:
        return None
    if naming.is_out_of_sync(pod):
        event = PolicyEvent.OUT_OF_SYNC.value
    return Request(
        namespace=meta.namespace or "",
        job_name=job_name,
        job_uid=ref.uid or "",
        task_name=task,
        pod_name=meta.name or "",
        pod_uid=meta.uid or "",
        partition_id=(meta.labels or {}).get(keys.TASK_PARTITION_ID_KEY, ""),
        event=event,
        exit_code=exit_code,
        job_version=job_version,
    )


def on_pod_added(pod: Pod) -> Request | None:
    return _pod_request(pod, PolicyEvent.POD_PENDING.value)


def task_completed(job: Job, task_name: str, task_pods: Mapping[str, Pod]) -> bool:
    """All replicas of the task succeeded."""
    task = spec.find_task(job, task_name)
    replicas = spec.replicas(task) if task else 0
    if replicas <= 0 or not task_pods:
        return False
    return sum(pod_phase(p) == "Succeeded" for p in task_pods.values()) >= replicas


def task_failed(job: Job, task_name: str, task_pods: Mapping[str, Pod]) -> bool:
    """Container restarts of the task's live pods reached the task's ``maxRetry``."""
    task = spec.find_task(job, task_name)
    if task is None or not task_pods:
        return False
    max_retry = task.max_retry or 0
    if spec.replicas(task) == 0 or max_retry == -1:
        return False
    max_retry = max_retry or 3
    restarts = 0
    for pod in task_pods.values():
        if pod_phase(pod) in ("Running", "Pending") and pod.status:
            restarts += sum(s.restart_count or 0 for s in pod.status.init_container_statuses or [])
            restarts += sum(s.restart_count or 0 for s in pod.status.container_statuses or [])
    return restarts >= max_retry


def _exit_code(pod: Pod) -> int:
    statuses = (pod.status.container_statuses if pod.status else None) or []
    if statuses and statuses[0].state and statuses[0].state.terminated:
        return statuses[0].state.terminated.exit_code or 0
    return 0


def on_pod_updated(old: Pod, new: Pod, job: Job | None, task_pods: Mapping[str, Pod]) -> Request | None:
    """Request for a pod update; ``task_pods`` are the cached pods of the pod's task, the
    updated pod included (TaskCompleted and TaskFailed are judged on them)."""
    if naming.controlled_by_job(new) is None:
        return None
    if (old.metadata.resource_version if old.metadata else None) == (
        new.metadata.resource_version if new.metadata else None
    ):
        return None
    task = naming.task_key(new) if new.metadata and new.metadata.annotations else ""
    before, after = pod_phase(old), pod_phase(new)
    event, exit_code = PolicyEvent.OUT_OF_SYNC.value, 0
    if after == "Failed":
        if before != "Failed":
            event, exit_code = PolicyEvent.POD_FAILED.value, _exit_code(new)
    elif after == "Succeeded":
        if before != "Succeeded" and job is not None and task_completed(job, task, task_pods):
            event = PolicyEvent.TASK_COMPLETED.value
    elif after in ("Running", "Pending"):
        if job is not None and task_failed(job, task, task_pods):
            event = PolicyEvent.TASK_FAILED.value
        if before != after:
            event = PolicyEvent.POD_RUNNING.value if after == "Running" else PolicyEvent.POD_PENDING.value
    return _pod_request(new, event, exit_code)


def on_pod_deleted(pod: Pod, known: bool) -> Request | None:
    """A deleted pod the cache knew is an eviction; otherwise it is only a resync."""
    event = PolicyEvent.POD_EVICTED if known else PolicyEvent.OUT_OF_SYNC
    return _pod_request(pod, event.value)


def on_job_added(job: Job) -> Request:
    return Request(spec.namespace(job), spec.name(job), event=PolicyEvent.OUT_OF_SYNC.value)


def on_job_updated(old: Job, new: Job) -> Request | None:
    """Only spec or phase changes trigger work; status updates are the controller's own."""
    if (old.metadata.resource_version if old.metadata else None) == (
        new.metadata.resource_version if new.metadata else None
    ):
        return None
    if old.spec == new.spec and spec.phase(old) == spec.phase(new):
        return None
    return on_job_added(new)


def on_command(cmd: Command) -> Request:
    namespace = (cmd.metadata.namespace if cmd.metadata else None) or ""
    target = (cmd.target.name if cmd.target else None) or ""
    return Request(namespace, target, event=PolicyEvent.COMMAND_ISSUED.value, action=cmd.action or "")


def command_message(cmd: Command) -> str:
    return f"Start to execute command {cmd.action}, and clean it up to make sure executed not more than once."


def on_podgroup_updated(old: PodGroup, new: PodGroup) -> Request | None:
    """A PodGroup phase change resyncs its job; turning Unknown raises the Unknown event."""
    before = old.status.phase if old.status else None
    after = new.status.phase if new.status else None
    if before == after:
        return None
    meta = new.metadata
    job_name = (meta.name if meta else None) or ""
    for ref in (meta.owner_references if meta else None) or []:
        if ref.kind == naming.JOB_KIND:
            job_name = ref.name or ""
    event = PolicyEvent.JOB_UNKNOWN.value if after == "Unknown" else ""
    return Request((meta.namespace if meta else None) or "", job_name, event=event)
