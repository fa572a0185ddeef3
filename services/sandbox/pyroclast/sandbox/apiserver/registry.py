"""The semantics of the API verbs on stored objects: create, update, patch, apply, delete.

Handlers (rest.py) and the in-process controllers (gc.py) both go through this class, so an
object deleted by the garbage collector follows the same finalizer and grace-period rules as one
deleted by a client.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from typing import Any

import structlog

from . import conversion, crd_lifecycle, crds, deletion, managed, patch, plugins, status
from .admission import Admission
from .deletion import DeleteOptions
from .managed import ListKeys
from .resources import ResourceTable, ResourceType
from .status import ApiError, Cause
from .store import Obj, ObjectStore, deep_copy
from .strategies import GENERATION_KINDS, prepare_create, validate, validate_metadata, validate_name

log = structlog.get_logger("pyroclast.sandbox.apiserver.registry")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"


def new_uid() -> str:
    """A random (version 4) UUID, without a system call per object as ``uuid.uuid4`` makes."""
    return str(uuid.UUID(int=_uid_random.getrandbits(128), version=4))


_uid_random = random.Random()


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def qualified_kind(rt: ResourceType) -> str:
    return f"{rt.kind}.{rt.group}" if rt.group else rt.kind


class Registry:
    def __init__(self, store: ObjectStore, types: ResourceTable) -> None:
        self.store = store
        self.types = types
        self._ip_counter = 1
        self.admission = Admission(store)
        self.tokens: dict[str, str] = {}  # bearer token -> user name (for TokenReview)
        self.ca_pem = ""
        self.background: set[asyncio.Task[Any]] = set()

    # ---- bootstrap -----------------------------------------------------------------------------

    async def bootstrap(self, host: str = "127.0.0.1", port: int = 443, ca_pem: str = "") -> None:
        """Register stored CRDs and make sure the objects of a fresh cluster exist."""
        self.ca_pem = ca_pem
        for crd in self.store.select("apiextensions.k8s.io/customresourcedefinitions"):
            if not crd["metadata"].get("deletionTimestamp"):
                crd_lifecycle.register(self, crd)
        ns_rt = self.types.get("", "v1", "namespaces")
        assert ns_rt is not None
        for name in INITIAL_NAMESPACES:
            if self.store.get(ns_rt.key, "", name) is None:
                await self.create(ns_rt, "", {"metadata": {"name": name}})
        for resource, namespace, obj in plugins.cluster_objects(host, port):
            rt = next(t for t in self.types.all() if t.plural == resource and t.builtin)
            current = self.store.get(rt.key, namespace, obj["metadata"]["name"])
            if current is None:
                await self.create(rt, namespace, obj)
            elif resource == "endpoints" and current.get("subsets") != obj["subsets"]:
                # The server's port may differ from the previous run.
                await self.update(
                    rt, namespace, obj["metadata"]["name"], {**current, "subsets": obj["subsets"]}
                )
        for svc in self.store.select("core/services"):
            ip = (svc.get("spec") or {}).get("clusterIP", "")
            if isinstance(ip, str) and ip.startswith("10.96."):
                parts = ip.split(".")
                self._ip_counter = max(self._ip_counter, int(parts[2]) * 256 + int(parts[3]) + 1)

    # ---- helpers -------------------------------------------------------------------------------

    def storage_type(self, rt: ResourceType) -> ResourceType:
        """The type objects of ``rt`` are stored as (itself unless it is a view of another group)."""
        if rt.storage or "storage_key" not in rt.extra:
            return rt
        return self.types.by_key(rt.key) or rt

    def to_storage(self, rt: ResourceType, body: Any) -> Any:
        if rt.group == "events.k8s.io" and isinstance(body, dict):
            if body.get("apiVersion") not in (None, rt.api_version) or body.get("kind") not in (
                None,
                rt.kind,
            ):
                self._check_type(rt, body)
            return conversion.v1_event_to_core(body)
        return body

    def present(self, rt: ResourceType, obj: Obj) -> Obj:
        """The object as the requested version shows it (custom resources are not converted)."""
        if rt.group == "events.k8s.io" and obj.get("apiVersion") == "v1":
            return conversion.core_event_to_v1(obj)
        if obj.get("apiVersion") == rt.api_version and obj.get("kind") == rt.kind:
            return obj
        out = dict(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        return out

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if obj is None:
            raise status.not_found(rt.group, rt.plural, name)
        return obj

    def check_namespace(self, rt: ResourceType, namespace: str, name: str, creating: bool) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get("core/namespaces", "", namespace)
        if ns is None:
            raise status.not_found("", "namespaces", namespace)
        if creating and ns["metadata"].get("deletionTimestamp"):
            err = status.forbidden(
                rt.group,
                rt.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )
            err.causes = [
                Cause(
                    "NamespaceTerminating",
                    f"namespace {namespace} is being terminated",
                    "metadata.namespace",
                )
            ]
            raise err

    def _check_type(self, rt: ResourceType, body: Obj) -> None:
        api_version, kind = body.get("apiVersion"), body.get("kind")
        for field, value in (("apiVersion", api_version), ("kind", kind)):
            if value is not None and not isinstance(value, str):
                raise status.bad_request(
                    f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                    f"{type(value).__name__} into Go struct field .{field} of type string"
                )
        if kind and kind != rt.kind:
            raise status.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {kind}: '
                f'no kind "{kind}" is registered for version "{rt.api_version}" in scheme'
            )
        if api_version and api_version != rt.api_version:
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            if group != rt.group:
                raise status.bad_request(
                    f"the API version in the data ({api_version}) does not match the expected API version "
                    f"({rt.api_version})"
                )

    def _check_types(self, rt: ResourceType, obj: Obj) -> None:
        """Reject what decoding into the Go types would reject (400), before any defaulting."""
        from .typecheck import TypeMismatch, check_metadata, check_types

        try:
            if rt.builtin:
                check_types(rt, obj)
            else:
                check_metadata(obj)
        except TypeMismatch as exc:
            raise status.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {exc}'
            ) from None

    def _unknown_fields(self, rt: ResourceType, obj: Obj) -> list[str]:
        """Fields of ``obj`` its schema does not know (dropped from ``obj`` in place)."""
        if rt.builtin:
            from .typecheck import drop_path, unknown_fields

            unknown = unknown_fields(rt, obj)
            for _, path in reversed(unknown):
                drop_path(obj, path)
            return [display for display, _ in unknown]
        if rt.schema is not None:
            return crds.prune(rt.schema, obj)
        return []

    def _check_request_fields(self, rt: ResourceType, obj: Obj, strict: bool) -> list[str]:
        """Unknown fields of the request body itself, checked before admission as kube does.

        With fieldValidation=Strict they fail the request; otherwise each becomes a warning.
        Fields that mutating webhooks add later are pruned silently by :meth:`_validate`.
        """
        if rt.builtin:
            from .typecheck import unknown_fields

            dropped = [display for display, _ in unknown_fields(rt, obj)]  # found without dropping
        else:
            dropped = self._unknown_fields(rt, deep_copy(obj))
        if dropped and strict:
            listed = ", ".join(f'unknown field "{d}"' for d in dropped)
            raise status.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {listed}"
            )
        for d in dropped:
            status.add_warning(f'unknown field "{d}"')
        return dropped

    def _validate(self, rt: ResourceType, obj: Obj) -> None:
        """Validate (raising 422) and default; drop fields the schema does not know."""
        meta = obj["metadata"]
        causes: list[Cause] = []
        causes += validate_metadata(rt.kind, meta)
        if rt.builtin:
            try:
                causes += validate(rt.kind, obj)
            except (AttributeError, TypeError, KeyError, ValueError) as exc:
                raise status.bad_request(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {exc}'
                ) from None
            self._unknown_fields(rt, obj)
        elif rt.schema is not None:
            crds.apply_defaults(rt.schema, obj)
            crds.prune(rt.schema, obj)
            causes += crds.validate_schema(rt.schema, obj)
        if causes:
            raise status.invalid(rt.group, qualified_kind(rt), meta.get("name", ""), causes)

    def _allocate_node_ports(self, svc: Obj) -> None:
        """NodePort and LoadBalancer services get node ports from 30000-32767, like kube."""
        spec = svc.get("spec")
        if not isinstance(spec, dict) or spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        used = {
            p.get("nodePort")
            for s in self.store.select("core/services")
            for p in (s.get("spec") or {}).get("ports") or ()
            if isinstance(p, dict)
        }
        used |= {p.get("nodePort") for p in spec.get("ports") or () if isinstance(p, dict)}
        candidates = (n for n in range(30000, 32768) if n not in used)
        for port in spec.get("ports") or ():
            if isinstance(port, dict) and not port.get("nodePort"):
                port["nodePort"] = next(candidates, None)

    def _allocate_ip(self) -> str:
        used = {(s.get("spec") or {}).get("clusterIP") for s in self.store.select("core/services")}
        while True:
            n = self._ip_counter
            self._ip_counter += 1
            ip = f"10.96.{n // 256}.{n % 256}"
            if ip not in used:
                return ip

    # ---- create --------------------------------------------------------------------------------

    async def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Obj,
        *,
        dry_run: bool = False,
        strict: bool = False,
        fields: list[Obj] | None = None,
        owned: bool = False,
    ) -> Obj:
        """Replace the object (or its status) with ``body``; ``owned``: the caller hands
        ``body`` over (a request's decoded body), so it is not copied first."""
        if not isinstance(body, dict):
            raise status.bad_request("the body of the request must be a JSON object")
        body, rt = self.to_storage(rt, body), self.storage_type(rt)
        self._check_type(rt, body)
        obj = deep_copy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise status.bad_request("metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            namespace = namespace or body_ns or ""
            if not namespace:
                raise status.bad_request("the namespace of the object must be set")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise status.bad_request("resourceVersion should not be set on objects to be created")
        self._check_types(rt, obj)
        name = meta.get("name") or ""
        if not name:
            prefix = meta.get("generateName") or ""
            if not prefix:
                raise status.invalid(
                    rt.group,
                    qualified_kind(rt),
                    "",
                    [status.field_required("metadata.name", "name or generateName is required")],
                )
            name = prefix + "".join(random.choices(NAME_CHARS, k=5))
            while self.store.get(rt.key, namespace if rt.namespaced else "", name) is not None:
                name = prefix + "".join(random.choices(NAME_CHARS, k=5))
            meta["name"] = name
        causes = validate_name(rt.kind, name)
        if causes:
            raise status.invalid(rt.group, qualified_kind(rt), name, causes)
        self.check_namespace(rt, namespace, name, creating=True)
        if self.store.get(rt.key, namespace if rt.namespaced else "", name) is not None:
            raise status.already_exists(rt.group, rt.plural, name)
        for field in ("uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(field, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now()
        if rt.kind in GENERATION_KINDS or not rt.builtin:
            meta["generation"] = 1
        if rt.builtin:
            ip = self._allocate_ip() if rt.kind == "Service" and not dry_run else None
            prepare_create(rt.kind, obj, ip)
            if rt.kind == "Service" and not dry_run:
                self._allocate_node_ports(obj)
            if rt.kind == "Pod":
                plugins.admit_pod(self.store, obj)
        elif rt.has_status:
            obj.pop("status", None)
        self._check_request_fields(rt, obj, strict)
        obj = await self.admission.mutate("CREATE", rt, "", namespace, name, obj, None, dry_run)
        meta = obj["metadata"] = _same_identity(obj.get("metadata"), meta)
        self._validate(rt, obj)
        if rt.kind == "CustomResourceDefinition":
            crd_lifecycle.check_names(self, obj)
        await self.admission.validate("CREATE", rt, "", namespace, name, obj, None, dry_run)
        if self.store.get(rt.key, namespace if rt.namespaced else "", name) is not None:
            # Created concurrently while the admission webhooks were being called.
            raise status.already_exists(rt.group, rt.plural, name)
        meta["managedFields"] = (
            fields
            if fields is not None
            else managed.record_update(
                None, obj, managed.FIELD_MANAGER.get(), rt.api_version, self.list_keys(rt)
            )
        )
        if not meta["managedFields"]:
            del meta["managedFields"]
        if dry_run:
            meta["resourceVersion"] = ""
            return obj
        stored = await self.store.put(rt.key, obj, created=True)
        log.debug("created", key=f"{rt.key}/{namespace}/{name}", rv=meta["resourceVersion"])
        if rt.kind == "Namespace":
            await self._populate_namespace(name)
        if rt.kind == "CustomResourceDefinition":
            crd_lifecycle.after_write(self, stored)
        return stored

    async def _populate_namespace(self, namespace: str) -> None:
        for resource, obj in plugins.namespace_objects(namespace, self.ca_pem):
            rt = self.types.get("", "v1", resource)
            if rt is not None and self.store.get(rt.key, namespace, obj["metadata"]["name"]) is None:
                try:
                    await self.create(rt, namespace, obj)
                except ApiError as exc:  # e.g. the namespace is already being deleted
                    log.warning("namespace bootstrap failed", key=f"{rt.key}/{namespace}", error=exc.message)

    # ---- update --------------------------------------------------------------------------------

    async def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Obj,
        *,
        subresource: str = "",
        dry_run: bool = False,
        strict: bool = False,
        fields: list[Obj] | None = None,
        owned: bool = False,
    ) -> Obj:
        """Replace the object (or its status) with ``body``; ``owned``: the caller hands
        ``body`` over (a request's decoded body), so it is not copied first."""
        if not isinstance(body, dict):
            raise status.bad_request("the body of the request must be a JSON object")
        body, rt = self.to_storage(rt, body), self.storage_type(rt)
        self._check_type(rt, body)
        ns = namespace if rt.namespaced else ""
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        if meta.get("name") and meta["name"] != name:
            raise status.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        old = self.store.get(rt.key, ns, name)
        if old is None:
            raise status.not_found(rt.group, rt.plural, name)
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise status.stale(rt.group, rt.plural, name)
        new = body if owned else deep_copy(body)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        self._check_types(rt, new)
        if subresource == "status":
            merged = deep_copy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            nmeta = new.setdefault("metadata", {})
            if not isinstance(nmeta, dict):
                raise status.bad_request("metadata must be an object")
            ometa = old["metadata"]
            for field in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if field in ometa:
                    nmeta[field] = ometa[field]
                else:
                    nmeta.pop(field, None)
            nmeta["name"] = name
            if rt.namespaced:
                nmeta["namespace"] = namespace
            if fields is not None:
                nmeta["managedFields"] = fields
            elif "managedFields" in ometa:
                nmeta["managedFields"] = ometa["managedFields"]
            else:
                nmeta.pop("managedFields", None)
            if rt.has_status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            if ometa.get("deletionTimestamp"):
                added = set(nmeta.get("finalizers") or ()) - set(ometa.get("finalizers") or ())
                if added:
                    raise status.invalid(
                        rt.group,
                        qualified_kind(rt),
                        name,
                        [
                            status.field_forbidden(
                                "metadata.finalizers",
                                "no new finalizers can be added if the object is being deleted",
                            )
                        ],
                    )
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        before = new["metadata"]
        self._check_request_fields(rt, new, strict)
        new = await self.admission.mutate("UPDATE", rt, subresource, namespace, name, new, old, dry_run)
        nmeta = new["metadata"] = _same_identity(new.get("metadata"), before)
        self._validate(rt, new)
        self._check_immutable(rt, old, new)
        if "generation" in old["metadata"] and _spec_changed(old, new, include_status=not rt.has_status):
            nmeta["generation"] = int(old["metadata"]["generation"]) + 1
        if new == old:
            return old
        if fields is None:
            entries = managed.record_update(
                old, new, managed.FIELD_MANAGER.get(), rt.api_version, self.list_keys(rt), subresource
            )
            if entries:
                nmeta["managedFields"] = entries
            else:
                nmeta.pop("managedFields", None)
        await self.admission.validate("UPDATE", rt, subresource, namespace, name, new, old, dry_run)
        current = self.store.get(rt.key, ns, name)
        if current is None:
            raise status.not_found(rt.group, rt.plural, name)
        if current["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]:
            # Changed while the admission webhooks were being called.
            raise status.stale(rt.group, rt.plural, name)
        if dry_run:
            return new
        if self._deletion_complete(rt, new):
            return await self._remove(rt, new)
        stored = await self.store.put(rt.key, new, created=False)
        if rt.kind == "CustomResourceDefinition" and subresource != "status":
            crd_lifecycle.after_write(self, stored)
        return stored

    def _check_immutable(self, rt: ResourceType, old: Obj, new: Obj) -> None:
        causes: list[Cause] = []
        if rt.kind == "Pod":
            ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
            if ospec.get("nodeName") and nspec.get("nodeName") != ospec.get("nodeName"):
                causes.append(
                    status.field_invalid("spec.nodeName", nspec.get("nodeName"), "field is immutable")
                )
            for field in ("containers", "initContainers"):
                oc = [
                    {k: v for k, v in c.items() if k != "image"}
                    for c in ospec.get(field) or ()
                    if isinstance(c, dict)
                ]
                nc = [
                    {k: v for k, v in c.items() if k != "image"}
                    for c in nspec.get(field) or ()
                    if isinstance(c, dict)
                ]
                if oc != nc:
                    causes.append(
                        status.field_forbidden(
                            "spec",
                            "pod updates may not change fields other than `spec.containers[*].image`,"
                            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                            "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                            "(allow it to be set to 1 if it was previously negative)",
                        )
                    )
                    break
        elif rt.kind == "Service":
            oip = (old.get("spec") or {}).get("clusterIP")
            nip = (new.get("spec") or {}).get("clusterIP")
            if oip and nip is None:
                new.setdefault("spec", {})["clusterIP"] = oip
                new["spec"].setdefault("clusterIPs", (old.get("spec") or {}).get("clusterIPs", [oip]))
            elif oip and nip != oip:
                causes.append(status.field_invalid("spec.clusterIP", nip, "field is immutable"))
        elif rt.kind == "CustomResourceDefinition":
            for field in ("group", "scope"):
                if (old.get("spec") or {}).get(field) != (new.get("spec") or {}).get(field):
                    causes.append(
                        status.field_invalid(
                            f"spec.{field}", (new.get("spec") or {}).get(field), "field is immutable"
                        )
                    )
        if causes:
            raise status.invalid(rt.group, qualified_kind(rt), old["metadata"]["name"], causes)

    def _deletion_complete(self, rt: ResourceType, obj: Obj) -> bool:
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return False
        if rt.kind == "Pod" and int(meta.get("deletionGracePeriodSeconds") or 0) > 0:
            return False
        return not (rt.kind == "Namespace" and (obj.get("spec") or {}).get("finalizers"))

    def list_keys(self, rt: ResourceType) -> ListKeys:
        """How lists of ``rt`` are keyed for apply: patch merge keys, or the CRD's list-map keys."""
        if rt.builtin:
            return patch.builtin_list_keys
        schema = rt.schema

        def keys(path: list[str], items: list[Any]) -> list[str] | None:
            return crds.list_map_keys(schema, path)

        return keys

    # ---- delete --------------------------------------------------------------------------------

    async def delete(
        self, rt: ResourceType, namespace: str, name: str, opts: DeleteOptions
    ) -> tuple[Obj, bool]:
        """Delete or mark for deletion; return the object and whether it is gone."""
        return await deletion.delete(self, rt, namespace, name, opts)

    async def _remove(self, rt: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        final = await self.store.remove(rt.key, obj)
        log.info("deleted", key=f"{rt.key}/{ns}/{meta['name']}", rv=final["metadata"]["resourceVersion"])
        if rt.kind == "CustomResourceDefinition":
            await crd_lifecycle.after_delete(self, obj)
        return final


def _same_identity(meta: Any, before: Obj) -> Obj:
    """Metadata after admission mutation, with the fields webhooks may not change restored."""
    out: Obj = dict(meta) if isinstance(meta, dict) else {}
    for field in ("name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation"):
        if field in before:
            out[field] = before[field]
        else:
            out.pop(field, None)
    return out


def _spec_changed(old: Obj, new: Obj, include_status: bool = False) -> bool:
    skip = (
        ("metadata", "apiVersion", "kind") if include_status else ("metadata", "status", "apiVersion", "kind")
    )
    return {k: v for k, v in old.items() if k not in skip} != {k: v for k, v in new.items() if k not in skip}


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
