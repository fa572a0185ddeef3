"""``batch.volcano.sh/v1alpha1``: Job and CronJob."""

from __future__ import annotations

from typing import Annotated

from pyroclast.common.models.core import (
    ObjectReference,
    PersistentVolumeClaimSpec,
    PodTemplateSpec,
)
from pyroclast.common.models.enums import ConcurrencyPolicy, Event, JobPhase, NumaPolicy
from pyroclast.common.models.meta import ListMeta, ObjectMeta
from pyroclast.common.models.scheduling import NetworkTopologySpec
from pyroclast.common.models.wire import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    Duration,
    Model,
    NonNegative,
    Time,
    one_of,
    openapi,
)

BATCH_API_VERSION = "batch.volcano.sh/v1alpha1"

_EventName = Annotated[str, one_of(Event)]


class VolumeSpec(Model, kw_only=True):
    """A volume mounted into every pod of the job, backed by an existing or a new claim."""

    mount_path: Annotated[str, openapi(minLength=1, pattern="^[^:]+$")]
    volume_claim_name: Annotated[str | None, openapi(maxLength=253)] = None
    volume_claim: PersistentVolumeClaimSpec | None = None


class LifecyclePolicy(Model, kw_only=True):
    """Runs ``action`` when one of the events happens, a container exits with ``exitCode``,
    or after ``timeout``."""

    action: str | None = None
    event: _EventName | None = None
    events: list[_EventName] | None = None
    exit_code: int | None = None
    timeout: Duration | None = None


class DependsOn(Model, kw_only=True):
    """Tasks that must be running before this task's pods are created."""

    name: list[str] | None = None
    iteration: str | None = None


class PartitionPolicySpec(Model, kw_only=True):
    """Splits a task's pods into partitions placed under their own topology constraint."""

    total_partitions: Annotated[int, openapi(minimum=1)]
    partition_size: Annotated[int, openapi(minimum=1)]
    network_topology: NetworkTopologySpec | None = None
    min_partitions: Annotated[int | None, openapi(minimum=0, default=0)] = None


class TaskSpec(Model, kw_only=True):
    name: Annotated[str | None, openapi(**DNS_LABEL)] = None
    replicas: NonNegative = None
    min_available: NonNegative = None
    template: PodTemplateSpec | None = None
    policies: list[LifecyclePolicy] | None = None
    topology_policy: Annotated[str | None, one_of(NumaPolicy)] = None
    max_retry: NonNegative = None
    depends_on: DependsOn | None = None
    partition_policy: PartitionPolicySpec | None = None


class JobSpec(Model, kw_only=True):
    scheduler_name: Annotated[str | None, openapi(maxLength=63)] = None
    min_available: NonNegative = None
    volumes: list[VolumeSpec] | None = None
    tasks: Annotated[list[TaskSpec] | None, openapi(minItems=1)] = None
    policies: list[LifecyclePolicy] | None = None
    plugins: dict[str, list[str]] | None = None
    running_estimate: Duration | None = None
    queue: Annotated[str | None, openapi(default="default", **DNS_SUBDOMAIN)] = None
    max_retry: Annotated[int | None, openapi(minimum=0, default=3)] = None
    ttl_seconds_after_finished: NonNegative = None
    priority_class_name: Annotated[str | None, openapi(**DNS_SUBDOMAIN)] = None
    min_success: Annotated[int | None, openapi(minimum=1)] = None
    network_topology: NetworkTopologySpec | None = None


class JobState(Model, kw_only=True):
    phase: Annotated[str | None, one_of(JobPhase)] = None
    reason: str | None = None
    message: str | None = None
    last_transition_time: Time | None = None


class TaskState(Model, kw_only=True):
    """Pod counts of one task by pod phase."""

    phase: dict[str, int] | None = None


class JobCondition(Model, kw_only=True):
    status: str
    last_transition_time: Time | None = None


class JobStatus(Model, kw_only=True):
    state: JobState | None = None
    min_available: NonNegative = None
    task_status_count: dict[str, TaskState] | None = None
    pending: NonNegative = None
    running: NonNegative = None
    succeeded: NonNegative = None
    failed: NonNegative = None
    terminating: NonNegative = None
    unknown: NonNegative = None
    version: NonNegative = None
    retry_count: NonNegative = None
    running_duration: Duration | None = None
    controlled_resources: dict[str, str] | None = None
    conditions: list[JobCondition] | None = None


class Job(Model, kw_only=True):
    """A Volcano Job: tasks of pods scheduled as a gang, with lifecycle policies."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: JobSpec | None = None
    status: JobStatus | None = None


class JobList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[Job] | None = None


# --- CronJob ----------------------------------------------------------------------------


class JobTemplateSpec(Model, kw_only=True):
    """Metadata and spec of the Jobs a CronJob creates."""

    metadata: ObjectMeta | None = None
    spec: JobSpec | None = None


class CronJobSpec(Model, kw_only=True):
    schedule: str
    job_template: JobTemplateSpec
    time_zone: str | None = None
    starting_deadline_seconds: NonNegative = None
    concurrency_policy: Annotated[str | None, one_of(ConcurrencyPolicy), openapi(default="Allow")] = None
    suspend: Annotated[bool | None, openapi(default=False)] = None
    successful_jobs_history_limit: Annotated[int | None, openapi(minimum=0, default=3)] = None
    failed_jobs_history_limit: Annotated[int | None, openapi(minimum=0, default=1)] = None


class CronJobStatus(Model, kw_only=True):
    active: list[ObjectReference] | None = None
    last_schedule_time: Time | None = None
    last_successful_time: Time | None = None


class CronJob(Model, kw_only=True):
    """Creates a Volcano Job on a cron schedule."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: CronJobSpec | None = None
    status: CronJobStatus | None = None


class CronJobList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[CronJob] | None = None
