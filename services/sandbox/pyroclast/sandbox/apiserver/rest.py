"""The REST handlers for resources: routing of /api and /apis paths and the verbs on them."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import msgspec
import yaml
from aiohttp import web

from . import managed, media, patching, status, subresources, tables
from .admission import CURRENT_USER
from .deletion import DeleteOptions
from .registry import APPLY_PATCH, APPLY_PATCH_CBOR, Registry
from .resources import ResourceType
from .reviews import REVIEW_GROUPS, review
from .selectors import compile_field_selector, match_labels, parse_field_selector, parse_label_selector
from .status import ApiError
from .store import Obj, encode

MAX_BODY = 3 * 1024 * 1024
ACCEPTED_BODY = ("application/json", "application/yaml", "*/*", "")


@dataclass
class Target:
    rt: ResourceType
    namespace: str
    name: str
    subresource: str


def json_response(data: Any, code: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=encode(data), status=code, content_type="application/json", headers=headers)


def error_response(err: ApiError) -> web.Response:
    return json_response(err.to_status(), err.code)


def yaml_response(data: Any, code: int = 200) -> web.Response:
    return web.Response(
        text=yaml.safe_dump(data, sort_keys=False), status=code, content_type="application/yaml"
    )


def resolve(registry: Registry, group: str, version: str, segments: list[str]) -> Target:
    """Map the path after /api/v1 or /apis/<g>/<v> to a resource target."""
    types = registry.types
    namespace = ""
    if len(segments) >= 3 and segments[0] == "namespaces":
        rt = types.get(group, version, segments[2])
        if rt is not None and rt.namespaced:
            namespace = segments[1]
            segments = segments[2:]
    if not segments:
        raise status.resource_not_found()
    rt = types.get(group, version, segments[0])
    if rt is None:
        raise status.resource_not_found()
    name = segments[1] if len(segments) > 1 else ""
    sub = segments[2] if len(segments) > 2 else ""
    if len(segments) > 3 or (sub and sub not in rt.subresources):
        raise status.resource_not_found()
    return Target(rt, namespace, name, sub)


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise status.too_large(MAX_BODY)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise status.too_large(MAX_BODY)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_object(raw: bytes, content_type: str, rt: ResourceType) -> Any:
    ct = media.content_type_of(content_type)
    if ct == media.PROTOBUF:
        from .protobuf import ProtobufError, decode_body

        try:
            return decode_body(raw)
        except (ProtobufError, UnicodeDecodeError, ValueError) as exc:
            raise status.bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): {exc}"
            ) from None
    if ct not in ACCEPTED_BODY:
        raise status.unsupported_media_type(
            ct, ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
        )
    if not raw.strip():
        raise status.bad_request(
            f"the object provided is unrecognized (must be of type {rt.kind}): empty body"
        )
    try:
        if ct == "application/yaml":
            return yaml.safe_load(raw.decode("utf-8"))
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid body"
        raise status.bad_request(
            f"the object provided is unrecognized (must be of type {rt.kind}): couldn't get version/kind; "
            f"json parse error: {detail}"
        ) from None


class Filters:
    """Label and field selectors of a list or watch request."""

    def __init__(self, rt: ResourceType, query: Any) -> None:
        self.labels = (
            parse_label_selector(query.get("labelSelector", "")) if query.get("labelSelector") else []
        )
        fs = query.get("fieldSelector", "")
        self.fields = (
            compile_field_selector(rt.kind, rt.api_version, parse_field_selector(fs)) if fs else None
        )

    def match(self, obj: Obj) -> bool:
        if self.labels and not match_labels(self.labels, obj.get("metadata", {}).get("labels")):
            return False
        return self.fields is None or self.fields(obj)


def encode_continue(rv: int, start_after: tuple[str, str]) -> str:
    data = json.dumps({"rv": rv, "start": list(start_after)}).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, TypeError, IndexError):
        raise status.bad_request("continue key is not valid: illegal base64 data") from None


class ResourceHandlers:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # ---- list ----------------------------------------------------------------------------------

    def list_objects(self, target: Target, query: Any) -> tuple[list[Obj], Obj]:
        rt = target.rt
        filters = Filters(rt, query)
        ns = target.namespace if rt.namespaced and target.namespace else None
        items = [o for o in self.registry.store.select(rt.key, ns) if filters.match(o)]
        meta: Obj = {"resourceVersion": str(self.registry.store.rv)}
        limit = query.get("limit")
        token = query.get("continue")
        if token:
            rv, start = decode_continue(token)
            meta["resourceVersion"] = str(rv)
            items = [o for o in items if _sort_key(o) > start]
        if limit:
            try:
                n = int(limit)
            except ValueError:
                raise status.bad_request(f"invalid limit: {limit}") from None
            if 0 < n < len(items):
                last = items[n - 1]
                meta["continue"] = encode_continue(int(meta["resourceVersion"]), _sort_key(last))
                meta["remainingItemCount"] = len(items) - n
                items = items[:n]
        return [self.registry.present(rt, o) for o in items], meta

    async def _wait_for_resource_version(self, query: Any) -> None:
        """A list at a resourceVersion the server has not reached yet waits briefly, then fails."""
        text = query.get("resourceVersion", "")
        if not text or text == "0" or query.get("continue"):
            return
        try:
            wanted = int(text)
        except ValueError:
            raise status.bad_request(f"invalid resource version: {text}") from None
        store = self.registry.store
        for _ in range(30):
            if store.rv >= wanted:
                return
            await asyncio.sleep(0.1)
        raise status.too_large_resource_version(wanted, store.rv)

    async def handle(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt = target.rt
        method = request.method
        q = request.query
        manager = q.get("fieldManager") or managed.manager_from_user_agent(
            request.headers.get("User-Agent", "")
        )
        if len(manager) > 128:
            raise status.invalid(
                rt.group, rt.kind, target.name, [status.field_too_long("fieldManager", manager, 128)]
            )
        managed.FIELD_MANAGER.set(manager)
        if target.subresource:
            return await self.subresource(request, target)
        if not target.name:
            if method == "GET":
                if q.get("watch") in ("1", "true", "True"):
                    from .watch import serve_watch

                    return await serve_watch(request, self.registry, target)
                self._verb(rt, "list")
                await self._wait_for_resource_version(q)
                return self.respond_list(request, target)
            if method == "POST":
                self._verb(rt, "create")
                raw = await read_body(request)
                body = decode_object(raw, request.headers.get("Content-Type", ""), rt)
                if rt.group in REVIEW_GROUPS:
                    user = CURRENT_USER.get()
                    return json_response(review(rt, body, user, self.registry.tokens), 201)
                created = await self.registry.create(
                    rt, target.namespace, body, dry_run=_dry_run(q), strict=_strict(q)
                )
                return self.respond_object(request, rt, created, 201)
            if method == "DELETE":
                self._verb(rt, "deletecollection")
                return await self.delete_collection(request, target)
            raise status.method_not_allowed()
        if method == "GET":
            self._verb(rt, "get")
            obj = self.registry.get(rt, target.namespace, target.name)
            return self.respond_object(request, rt, obj)
        if method == "PUT":
            self._verb(rt, "update")
            raw = await read_body(request)
            body = decode_object(raw, request.headers.get("Content-Type", ""), rt)
            updated = await self.registry.update(
                rt, target.namespace, target.name, body, dry_run=_dry_run(q), strict=_strict(q), owned=True
            )
            return self.respond_object(request, rt, updated)
        if method == "PATCH":
            self._verb(rt, "patch")
            return await self.patch(request, target)
        if method == "DELETE":
            self._verb(rt, "delete")
            raw = await read_body(request)
            opts_body = _delete_options_body(raw)
            obj, gone = await self.registry.delete(
                rt, target.namespace, target.name, DeleteOptions.parse(opts_body, q)
            )
            return self.respond_object(request, rt, obj, 200 if gone else 202)
        raise status.method_not_allowed()

    def _verb(self, rt: ResourceType, verb: str) -> None:
        if verb not in rt.verbs:
            raise status.method_not_allowed()

    async def patch(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, q = target.rt, request.query
        ct = media.content_type_of(request.headers.get("Content-Type", ""))
        if ct == APPLY_PATCH_CBOR:
            raise status.unsupported_media_type(ct, [APPLY_PATCH])
        raw = await read_body(request)
        existed = (
            self.registry.store.get(rt.key, target.namespace if rt.namespaced else "", target.name)
            is not None
        )
        obj = await patching.patch_object(
            self.registry,
            rt,
            target.namespace,
            target.name,
            ct,
            raw,
            subresource=target.subresource if target.subresource == "status" else "",
            field_manager=q.get("fieldManager", ""),
            force=q.get("force") == "true",
            dry_run=_dry_run(q),
            strict=_strict(q),
        )
        return self.respond_object(request, rt, obj, 201 if ct == APPLY_PATCH and not existed else 200)

    async def delete_collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        raw = await read_body(request)
        opts = DeleteOptions.parse(_delete_options_body(raw), request.query)
        items, _ = self.list_objects(
            target, {k: v for k, v in request.query.items() if k not in ("limit", "continue")}
        )
        deleted = []
        for obj in items:
            meta = obj["metadata"]
            try:
                gone, _ = await self.registry.delete(target.rt, meta.get("namespace", ""), meta["name"], opts)
                deleted.append(gone)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        rt = target.rt
        return json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.registry.store.rv)},
                "items": [self.registry.present(rt, o) for o in deleted],
            }
        )

    # ---- representations -----------------------------------------------------------------------

    def respond_list(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt = target.rt
        neg = media.negotiate(request.headers.get("Accept", ""), allow_table=True)
        if neg is None:
            raise status.not_acceptable(["application/json", "application/yaml"])
        items, meta = self.list_objects(target, request.query)
        if neg.kind == "table":
            include = request.query.get("includeObject", "Metadata")
            return json_response(tables.to_table(rt, items, include, meta))
        if neg.kind == "partial":
            return json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                    "items": [tables.partial(o) for o in items],
                }
            )
        body = {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items}
        return yaml_response(body) if neg.kind == "yaml" else json_response(body)

    def respond_object(
        self, request: web.Request, rt: ResourceType, obj: Obj, code: int = 200
    ) -> web.StreamResponse:
        neg = media.negotiate(request.headers.get("Accept", ""), allow_table=True)
        if neg is None:
            raise status.not_acceptable(["application/json", "application/yaml"])
        obj = self.registry.present(rt, obj)
        if neg.kind == "table":
            include = request.query.get("includeObject", "Metadata")
            return json_response(
                tables.to_table(
                    rt, [obj], include, {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                ),
                code,
            )
        if neg.kind == "partial":
            return json_response(tables.partial(obj), code)
        return yaml_response(obj, code) if neg.kind == "yaml" else json_response(obj, code)

    # ---- subresources --------------------------------------------------------------------------

    async def subresource(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, sub, method, q = target.rt, target.subresource, request.method, request.query
        reg = self.registry
        if sub == "status" or (sub == "finalize" and rt.kind == "Namespace"):
            if method == "GET":
                return self.respond_object(request, rt, reg.get(rt, target.namespace, target.name))
            if method == "PUT":
                raw = await read_body(request)
                body = decode_object(raw, request.headers.get("Content-Type", ""), rt)
                if sub == "finalize":
                    obj = await self._finalize(target, body)
                else:
                    obj = await reg.update(
                        rt,
                        target.namespace,
                        target.name,
                        body,
                        subresource="status",
                        dry_run=_dry_run(q),
                        owned=True,
                    )
                return self.respond_object(request, rt, obj)
            if method == "PATCH" and sub == "status":
                return await self.patch(request, target)
            raise status.method_not_allowed()
        if sub == "scale":
            if method == "GET":
                scale = subresources.scale_of(reg, rt, reg.get(rt, target.namespace, target.name))
                neg = media.negotiate(request.headers.get("Accept", ""), allow_table=True)
                if neg is not None and neg.kind == "table":
                    return json_response(tables.scale_table(scale))
                return json_response(scale)
            if method in ("PUT", "PATCH"):
                raw = await read_body(request)
                if method == "PUT":
                    body = decode_object(raw, request.headers.get("Content-Type", ""), rt)
                else:
                    from . import patch as patching

                    current = subresources.scale_of(reg, rt, reg.get(rt, target.namespace, target.name))
                    ct = media.content_type_of(request.headers.get("Content-Type", ""))
                    try:
                        p = json.loads(raw or b"null")
                        if ct == "application/json-patch+json":
                            body = patching.json_patch(current, p)
                        else:
                            body = patching.merge_patch(current, p)
                    except (ValueError, patching.PatchError) as exc:
                        raise status.bad_request(f"error decoding patch: {exc}") from None
                return json_response(
                    await subresources.set_scale(reg, rt, target.namespace, target.name, body)
                )
            raise status.method_not_allowed()
        if sub == "binding" and method == "POST":
            raw = await read_body(request)
            body = decode_object(raw, request.headers.get("Content-Type", ""), rt)
            await subresources.bind(reg, rt, target.namespace, target.name, body)
            return json_response(status.success_status(), 201)
        if sub == "eviction" and method == "POST":
            raw = await read_body(request)
            body = decode_object(raw, request.headers.get("Content-Type", ""), rt)
            opts_body = body.get("deleteOptions") if isinstance(body, dict) else None
            from .disruption import check_eviction

            check_eviction(reg.store, reg.get(rt, target.namespace, target.name))
            await reg.delete(rt, target.namespace, target.name, DeleteOptions.parse(opts_body, {}))
            return json_response(status.success_status(), 201)
        if sub == "log" and method == "GET":
            from .logs import serve_log

            return await serve_log(request, reg, target)
        raise status.method_not_allowed()

    async def _finalize(self, target: Target, body: Any) -> Obj:
        reg = self.registry
        rt = target.rt
        current = reg.get(rt, "", target.name)
        from .store import deep_copy

        new = deep_copy(current)
        spec = body.get("spec") if isinstance(body, dict) else None
        spec_finalizers = spec.get("finalizers") if isinstance(spec, dict) else None
        spec_finalizers = spec_finalizers or []
        if not isinstance(spec_finalizers, list) or not all(isinstance(f, str) for f in spec_finalizers):
            raise status.bad_request("spec.finalizers must be a list of strings")
        new.setdefault("spec", {})["finalizers"] = spec_finalizers
        if (
            not spec_finalizers
            and new["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
        ):
            return await reg._remove(rt, new)
        return await reg.store.put(rt.key, new, created=False)


def _sort_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))


def _dry_run(q: Any) -> bool:
    return bool(q.get("dryRun"))


def _strict(q: Any) -> bool:
    return bool(q.get("fieldValidation") == "Strict")


def _delete_options_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    if raw.startswith(b"k8s\x00"):
        from .protobuf import ProtobufError, decode_body

        try:
            return decode_body(raw)
        except (ProtobufError, UnicodeDecodeError, ValueError) as exc:
            raise status.bad_request(f"invalid DeleteOptions: {exc}") from None
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        try:
            return yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            raise status.bad_request("the body of the request was in an unknown format") from None
