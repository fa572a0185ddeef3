"""Known values of Volcano's string enumerations.

Fields carry plain ``str`` on the wire so that an unexpected value still decodes and can be
rejected later with a clear message; these classes name the values code compares against.
"""

from __future__ import annotations

from enum import StrEnum


class JobPhase(StrEnum):
    """Phase of a Volcano Job (``status.state.phase``)."""

    PENDING = "Pending"
    ABORTING = "Aborting"
    ABORTED = "Aborted"
    RUNNING = "Running"
    RESTARTING = "Restarting"
    COMPLETING = "Completing"
    COMPLETED = "Completed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"
    FAILED = "Failed"


class JobEvent(StrEnum):
    """Reasons of the Kubernetes events the job controller records."""

    COMMAND_ISSUED = "CommandIssued"
    PLUGIN_ERROR = "PluginError"
    PVC_ERROR = "PVCError"
    POD_GROUP_ERROR = "PodGroupError"
    EXECUTE_ACTION = "ExecuteAction"
    JOB_STATUS_ERROR = "JobStatusError"
    POD_GROUP_PENDING = "PodGroupPending"


class Event(StrEnum):
    """Events a lifecycle policy reacts to (``policies[].event`` / ``events``)."""

    ANY = "*"
    POD_PENDING = "PodPending"
    POD_RUNNING = "PodRunning"
    POD_FAILED = "PodFailed"
    POD_EVICTED = "PodEvicted"
    JOB_UNKNOWN = "Unknown"
    TASK_COMPLETED = "TaskCompleted"
    OUT_OF_SYNC = "OutOfSync"
    COMMAND_ISSUED = "CommandIssued"
    JOB_UPDATED = "JobUpdated"
    TASK_FAILED = "TaskFailed"


class Action(StrEnum):
    """Actions of lifecycle policies and of bus Commands."""

    ABORT_JOB = "AbortJob"
    RESTART_JOB = "RestartJob"
    RESTART_TASK = "RestartTask"
    RESTART_POD = "RestartPod"
    RESTART_PARTITION = "RestartPartition"
    TERMINATE_JOB = "TerminateJob"
    COMPLETE_JOB = "CompleteJob"
    RESUME_JOB = "ResumeJob"
    SYNC_JOB = "SyncJob"
    ENQUEUE_JOB = "EnqueueJob"
    SYNC_QUEUE = "SyncQueue"
    OPEN_QUEUE = "OpenQueue"
    CLOSE_QUEUE = "CloseQueue"


class NumaPolicy(StrEnum):
    """NUMA topology policy of a task (``tasks[].topologyPolicy``)."""

    NONE = "none"
    BEST_EFFORT = "best-effort"
    RESTRICTED = "restricted"
    SINGLE_NUMA_NODE = "single-numa-node"


class Iteration(StrEnum):
    """How a task's ``dependsOn`` list is satisfied."""

    ANY = "any"
    ALL = "all"


class ConcurrencyPolicy(StrEnum):
    """What a CronJob does when the previous run is still active."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class NetworkTopologyMode(StrEnum):
    """Whether a network-topology constraint must hold or is only preferred."""

    HARD = "hard"
    SOFT = "soft"


class PodPhase(StrEnum):
    """Kubernetes pod phases, the keys of ``taskStatusCount[].phase``."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


class ConditionStatus(StrEnum):
    """Kubernetes condition status values."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class PodGroupPhase(StrEnum):
    """Phase of a PodGroup."""

    PENDING = "Pending"
    RUNNING = "Running"
    UNKNOWN = "Unknown"
    INQUEUE = "Inqueue"
    COMPLETED = "Completed"


class PodGroupConditionType(StrEnum):
    """Types of PodGroup conditions."""

    UNSCHEDULABLE = "Unschedulable"
    SCHEDULED = "Scheduled"


class PodGroupConditionReason(StrEnum):
    """Reasons recorded on PodGroup conditions."""

    POD_FAILED = "PodFailed"
    POD_DELETED = "PodDeleted"
    NOT_ENOUGH_RESOURCES = "NotEnoughResources"
    NOT_ENOUGH_TASKS = "NotEnoughTasks"
    NOT_ENOUGH_PODS_OF_TASK = "NotEnoughPodsOfTask"


class PodGroupConditionDetail(StrEnum):
    """Messages describing PodGroup readiness."""

    READY = "pod group is ready"
    NOT_READY = "pod group is not ready"


class QueueState(StrEnum):
    """State of a Queue."""

    OPEN = "Open"
    CLOSED = "Closed"
    CLOSING = "Closing"
    UNKNOWN = "Unknown"


class QueueEvent(StrEnum):
    """Events the queue controller reacts to."""

    OUT_OF_SYNC = "OutOfSync"
    COMMAND_ISSUED = "CommandIssued"


class QueueAction(StrEnum):
    """Actions the queue controller performs."""

    SYNC_QUEUE = "SyncQueue"
    OPEN_QUEUE = "OpenQueue"
    CLOSE_QUEUE = "CloseQueue"


class DequeueStrategy(StrEnum):
    """Order in which a queue releases jobs; ``traverse`` is the default."""

    FIFO = "fifo"
    TRAVERSE = "traverse"


class JobFlowPhase(StrEnum):
    """Phase of a JobFlow."""

    SUCCEED = "Succeed"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    RUNNING = "Running"
    PENDING = "Pending"


class RetainPolicy(StrEnum):
    """Whether a JobFlow keeps its jobs after it finishes."""

    RETAIN = "retain"
    DELETE = "delete"


class FlowAction(StrEnum):
    """Actions of the jobflow and jobtemplate controllers."""

    SYNC_JOB_FLOW = "SyncJobFlow"
    SYNC_JOB_TEMPLATE = "SyncJobTemplate"


class FlowEvent(StrEnum):
    """Events of the jobflow and jobtemplate controllers."""

    OUT_OF_SYNC = "OutOfSync"
