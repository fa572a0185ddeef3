"""Admission webhooks: calls the Mutating/ValidatingWebhookConfigurations like kube-apiserver does.

Webhooks are matched by rules (operations, groups, versions, resources incl. subresources, scope),
namespaceSelector and objectSelector; they receive an admission.k8s.io/v1 AdmissionReview and
may deny (an error naming the webhook) or, when mutating, answer a JSON patch. A ``service``
client config resolves through the service's Endpoints (the sandbox has no cluster DNS) and the
certificate is checked against ``<service>.<namespace>.svc`` with the configured caBundle.
"""

from __future__ import annotations

import base64
import errno
import json
import ssl
import uuid
from contextvars import ContextVar
from typing import Any

import aiohttp
import structlog

from . import patch, status
from .resources import ResourceType
from .selectors import match_labels, selector_from_label_selector
from .status import ApiError
from .store import Obj, ObjectStore, deep_copy

log = structlog.get_logger("pyroclast.sandbox.apiserver.admission")

# The authenticated user of the current request (internal controllers act as the apiserver).
CURRENT_USER: ContextVar[str] = ContextVar("apiserver_user", default="system:apiserver")
SKIPPED_GROUPS = {"admissionregistration.k8s.io"}


def _matches_list(values: list[Any] | None, value: str) -> bool:
    return bool(values) and ("*" in values or value in values)  # type: ignore[operator]


def _rule_matches(rule: Obj, operation: str, rt: ResourceType, subresource: str) -> bool:
    if not _matches_list(rule.get("operations"), operation):
        return False
    if not _matches_list(rule.get("apiGroups"), rt.group):
        return False
    if not _matches_list(rule.get("apiVersions"), rt.version):
        return False
    scope = rule.get("scope", "*")
    if (scope == "Namespaced" and not rt.namespaced) or (scope == "Cluster" and rt.namespaced):
        return False
    wanted = f"{rt.plural}/{subresource}" if subresource else rt.plural
    for res in rule.get("resources") or ():
        if res in ("*/*", wanted):
            return True
        if res == "*" and not subresource:
            return True
        main, _, sub = res.partition("/")
        if sub and subresource and (main in ("*", rt.plural)) and (sub in ("*", subresource)):
            return True
    return False


class Admission:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _hooks(self, kind: str) -> list[Obj]:
        hooks = []
        for config in self.store.select(f"admissionregistration.k8s.io/{kind}"):
            for hook in config.get("webhooks") or ():
                if isinstance(hook, dict) and hook.get("name"):
                    hooks.append(hook)
        return hooks

    def _selected(
        self, hook: Obj, rt: ResourceType, namespace: str, obj: Obj | None, old: Obj | None
    ) -> bool:
        obj_sel = selector_from_label_selector(hook.get("objectSelector") or {})
        if obj_sel:
            labels_new = ((obj or {}).get("metadata") or {}).get("labels")
            labels_old = ((old or {}).get("metadata") or {}).get("labels")
            old_matches = old is not None and match_labels(obj_sel, labels_old)
            if not (match_labels(obj_sel, labels_new) or old_matches):
                return False
        ns_sel = selector_from_label_selector(hook.get("namespaceSelector") or {})
        if ns_sel:
            if rt.kind == "Namespace":
                labels = ((obj or old or {}).get("metadata") or {}).get("labels")
            elif rt.namespaced:
                ns = self.store.get("core/namespaces", "", namespace)
                labels = ((ns or {}).get("metadata") or {}).get("labels")
            else:
                return True
            if not match_labels(ns_sel, labels):
                return False
        return True

    async def mutate(
        self,
        operation: str,
        rt: ResourceType,
        subresource: str,
        namespace: str,
        name: str,
        obj: Obj,
        old: Obj | None,
        dry_run: bool,
    ) -> Obj:
        if rt.group in SKIPPED_GROUPS:
            return obj
        for hook in self._hooks("mutatingwebhookconfigurations"):
            if not self._applies(hook, operation, rt, subresource, namespace, obj, old):
                continue
            response = await self._call(hook, operation, rt, subresource, namespace, name, obj, old, dry_run)
            if response is None:
                continue
            if response.get("patch"):
                try:
                    ops = json.loads(base64.b64decode(response["patch"]))
                    patched = patch.json_patch(obj, ops)
                except (ValueError, patch.PatchError) as exc:
                    raise status.internal(
                        f'failed to apply patch from webhook "{hook["name"]}": {exc}'
                    ) from None
                if not isinstance(patched, dict):
                    raise status.internal(f'webhook "{hook["name"]}" patched the object into a non-object')
                obj = patched
        return obj

    async def validate(
        self,
        operation: str,
        rt: ResourceType,
        subresource: str,
        namespace: str,
        name: str,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
    ) -> None:
        if rt.group in SKIPPED_GROUPS:
            return
        for hook in self._hooks("validatingwebhookconfigurations"):
            if self._applies(hook, operation, rt, subresource, namespace, obj, old):
                await self._call(hook, operation, rt, subresource, namespace, name, obj, old, dry_run)

    def _applies(
        self,
        hook: Obj,
        operation: str,
        rt: ResourceType,
        subresource: str,
        namespace: str,
        obj: Obj | None,
        old: Obj | None,
    ) -> bool:
        rules = hook.get("rules") or ()
        if not any(isinstance(r, dict) and _rule_matches(r, operation, rt, subresource) for r in rules):
            return False
        return self._selected(hook, rt, namespace, obj, old)

    def _ssl(self, ca_bundle: str | None) -> ssl.SSLContext:
        key = ca_bundle or ""
        if key not in self._contexts:
            ctx = ssl.create_default_context()
            if ca_bundle:
                ctx.load_verify_locations(cadata=base64.b64decode(ca_bundle).decode())
            self._contexts[key] = ctx
        return self._contexts[key]

    def _endpoint(self, client_config: Obj) -> tuple[str, str | None]:
        """(URL to post to, TLS server name to check) for a webhook client config."""
        if client_config.get("url"):
            return str(client_config["url"]), None
        svc = client_config.get("service") or {}
        ns, name = svc.get("namespace", ""), svc.get("name", "")
        port = int(svc.get("port") or 443)
        path = svc.get("path") or "/"
        host, target = "", port
        service = self.store.get("core/services", ns, name)
        if service is None:
            raise WebhookUnreachable(f'service "{name}" not found')
        for p in (service.get("spec") or {}).get("ports") or ():
            if p.get("port") == port and isinstance(p.get("targetPort"), int):
                target = p["targetPort"]
        endpoints = self.store.get("core/endpoints", ns, name)
        for subset in (endpoints or {}).get("subsets") or ():
            addresses = subset.get("addresses") or []
            if addresses:
                host = addresses[0].get("ip", "")
                ports = subset.get("ports") or []
                if ports and not any(pp.get("port") == target for pp in ports):
                    target = ports[0].get("port", target)
                break
        if not host:
            raise WebhookUnreachable(f'no endpoints available for service "{name}"')
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"https://{host}:{target}{path}", f"{name}.{ns}.svc"

    async def _call(
        self,
        hook: Obj,
        operation: str,
        rt: ResourceType,
        subresource: str,
        namespace: str,
        name: str,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
    ) -> Obj | None:
        hook_name = hook["name"]
        options_kind = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}
        options = {"apiVersion": "meta.k8s.io/v1", "kind": options_kind[operation]}
        user = {"username": CURRENT_USER.get(), "groups": ["system:masters", "system:authenticated"]}
        uid = str(uuid.uuid4())
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        gvr = {"group": rt.group, "version": rt.version, "resource": rt.plural}
        request: Obj = {
            "uid": uid,
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": name,
            "operation": operation,
            "userInfo": user,
            "object": deep_copy(obj) if obj is not None else None,
            "oldObject": deep_copy(old) if old is not None else None,
            "dryRun": dry_run,
            "options": options,
        }
        if rt.namespaced:
            request["namespace"] = namespace
        if subresource:
            request["subResource"] = subresource
            request["requestSubResource"] = subresource
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
        client_config = hook.get("clientConfig") or {}
        timeout = float(hook.get("timeoutSeconds") or 10)
        fail_closed = hook.get("failurePolicy", "Fail") != "Ignore"
        svc = client_config.get("service") or {}
        url = client_config.get("url") or (
            f"https://{svc.get('name', '')}.{svc.get('namespace', '')}.svc:{svc.get('port') or 443}"
            f"{svc.get('path') or '/'}"
        )
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            target, server_name = self._endpoint(client_config)
            async with self._session.post(
                target,
                json=review,
                ssl=self._ssl(client_config.get("caBundle")),
                server_hostname=server_name,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                if resp.status != 200:
                    text = (await resp.text())[:200]
                    raise OSError(f"expected response code 200, got {resp.status}: {text}")
                body = await resp.json(content_type=None)
            response = body.get("response") if isinstance(body, dict) else None
            if not isinstance(response, dict):
                raise OSError("webhook response was absent")
            if response.get("uid") != uid:
                raise OSError(f"expected response.uid={uid!r}, got {response.get('uid')!r}")
        except (OSError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            reason = _describe(exc)
            log.warning("webhook call failed", webhook=hook_name, url=url, error=reason, closed=fail_closed)
            if not fail_closed:
                return None
            raise status.internal(
                f'failed calling webhook "{hook_name}": failed to call webhook: '
                f'Post "{url}?timeout={int(timeout)}s": {reason}'
            ) from None
        for warning in response.get("warnings") or ():
            status.add_warning(str(warning))
        if not response.get("allowed"):
            raise _denied(hook_name, response.get("status") or {})
        return response


class WebhookUnreachable(OSError):
    """The webhook's service cannot be resolved to an address."""


def _describe(exc: BaseException) -> str:
    """A short, Go-like description of a failed webhook call."""
    if isinstance(exc, WebhookUnreachable):
        return str(exc)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "context deadline exceeded"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"tls: failed to verify certificate: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = exc.os_error
        reason = (
            "connection refused" if err.errno in (errno.ECONNREFUSED, None) else (err.strerror or str(err))
        )
        return f"dial tcp {exc.host}:{exc.port}: connect: {reason}"
    return str(exc) or type(exc).__name__


def _denied(hook_name: str, result: Obj) -> ApiError:
    denied_by = f'admission webhook "{hook_name}" denied the request'
    code = int(result.get("code") or 0)
    if code < 400:
        code = 400
    if result.get("message"):
        message = f"{denied_by}: {result['message']}"
    elif result.get("reason"):
        message = f"{denied_by}: {result['reason']}"
    else:
        message = f"{denied_by} without explanation"
    return ApiError(code, str(result.get("reason") or ""), message, result.get("details"))
