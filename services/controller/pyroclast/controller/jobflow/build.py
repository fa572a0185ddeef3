"""The Job a JobFlow creates from a JobTemplate, and the optional patch merge."""

from __future__ import annotations

from typing import Any

import msgspec

from pyroclast.common.models import Job, JobSpec, ObjectMeta
from pyroclast.common.models.batch import BATCH_API_VERSION
from pyroclast.common.models.flow import Flow, JobFlow, JobTemplate
from pyroclast.controller.jobflow.naming import (
    CREATED_BY_JOB_FLOW,
    CREATED_BY_JOB_TEMPLATE,
    controller_ref,
    job_name,
    meta_of,
    object_string,
)


def merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into ``base``: structs field by field, maps key by key, lists of
    named items by ``name`` (unmatched items appended), any other value replaced."""
    if patch is None:
        return base
    if base is None:
        return patch
    if isinstance(base, msgspec.Struct) and type(base) is type(patch):
        changes = {f: merge(getattr(base, f), getattr(patch, f)) for f in base.__struct_fields__}
        return msgspec.structs.replace(base, **changes)
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **patch}
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        out = list(base)
        index = {item.name: i for i, item in enumerate(out)}
        for item in patch:
            if item.name in index:
                out[index[item.name]] = merge(out[index[item.name]], item)
            else:
                out.append(item)
        return out
    return patch


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, msgspec.Struct) and getattr(i, "name", None) for i in items)


def job_spec(template: JobTemplate, flow: Flow, apply_patch: bool = False) -> JobSpec:
    """The template's spec; with ``apply_patch``, the flow's ``patch.jobSpec`` merged in.

    Volcano's controller ignores ``patch`` (only its design proposes the merge), so the
    default keeps the template's spec unchanged.
    """
    spec = template.spec or JobSpec()
    if apply_patch and flow.patch is not None and flow.patch.job_spec is not None:
        merged: JobSpec = merge(spec, flow.patch.job_spec)
        return merged
    return spec


def build_job(jobflow: JobFlow, flow: Flow, template: JobTemplate, apply_patch: bool = False) -> Job:
    """Job ``<flow>-<template>`` in the flow's namespace, labelled and annotated with both
    creators and controlled by the JobFlow."""
    meta = meta_of(jobflow)
    namespace, name = meta.namespace or "", meta.name or ""
    marks = {
        CREATED_BY_JOB_TEMPLATE: object_string(namespace, flow.name),
        CREATED_BY_JOB_FLOW: object_string(namespace, name),
    }
    return Job(
        api_version=BATCH_API_VERSION,
        kind="Job",
        metadata=ObjectMeta(
            name=job_name(name, flow.name),
            namespace=namespace or None,
            labels=dict(marks),
            annotations=dict(marks),
            owner_references=[controller_ref(jobflow)],
        ),
        spec=job_spec(template, flow, apply_patch),
    )
