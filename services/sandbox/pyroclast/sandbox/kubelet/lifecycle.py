"""A pod's life on a simulated node, as pure functions over the pod's JSON.

:func:`step` looks at a pod bound to a node and the time, and says what the kubelet does
next: the status to write (if it changed), whether to confirm a deletion, and when to look
again. Everything it needs is in the pod's own status (when each container started, its
restart count, when it last ended), so a restarted node agent carries on where the last
one stopped, and a status written by someone else (a test that fails a pod) is respected:

    bound -> Pending (ContainerCreating) -> Running -> Succeeded | Failed
                    \\-> Failed (OutOfcpu, ...) when the pod does not fit

With ``restartPolicy: Always`` (or ``OnFailure`` and a non-zero exit) an ended container is
restarted instead, after the kubelet's doubling back-off (``CrashLoopBackOff``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pyroclast.sandbox.kubelet.admission import Rejection, admit
from pyroclast.sandbox.kubelet.workload import ContainerPlan, plan_containers
from pyroclast.sandbox.resources import Resources
from pyroclast.sandbox.timeutil import format_time, parse_time

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TERMINAL_PHASES = (SUCCEEDED, FAILED)
KILLED_EXIT_CODE = 137


@dataclass(frozen=True)
class NodeView:
    """What the kubelet knows of its own node."""

    name: str
    host_ip: str
    allocatable: Resources
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """Timing knobs; the defaults are the kubelet's."""

    start_delay_seconds: float = 0.0
    backoff_base_seconds: float = 10.0
    backoff_cap_seconds: float = 300.0

    def backoff(self, restart_count: int) -> float:
        """The wait before restarting a container that has restarted ``restart_count`` times."""
        if restart_count <= 0:
            return 0.0
        return float(min(self.backoff_base_seconds * 2 ** (restart_count - 1), self.backoff_cap_seconds))


@dataclass(frozen=True)
class Decision:
    """What to do with a pod now.

    ``status``: the pod's whole new status to write, ``None`` if unchanged. ``delete``: confirm
    a graceful deletion (delete with grace period 0) after writing the status. ``wake_at``:
    when to call :func:`step` again if nothing else happens first. ``rejection``: set when the
    pod was refused by admission.
    """

    status: dict[str, Any] | None = None
    delete: bool = False
    wake_at: datetime | None = None
    rejection: Rejection | None = None


def phase_of(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or PENDING)


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase_of(pod) in TERMINAL_PHASES


def is_admitted(pod: Mapping[str, Any]) -> bool:
    """The kubelet has accepted the pod: it holds the node's resources until it ends."""
    status = pod.get("status") or {}
    return bool(status.get("hostIP")) and not is_terminal(pod)


def step(
    pod: Mapping[str, Any],
    node: NodeView,
    now: datetime,
    *,
    used: Mapping[str, int],
    pod_ip: str,
    policy: Policy | None = None,
) -> Decision:
    """The kubelet's next move for ``pod`` on ``node`` at ``now``.

    ``used`` is what the other pods already admitted to the node request (for admission);
    ``pod_ip`` is the address the pod gets when it starts.
    """
    policy = policy or Policy()
    old = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return _terminate(pod, old, now)
    if is_terminal(pod):
        return Decision()
    if not is_admitted(pod):
        rejection = admit(pod, node.allocatable, used, node.labels)
        if rejection is not None:
            return Decision(status=_rejected(old, rejection, now), rejection=rejection)
        return Decision(
            status=_pending(pod, old, node, now), wake_at=now + timedelta(seconds=policy.start_delay_seconds)
        )
    status = copy.deepcopy(dict(old))
    if _is_creating(status):
        if not status.get("containerStatuses"):
            status = _pending(pod, status, node, now)
        started = parse_time(status.get("startTime")) or now
        ready_at = started + timedelta(seconds=policy.start_delay_seconds)
        if now < ready_at:
            return Decision(status=_changed(old, status), wake_at=ready_at)
        status = _start(pod, status, now, pod_ip)
    status, wake_at = _advance(pod, status, now, policy)
    return Decision(status=_changed(old, status), wake_at=wake_at)


# --- transitions -----------------------------------------------------------------------------


def _rejected(old: Mapping[str, Any], rejection: Rejection, now: datetime) -> dict[str, Any]:
    status = copy.deepcopy(dict(old))
    status.update(phase=FAILED, reason=rejection.reason, message=rejection.message)
    status.setdefault("startTime", format_time(now))
    return status


def _pending(pod: Mapping[str, Any], old: Mapping[str, Any], node: NodeView, now: datetime) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    status = copy.deepcopy(dict(old))
    status.update(phase=PENDING, hostIP=node.host_ip, hostIPs=[{"ip": node.host_ip}])
    status.setdefault("startTime", format_time(now))
    status.setdefault("qosClass", qos_class(pod))
    status["containerStatuses"] = [
        {
            "name": plan.name,
            "image": plan.image,
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}},
        }
        for plan in plan_containers(pod)
    ]
    if spec.get("initContainers"):
        status["initContainerStatuses"] = [
            {
                "name": str(c.get("name", "")),
                "image": str(c.get("image", "")),
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": format_time(now),
                        "finishedAt": format_time(now),
                    }
                },
            }
            for c in spec["initContainers"]
        ]
    status["conditions"] = _conditions(status, now, scheduled=True, initialized=True, unready=_names(status))
    return status


def _start(pod: Mapping[str, Any], status: dict[str, Any], now: datetime, pod_ip: str) -> dict[str, Any]:
    uid = str((pod.get("metadata") or {}).get("uid", ""))[:8]
    status.update(phase=RUNNING, podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    for cs in status.get("containerStatuses") or []:
        cs.update(
            ready=True,
            started=True,
            containerID=f"sandbox://{uid}-{cs['name']}-{cs.get('restartCount', 0)}",
            state={"running": {"startedAt": format_time(now)}},
        )
    return status


def _advance(
    pod: Mapping[str, Any], status: dict[str, Any], now: datetime, policy: Policy
) -> tuple[dict[str, Any], datetime | None]:
    """Finish the containers whose time is up, restart those the policy restarts, set the phase."""
    plans = {plan.name: plan for plan in plan_containers(pod)}
    restart_policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    uid = str((pod.get("metadata") or {}).get("uid", ""))[:8]
    wakes: list[datetime] = []
    for cs in status.get("containerStatuses") or []:
        plan = plans.get(cs.get("name", ""))
        state = cs.get("state") or {}
        if "running" in state and plan is not None and plan.run_seconds is not None:
            started = parse_time(state["running"].get("startedAt")) or now
            ends = started + timedelta(seconds=plan.run_seconds)
            if now < ends:
                wakes.append(ends)
                continue
            cs["state"] = {"terminated": _terminated(plan, cs, started, now)}
            cs.update(ready=False, started=False)
            state = cs["state"]
        if "terminated" in state:
            code = int(state["terminated"].get("exitCode", 0))
            if restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0):
                cs["lastState"] = {"terminated": state["terminated"]}
                delay = policy.backoff(int(cs.get("restartCount", 0)))
                cs["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": (
                            f"back-off {int(delay)}s restarting failed container={cs.get('name')} "
                            f"pod={_pod_ref(pod)}"
                        ),
                    }
                }
                state = cs["state"]
        waiting = state.get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            last = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            resume = (parse_time(last) or now) + timedelta(
                seconds=policy.backoff(int(cs.get("restartCount", 0)))
            )
            if now < resume:
                wakes.append(resume)
                continue
            count = int(cs.get("restartCount", 0)) + 1
            cs.update(
                restartCount=count,
                ready=True,
                started=True,
                containerID=f"sandbox://{uid}-{cs.get('name')}-{count}",
                state={"running": {"startedAt": format_time(now)}},
            )
            if plan is not None and plan.run_seconds is not None:
                wakes.append(now + timedelta(seconds=plan.run_seconds))
    containers = status.get("containerStatuses") or []
    if containers and all("terminated" in (cs.get("state") or {}) for cs in containers):
        failed = any(int(cs["state"]["terminated"].get("exitCode", 0)) != 0 for cs in containers)
        status["phase"] = FAILED if failed else SUCCEEDED
        status["conditions"] = _conditions(status, now, scheduled=True, initialized=True, unready=None)
        return status, None
    status["phase"] = RUNNING
    unready = [str(cs.get("name")) for cs in containers if not cs.get("ready")]
    status["conditions"] = _conditions(status, now, scheduled=True, initialized=True, unready=unready)
    return status, min(wakes) if wakes else None


def _terminate(pod: Mapping[str, Any], old: Mapping[str, Any], now: datetime) -> Decision:
    """A deleted pod: stop its containers (exit 137), record the end, and confirm the deletion."""
    if not is_admitted(pod):
        return Decision(delete=True)
    status = copy.deepcopy(dict(old))
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "terminated" in state:
            continue
        started = parse_time((state.get("running") or {}).get("startedAt")) or now
        cs["state"] = {
            "terminated": {
                "exitCode": KILLED_EXIT_CODE,
                "reason": "Error",
                "startedAt": format_time(started),
                "finishedAt": format_time(now),
                **({"containerID": cs["containerID"]} if cs.get("containerID") else {}),
            }
        }
        cs.update(ready=False, started=False)
    containers = status.get("containerStatuses") or []
    failed = any(int(cs["state"]["terminated"].get("exitCode", 0)) != 0 for cs in containers)
    status["phase"] = FAILED if failed else SUCCEEDED
    status["conditions"] = _conditions(status, now, scheduled=True, initialized=True, unready=None)
    return Decision(status=_changed(old, status), delete=True)


# --- helpers ---------------------------------------------------------------------------------


def _terminated(
    plan: ContainerPlan, cs: Mapping[str, Any], started: datetime, now: datetime
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "exitCode": plan.exit_code,
        "reason": "Completed" if plan.exit_code == 0 else "Error",
        "startedAt": format_time(started),
        "finishedAt": format_time(now),
    }
    if cs.get("containerID"):
        out["containerID"] = cs["containerID"]
    return out


def _is_creating(status: Mapping[str, Any]) -> bool:
    containers = status.get("containerStatuses") or []
    if (status.get("phase") or PENDING) != PENDING:
        return False
    return not containers or all(
        ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "ContainerCreating"
        for cs in containers
    )


def _names(status: Mapping[str, Any]) -> list[str]:
    return [str(cs.get("name")) for cs in status.get("containerStatuses") or []]


def _conditions(
    status: Mapping[str, Any], now: datetime, *, scheduled: bool, initialized: bool, unready: list[str] | None
) -> list[dict[str, Any]]:
    """The pod conditions; ``unready=None`` means the pod has ended (reason ``PodCompleted``)."""
    old = {c.get("type"): c for c in status.get("conditions") or []}
    wanted: list[tuple[str, bool, str | None, str | None]] = [
        ("PodReadyToStartContainers", True, None, None),
        ("Initialized", initialized, None, None),
    ]
    if unready is None:
        wanted += [("Ready", False, "PodCompleted", None), ("ContainersReady", False, "PodCompleted", None)]
    elif unready:
        unready_text = f"containers with unready status: [{' '.join(unready)}]"
        wanted += [
            ("Ready", False, "ContainersNotReady", unready_text),
            ("ContainersReady", False, "ContainersNotReady", unready_text),
        ]
    else:
        wanted += [("Ready", True, None, None), ("ContainersReady", True, None, None)]
    wanted.append(("PodScheduled", scheduled, None, None))
    out: list[dict[str, Any]] = []
    for kind, ok, reason, message in wanted:
        value = "True" if ok else "False"
        previous = old.get(kind) or {}
        since = previous.get("lastTransitionTime") if previous.get("status") == value else None
        condition: dict[str, Any] = {
            "type": kind,
            "status": value,
            "lastProbeTime": None,
            "lastTransitionTime": since or format_time(now),
        }
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        out.append(condition)
    for kind, condition in old.items():
        if kind not in {w[0] for w in wanted}:
            out.append(condition)
    return out


def _changed(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    return None if dict(old) == new else new


def _pod_ref(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace')}({meta.get('uid', '')})"


def qos_class(pod: Mapping[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = [*((pod.get("spec") or {}).get("containers") or [])]
    containers += (pod.get("spec") or {}).get("initContainers") or []
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = {**limits, **(resources.get("requests") or {})}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name)) != str(limits.get(name)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def log_events(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Lines for the containers' logs from a status change: ``(container, line)``."""
    before = {cs.get("name"): cs for cs in old.get("containerStatuses") or []}
    lines: list[tuple[str, str]] = []
    for cs in new.get("containerStatuses") or []:
        name = str(cs.get("name"))
        prev = before.get(name) or {}
        state = cs.get("state") or {}
        was_running = "running" in (prev.get("state") or {})
        restarted = int(cs.get("restartCount", 0)) > int(prev.get("restartCount", 0))
        if was_running and ("running" not in state or restarted):
            ended = state.get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
            lines.append(
                (name, f"container {name} exited with code {ended.get('exitCode')} ({ended.get('reason')})")
            )
        if "running" in state and (not was_running or restarted):
            suffix = f" (restart {cs.get('restartCount')})" if cs.get("restartCount") else ""
            lines.append((name, f"container {name} started, image {cs.get('image')}{suffix}"))
    return lines


def kubelet_events(
    old: Mapping[str, Any], new: Mapping[str, Any], *, killing: bool = False
) -> list[tuple[str, str, str]]:
    """The Events a kubelet reports for a status change: ``(type, reason, message)``."""
    events: list[tuple[str, str, str]] = []
    if new.get("phase") == FAILED and new.get("reason") and old.get("phase") != FAILED:
        events.append(("Warning", str(new["reason"]), str(new.get("message") or "")))
    before = {cs.get("name"): cs for cs in old.get("containerStatuses") or []}
    for cs in new.get("containerStatuses") or []:
        name = str(cs.get("name"))
        prev = before.get(name) or {}
        state, prev_state = cs.get("state") or {}, prev.get("state") or {}
        restarted = int(cs.get("restartCount", 0)) > int(prev.get("restartCount", 0))
        if "running" in state and ("running" not in prev_state or restarted):
            events.append(
                ("Normal", "Pulled", f'Container image "{cs.get("image")}" already present on machine')
            )
            events.append(("Normal", "Created", f"Created container {name}"))
            events.append(("Normal", "Started", f"Started container {name}"))
        waiting = state.get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff" and (prev_state.get("waiting") or {}).get(
            "reason"
        ) != ("CrashLoopBackOff"):
            events.append(("Warning", "BackOff", f"Back-off restarting failed container {name}"))
        if killing and "terminated" in state and "terminated" not in prev_state:
            events.append(("Normal", "Killing", f"Stopping container {name}"))
    return events
