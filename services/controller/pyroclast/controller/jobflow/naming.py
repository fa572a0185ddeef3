"""Names, labels and ownership linking a JobFlow, its JobTemplates and the Jobs it creates."""

from __future__ import annotations

from typing import Final

from pyroclast.common.models import Job, ObjectMeta, OwnerReference
from pyroclast.common.models.flow import FLOW_API_VERSION, JobFlow

CREATED_BY_JOB_TEMPLATE: Final = "volcano.sh/createdByJobTemplate"
"""Label and annotation on a job: ``<namespace>.<template>``."""
CREATED_BY_JOB_FLOW: Final = "volcano.sh/createdByJobFlow"
"""Label and annotation on a job: ``<namespace>.<flow>``."""
JOBFLOW_KIND: Final = "JobFlow"


def job_name(flow_name: str, template_name: str) -> str:
    """``<jobflow>-<jobtemplate>``."""
    return f"{flow_name}-{template_name}"


def object_string(namespace: str, name: str) -> str:
    """``<namespace>.<name>``, the value of the created-by labels."""
    return f"{namespace}.{name}"


def meta_of(obj: JobFlow | Job) -> ObjectMeta:
    return obj.metadata or ObjectMeta()


def controller_ref(flow: JobFlow) -> OwnerReference:
    """The controller reference a created job carries to its JobFlow."""
    meta = meta_of(flow)
    return OwnerReference(
        api_version=FLOW_API_VERSION,
        kind=JOBFLOW_KIND,
        name=meta.name,
        uid=meta.uid,
        controller=True,
        block_owner_deletion=True,
    )


def is_controlled_by_jobflow(job: Job) -> bool:
    """Whether the job's controller reference is a ``flow.volcano.sh/v1alpha1`` JobFlow."""
    for ref in meta_of(job).owner_references or []:
        if ref.controller:
            return ref.api_version == FLOW_API_VERSION and ref.kind == JOBFLOW_KIND
    return False


def jobflow_of_job(job: Job) -> str | None:
    """Name of the JobFlow owning ``job`` (first JobFlow owner of a volcano API group)."""
    for ref in meta_of(job).owner_references or []:
        if ref.kind == JOBFLOW_KIND and "volcano" in (ref.api_version or ""):
            return ref.name or None
    return None


def created_by(job: Job, key: str, value: str) -> bool:
    return (meta_of(job).labels or {}).get(key) == value
