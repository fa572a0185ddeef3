"""PATCH: JSON merge, JSON patch and strategic merge patches, and server-side apply
(field managers, conflicts, removal of fields dropped from an applied configuration)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import yaml

from . import managed, patch, status
from .registry import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    _first_line,
    qualified_kind,
)
from .resources import ResourceType
from .status import Cause
from .store import Obj, deep_copy

if TYPE_CHECKING:
    from .registry import Registry

# ---- patch ---------------------------------------------------------------------------------


async def patch_object(
    reg: Registry,
    rt: ResourceType,
    namespace: str,
    name: str,
    content_type: str,
    raw: bytes,
    *,
    subresource: str = "",
    field_manager: str = "",
    force: bool = False,
    dry_run: bool = False,
    strict: bool = False,
) -> Obj:
    if content_type == APPLY_PATCH:
        return await apply_object(
            reg,
            rt,
            namespace,
            name,
            raw,
            subresource=subresource,
            field_manager=field_manager,
            force=force,
            dry_run=dry_run,
            strict=strict,
        )
    accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
    if rt.builtin:
        accepted.insert(2, STRATEGIC_PATCH)
    if content_type not in accepted:
        raise status.unsupported_media_type(content_type, accepted)
    try:
        body = _decode_patch(raw) if raw.strip() else None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise status.bad_request(f"error decoding patch: {_first_line(exc)}") from None
    if content_type != JSON_PATCH and not isinstance(body, dict):
        raise status.bad_request(
            "json: cannot unmarshal "
            + ("array" if isinstance(body, list) else "value")
            + " into Go value of type "
            "map[string]interface {}"
        )
    old = reg.get(rt, namespace, name)
    doc = deep_copy(reg.present(rt, old))
    try:
        if content_type == MERGE_PATCH:
            patched = patch.merge_patch(doc, body)
        elif content_type == JSON_PATCH:
            patched = patch.json_patch(doc, body)
        else:
            patched = patch.strategic_merge_patch(doc, body)
    except patch.PatchError as exc:
        raise status.ApiError(
            422,
            "Invalid",
            f"the server rejected our request due to an error in our request: {exc}",
            {},
            [Cause("FieldValueInvalid", str(exc), "patch")],
        ) from None
    if not isinstance(patched, dict):
        raise status.bad_request("the patched object must be a JSON object")
    pmeta = patched.get("metadata")
    if isinstance(pmeta, dict):
        if pmeta.get("name", name) != name:
            raise status.bad_request(
                f"the name of the object ({pmeta.get('name')}) does not match the name on the URL ({name})"
            )
        pmeta["name"] = name
    return await reg.update(
        rt,
        namespace,
        name,
        patched,
        subresource=subresource,
        dry_run=dry_run,
        strict=strict,
        owned=content_type == MERGE_PATCH,  # a fresh tree (a JSON patch may share values)
    )


async def apply_object(
    reg: Registry,
    rt: ResourceType,
    namespace: str,
    name: str,
    raw: bytes,
    *,
    subresource: str = "",
    field_manager: str = "",
    force: bool = False,
    dry_run: bool = False,
    strict: bool = False,
) -> Obj:
    try:
        applied = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise status.bad_request(f"error decoding YAML: {_first_line(exc)}") from None
    if not isinstance(applied, dict):
        raise status.bad_request("the body of an apply request must be an object")
    if not field_manager:
        raise status.invalid(
            rt.group,
            qualified_kind(rt),
            name,
            [status.field_required("fieldManager", "is required for apply requests")],
        )
    if not applied.get("apiVersion") or not applied.get("kind"):
        raise status.bad_request(
            "invalid object type: apiVersion and kind must be set in an applied configuration"
        )
    reg._check_type(rt, applied)
    ameta = applied.setdefault("metadata", {})
    if not isinstance(ameta, dict):
        raise status.bad_request("metadata must be an object")
    if ameta.get("name") and ameta["name"] != name:
        raise status.bad_request(
            f"the name of the object ({ameta['name']}) does not match the name on the URL ({name})"
        )
    ameta["name"] = name
    list_keys = reg.list_keys(rt)
    ns = namespace if rt.namespaced else ""
    old = reg.store.get(rt.key, ns, name)
    if old is None:
        if subresource:
            raise status.not_found(rt.group, rt.plural, name)
        entries = managed.record_apply({}, applied, field_manager, rt.api_version, list_keys, "", False)[0]
        return await reg.create(rt, namespace, applied, dry_run=dry_run, strict=strict, fields=entries)
    live = deep_copy(reg.present(rt, old))
    if not force:
        causes = managed.apply_conflicts(live, applied, field_manager, list_keys, subresource)
        if causes:
            raise managed.conflict_error(rt.plural, rt.group, name, causes)
    entries, previous = managed.record_apply(
        live, applied, field_manager, rt.api_version, list_keys, subresource, force
    )
    others = managed.others_paths(entries, field_manager, subresource)
    merged, _ = patch.apply_merge(live, applied, list_keys, previous, others)
    merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
    merged["metadata"]["managedFields"] = entries
    return await reg.update(
        rt,
        namespace,
        name,
        merged,
        subresource=subresource,
        dry_run=dry_run,
        strict=strict,
        fields=entries,
    )


def _decode_patch(raw: bytes) -> Any:
    """A patch body: JSON (what clients send, decoded fast), else YAML (a superset)."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return yaml.safe_load(raw.decode("utf-8"))
