"""``flow.volcano.sh/v1alpha1``: JobFlow and JobTemplate, for running jobs in dependency order."""

from __future__ import annotations

from typing import Annotated

from pyroclast.common.models.batch import JobSpec, TaskState
from pyroclast.common.models.core import HTTPHeader
from pyroclast.common.models.enums import JobFlowPhase, RetainPolicy
from pyroclast.common.models.meta import ListMeta, ObjectMeta
from pyroclast.common.models.wire import Duration, Model, NonNegative, Time, one_of, openapi

_Port = Annotated[int, openapi(minimum=0, maximum=65535)]
_TaskName = Annotated[str | None, openapi(maxLength=253)]

FLOW_API_VERSION = "flow.volcano.sh/v1alpha1"


class HttpGet(Model, kw_only=True):
    """Probe passing when an HTTP GET on a task's pod succeeds."""

    task_name: _TaskName = None
    path: str | None = None
    port: _Port | None = None
    http_header: HTTPHeader | None = None


class TcpSocket(Model, kw_only=True):
    """Probe passing when a TCP connection to a task's pod opens."""

    task_name: _TaskName = None
    port: _Port


class TaskStatusProbe(Model, kw_only=True):
    """Probe passing when a task reaches ``phase`` (Volcano's flow ``TaskStatus``)."""

    task_name: _TaskName = None
    phase: Annotated[str | None, openapi(maxLength=63)] = None


class FlowProbe(Model, kw_only=True):
    http_get_list: list[HttpGet] | None = None
    tcp_socket_list: list[TcpSocket] | None = None
    task_status_list: list[TaskStatusProbe] | None = None


class FlowDependsOn(Model, kw_only=True):
    """Flows that must finish (or whose probes must pass) before this one starts."""

    targets: list[str] | None = None
    probe: FlowProbe | None = None


class Patch(Model, kw_only=True):
    """Changes applied to the JobTemplate's spec when the flow creates its job."""

    job_spec: JobSpec | None = None


class Flow(Model, kw_only=True):
    """One step of a JobFlow; ``name`` is the JobTemplate it instantiates."""

    name: Annotated[str, openapi(minLength=1)]
    depends_on: FlowDependsOn | None = None
    patch: Patch | None = None


class JobFlowSpec(Model, kw_only=True):
    flows: list[Flow] | None = None
    job_retain_policy: Annotated[str | None, one_of(RetainPolicy)] = None


class JobRunningHistory(Model, kw_only=True):
    start_timestamp: Time | None = None
    end_timestamp: Time | None = None
    state: str | None = None


class FlowJobStatus(Model, kw_only=True):
    """State of one job created by a JobFlow."""

    name: str | None = None
    state: str | None = None
    start_timestamp: Time | None = None
    end_timestamp: Time | None = None
    restart_count: NonNegative = None
    running_histories: list[JobRunningHistory] | None = None


class FlowCondition(Model, kw_only=True):
    """Snapshot of one job in ``JobFlowStatus.conditions``."""

    phase: str | None = None
    create_time: Time | None = None
    running_duration: Duration | None = None
    task_status_count: dict[str, TaskState] | None = None


class JobFlowState(Model, kw_only=True):
    phase: Annotated[str | None, one_of(JobFlowPhase)] = None


class JobFlowStatus(Model, kw_only=True):
    pending_jobs: list[str] | None = None
    running_jobs: list[str] | None = None
    failed_jobs: list[str] | None = None
    completed_jobs: list[str] | None = None
    terminated_jobs: list[str] | None = None
    un_know_jobs: list[str] | None = None
    job_status_list: list[FlowJobStatus] | None = None
    conditions: dict[str, FlowCondition] | None = None
    state: JobFlowState | None = None


class JobFlow(Model, kw_only=True):
    """A graph of JobTemplates run as Jobs in dependency order."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: JobFlowSpec | None = None
    status: JobFlowStatus | None = None


class JobFlowList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[JobFlow] | None = None


class JobTemplateStatus(Model, kw_only=True):
    job_depends_on_list: list[str] | None = None


class JobTemplate(Model, kw_only=True):
    """A Job spec stored for JobFlows to instantiate."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: JobSpec | None = None
    status: JobTemplateStatus | None = None


class JobTemplateList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[JobTemplate] | None = None
