"""Admission webhooks, client-certificate authentication and review resources."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from apiserver_fixture import ApiServerHandle

from pyroclast.common.net import free_port
from pyroclast.sandbox.apiserver.tls import Credentials, issue_client_cert, issue_serving_cert

pytestmark = pytest.mark.integration


async def _request(
    server: ApiServerHandle, method: str, path: str, body: Any = None, ctx: ssl.SSLContext | None = None
) -> tuple[int, Any]:
    headers = {} if ctx is not None else {"Authorization": f"Bearer {server.token}"}
    if ctx is None:
        ctx = ssl.create_default_context(cafile=str(server.data_dir / "pki" / "ca.crt"))
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session,
        session.request(method, server.url + path, json=body, headers=headers, ssl=ctx) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


def _credentials(server: ApiServerHandle) -> Credentials:
    assert server.server is not None
    creds: Credentials = server.server.credentials
    return creds


@pytest.fixture
async def webhook(apiserver: ApiServerHandle, tmp_path: Path) -> AsyncIterator[int]:
    """An HTTPS admission webhook: /mutate adds a label, /validate denies objects labelled deny=yes."""
    reviews: list[dict[str, Any]] = []

    async def mutate(request: web.Request) -> web.Response:
        review = await request.json()
        reviews.append(review)
        if review["request"]["object"]["metadata"].get("labels"):
            ops: list[dict[str, Any]] = [{"op": "add", "path": "/metadata/labels/mutated", "value": "true"}]
        else:
            ops = [{"op": "add", "path": "/metadata/labels", "value": {"mutated": "true"}}]
        response = {
            "uid": review["request"]["uid"],
            "allowed": True,
            "patchType": "JSONPatch",
            "patch": base64.b64encode(json.dumps(ops).encode()).decode(),
        }
        return web.json_response(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        )

    async def validate(request: web.Request) -> web.Response:
        review = await request.json()
        obj = review["request"]["object"] or review["request"]["oldObject"]
        labels = obj["metadata"].get("labels") or {}
        allowed = labels.get("deny") != "yes"
        response: dict[str, Any] = {"uid": review["request"]["uid"], "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 403, "message": "labels say no"}
        return web.json_response(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        )

    cert, key = issue_serving_cert(_credentials(apiserver), ["hook.default.svc", "127.0.0.1"])
    (tmp_path / "hook.crt").write_bytes(cert)
    (tmp_path / "hook.key").write_bytes(key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "hook.crt", tmp_path / "hook.key")
    app = web.Application()
    app.router.add_post("/mutate", mutate)
    app.router.add_post("/validate", validate)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx).start()
    try:
        yield port
    finally:
        for kind, name in (
            ("mutatingwebhookconfigurations", "label-adder"),
            ("validatingwebhookconfigurations", "denier"),
        ):
            await _request(apiserver, "DELETE", f"/apis/admissionregistration.k8s.io/v1/{kind}/{name}")
        await runner.cleanup()


async def test_mutating_and_validating_webhooks(apiserver: ApiServerHandle, webhook: int) -> None:
    ca_bundle = base64.b64encode((apiserver.data_dir / "pki" / "ca.crt").read_bytes()).decode()
    rules = [
        {
            "operations": ["CREATE", "UPDATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["configmaps"],
        }
    ]
    await _request(apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": "hooked"}})
    service = {"metadata": {"name": "hook"}, "spec": {"ports": [{"port": 443, "targetPort": webhook}]}}
    endpoints = {
        "metadata": {"name": "hook"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": webhook}]}],
    }
    assert (await _request(apiserver, "POST", "/api/v1/namespaces/default/services", service))[0] == 201
    assert (await _request(apiserver, "POST", "/api/v1/namespaces/default/endpoints", endpoints))[0] == 201
    mutating = {
        "metadata": {"name": "label-adder"},
        "webhooks": [
            {
                "name": "label-adder.example.com",
                "clientConfig": {
                    "service": {"namespace": "default", "name": "hook", "path": "/mutate"},
                    "caBundle": ca_bundle,
                },
                "rules": rules,
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "hooked"}},
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    validating = {
        "metadata": {"name": "denier"},
        "webhooks": [
            {
                "name": "denier.example.com",
                "clientConfig": {"url": f"https://127.0.0.1:{webhook}/validate", "caBundle": ca_bundle},
                "rules": [{**rules[0], "operations": ["CREATE", "UPDATE", "DELETE"]}],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "hooked"}},
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    base = "/apis/admissionregistration.k8s.io/v1"
    assert (await _request(apiserver, "POST", f"{base}/mutatingwebhookconfigurations", mutating))[0] == 201
    assert (await _request(apiserver, "POST", f"{base}/validatingwebhookconfigurations", validating))[
        0
    ] == 201

    code, obj = await _request(
        apiserver, "POST", "/api/v1/namespaces/hooked/configmaps", {"metadata": {"name": "m"}}
    )
    assert code == 201, obj["message"]
    assert obj["metadata"]["labels"] == {"mutated": "true"}
    code, obj = await _request(
        apiserver,
        "POST",
        "/api/v1/namespaces/hooked/configmaps",
        {"metadata": {"name": "d", "labels": {"deny": "yes"}}},
    )
    assert code == 403
    assert obj["message"] == 'admission webhook "denier.example.com" denied the request: labels say no'
    # Other namespaces are not selected.
    code, obj = await _request(
        apiserver, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "x"}}
    )
    assert code == 201
    assert "labels" not in obj["metadata"]
    # A webhook that cannot be reached fails closed.
    await _request(apiserver, "DELETE", "/api/v1/namespaces/default/endpoints/hook")
    await _request(
        apiserver,
        "POST",
        "/api/v1/namespaces/default/endpoints",
        {
            "metadata": {"name": "hook"},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 1}]}],
        },
    )
    code, obj = await _request(
        apiserver, "POST", "/api/v1/namespaces/hooked/configmaps", {"metadata": {"name": "f"}}
    )
    assert code == 500
    assert obj["message"].startswith(
        'Internal error occurred: failed calling webhook "label-adder.example.com"'
    )
    assert "dial tcp 127.0.0.1:1: connect: connection refused" in obj["message"]
    await _request(apiserver, "DELETE", "/api/v1/namespaces/default/services/hook")
    code, obj = await _request(
        apiserver, "POST", "/api/v1/namespaces/hooked/configmaps", {"metadata": {"name": "g"}}
    )
    assert code == 500
    assert obj["message"] == (
        'Internal error occurred: failed calling webhook "label-adder.example.com": failed to call webhook: '
        'Post "https://hook.default.svc:443/mutate?timeout=10s": service "hook" not found'
    )


async def test_client_certificate_authentication(apiserver: ApiServerHandle, tmp_path: Path) -> None:
    cert, key = issue_client_cert(_credentials(apiserver), "alice", ("devs",))
    (tmp_path / "c.crt").write_bytes(cert)
    (tmp_path / "c.key").write_bytes(key)
    ctx = ssl.create_default_context(cafile=str(apiserver.data_dir / "pki" / "ca.crt"))
    ctx.load_cert_chain(tmp_path / "c.crt", tmp_path / "c.key")
    code, body = await _request(apiserver, "GET", "/api/v1/namespaces/default/configmaps", ctx=ctx)
    assert code == 200
    assert body["kind"] == "ConfigMapList"
    code, body = await _request(
        apiserver,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        ctx=ctx,
    )
    assert code == 201
    assert body["status"]["userInfo"]["username"] == "alice"


def test_auth_can_i_and_whoami(apiserver: ApiServerHandle) -> None:
    assert apiserver.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    assert "admin" in apiserver.kubectl("auth", "whoami").stdout
