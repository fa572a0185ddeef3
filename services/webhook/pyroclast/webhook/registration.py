"""The Mutating/ValidatingWebhookConfigurations of the enabled webhooks, as Volcano's chart has them.

One configuration per path, named as Volcano names them (``volcano-admission-service-jobs-mutate``),
holding one webhook with Volcano's name (``mutatejob.volcano.sh``), rules, failure policy and
timeout. The client config points at a Service (in a cluster) or at a URL (the sandbox). `register`
creates or updates them through the API at start; `write_manifests` writes them as YAML.
kubernetes_asyncio is imported only by `register`, so serving does not need it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from pyroclast.common.bus.connect import Backoff
from pyroclast.common.logging import get_logger
from pyroclast.webhook.admission import BY_PATH, Operation

log = get_logger(__name__)

CONFIG_PREFIX = "volcano-admission-service"
GROUP_VERSION = {
    "batch.volcano.sh": "v1alpha1",
    "scheduling.volcano.sh": "v1beta1",
    "flow.volcano.sh": "v1alpha1",
    "": "v1",
}
FAILURE_POLICY = "Fail"
SIDE_EFFECTS = "None"
TIMEOUT_SECONDS = 10
_BACKOFF = Backoff(initial=0.2, maximum=5.0)
_ORDER = (Operation.CREATE, Operation.UPDATE, Operation.DELETE, Operation.CONNECT)


@dataclass(frozen=True)
class Target:
    """Where the API server calls the webhooks: a Service, or a base URL (``https://host:port``)."""

    service_name: str = CONFIG_PREFIX
    service_namespace: str = "volcano-system"
    service_port: int = 443
    url: str = ""

    def client_config(self, path: str, ca_bundle: bytes | None) -> dict[str, Any]:
        config: dict[str, Any]
        if self.url:
            config = {"url": self.url.rstrip("/") + path}
        else:
            config = {
                "service": {
                    "name": self.service_name,
                    "namespace": self.service_namespace,
                    "path": path,
                    "port": self.service_port,
                }
            }
        if ca_bundle:
            config["caBundle"] = base64.b64encode(ca_bundle).decode()
        return config


def configuration_name(path: str) -> str:
    """Volcano's name of the configuration for ``path``: ``/jobs/mutate`` -> ``...-jobs-mutate``."""
    return CONFIG_PREFIX + path.replace("/", "-")


def configuration(path: str, target: Target, ca_bundle: bytes | None = None) -> dict[str, Any]:
    """The webhook configuration object for the webhook at ``path``."""
    rule = BY_PATH[path]
    kind = "MutatingWebhookConfiguration" if rule.mutating else "ValidatingWebhookConfiguration"
    webhook: dict[str, Any] = {
        "name": f"{rule.webhook}.volcano.sh",
        "admissionReviewVersions": ["v1"],
        "clientConfig": target.client_config(path, ca_bundle),
        "failurePolicy": FAILURE_POLICY,
        "matchPolicy": "Equivalent",
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": [target.service_namespace, "kube-system"],
                }
            ]
        },
        "objectSelector": {},
        "rules": [
            {
                "apiGroups": [rule.group],
                "apiVersions": [GROUP_VERSION[rule.group]],
                "operations": [op.value for op in _ORDER if op in rule.operations],
                "resources": [rule.resource],
                "scope": "*",
            }
        ],
        "sideEffects": SIDE_EFFECTS,
        "timeoutSeconds": TIMEOUT_SECONDS,
    }
    if rule.mutating:
        webhook["reinvocationPolicy"] = "Never"
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": configuration_name(path), "labels": {"app.kubernetes.io/part-of": "pyroclast"}},
        "webhooks": [webhook],
    }


def configurations(
    paths: Collection[str], target: Target, ca_bundle: bytes | None = None
) -> list[dict[str, Any]]:
    """Configurations for every path of ``paths``, mutating first, then by name."""
    objects = [configuration(path, target, ca_bundle) for path in paths]
    return sorted(objects, key=lambda o: (o["kind"] != "MutatingWebhookConfiguration", o["metadata"]["name"]))


def write_manifests(out_dir: Path, objects: Iterable[dict[str, Any]]) -> list[Path]:
    """Write each object to ``<out_dir>/<name>.yaml``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for obj in objects:
        path = out_dir / f"{obj['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
        written.append(path)
    return written


async def register(
    objects: Iterable[dict[str, Any]],
    kubeconfig: str = "",
    *,
    deadline: float = 60.0,
    request_timeout: float = 10.0,
    backoff: Backoff = _BACKOFF,
) -> None:
    """Create each configuration, or replace it when it exists; retry for ``deadline`` seconds.

    ``kubeconfig`` empty: the pod's service account.
    """
    from kubernetes_asyncio import client, config
    from kubernetes_asyncio.client.exceptions import ApiException

    loader: Any = config
    settings = client.Configuration()
    if kubeconfig:
        await loader.load_kube_config(config_file=kubeconfig, client_configuration=settings)
    else:
        loader.load_incluster_config(client_configuration=settings)
    async with client.ApiClient(settings) as api_client:
        api: Any = client.AdmissionregistrationV1Api(api_client)
        async with asyncio.timeout(deadline):
            for obj in objects:
                kind = "mutating" if obj["kind"] == "MutatingWebhookConfiguration" else "validating"
                name = obj["metadata"]["name"]
                read = getattr(api, f"read_{kind}_webhook_configuration")
                create = getattr(api, f"create_{kind}_webhook_configuration")
                replace = getattr(api, f"replace_{kind}_webhook_configuration")
                attempt = 0
                while True:
                    try:
                        try:
                            existing = await read(name, _request_timeout=request_timeout)
                        except ApiException as exc:
                            if exc.status != 404:
                                raise
                            await create(obj, _request_timeout=request_timeout)
                            log.info("webhook configuration created", key=name)
                        else:
                            version = existing.metadata.resource_version
                            body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": version}}
                            await replace(name, body, _request_timeout=request_timeout)
                            log.info("webhook configuration updated", key=name)
                        break
                    except (ApiException, aiohttp.ClientError, OSError) as exc:
                        status = getattr(exc, "status", None)
                        if status is not None and 400 <= status < 500 and status not in (404, 409, 429):
                            raise
                        delay = backoff.delay(attempt)
                        attempt += 1
                        log.warning(
                            "webhook registration failed; retrying", key=name, error=str(exc), delay=delay
                        )
                        await asyncio.sleep(delay)
