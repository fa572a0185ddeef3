"""The binder's API calls go through the controller's KubeClient (one HTTP client for both)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from pyroclast.controller.binder.api import ApiFailure
from pyroclast.controller.binder.kube import KubeBinderApi
from pyroclast.controller.kube.client import KubeClient, ssl_context

Seen = list[tuple[str, str, dict[str, str], dict[str, str], Any]]
SEEN = web.AppKey("seen", list)


class Settings(SimpleNamespace):
    """The few fields of a kubernetes_asyncio Configuration the client reads."""

    async def auth_settings(self) -> dict[str, Any]:
        return {"BearerToken": {"in": "header", "key": "authorization", "value": "Bearer t0ken"}}


async def _handler(request: web.Request) -> web.Response:
    seen: Seen = request.app[SEEN]
    body = await request.read()
    seen.append(
        (
            request.method,
            request.path,
            dict(request.query),
            {k: request.headers.get(k, "") for k in ("Authorization", "Content-Type")},
            json.loads(body) if body else None,
        )
    )
    if request.path.endswith("/pods/gone"):
        return web.json_response({"kind": "Status", "reason": "NotFound", "message": "gone"}, status=404)
    if request.path.endswith("/binding"):
        return web.json_response({"kind": "Status", "message": "already assigned"}, status=409)
    if request.path.endswith("/eviction"):
        return web.Response(status=500, text="boom")
    if request.path.endswith("/pods"):
        return web.json_response({"items": [{"metadata": {"name": "a"}}, "junk"]})
    if request.method == "PATCH":
        return web.Response(status=200)
    return web.json_response({"metadata": {"name": request.path.rsplit("/", 1)[-1]}})


@pytest.fixture
async def served() -> AsyncIterator[tuple[KubeBinderApi, Seen]]:
    app = web.Application()
    seen: Seen = []
    app[SEEN] = seen
    app.router.add_route("*", "/{tail:.*}", _handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = Settings(host=f"http://127.0.0.1:{port}/", verify_ssl=True, ssl_ca_cert=None, cert_file=None)
    try:
        async with KubeClient(settings, timeout=5.0) as kube:
            yield KubeBinderApi(kube), seen
    finally:
        await runner.cleanup()


async def test_requests_and_responses_map_to_the_binder_api(served: tuple[KubeBinderApi, Seen]) -> None:
    api, seen = served
    assert await api.get_pod("ns", "p1") == {"metadata": {"name": "p1"}}
    assert await api.get_pod("ns", "gone") is None
    assert await api.list_pods("ns", "volcano.sh/job-name=j") == [{"metadata": {"name": "a"}}]
    await api.patch_podgroup("ns", "pg", {"status": {"phase": "Running"}})
    method, path, query, headers, body = seen[2]
    assert (method, path, query) == (
        "GET",
        "/api/v1/namespaces/ns/pods",
        {"labelSelector": "volcano.sh/job-name=j"},
    )
    assert headers["Authorization"] == "Bearer t0ken"
    method, path, _, headers, body = seen[3]
    assert (method, path) == ("PATCH", "/apis/scheduling.volcano.sh/v1beta1/namespaces/ns/podgroups/pg")
    assert headers["Content-Type"] == "application/merge-patch+json"
    assert body == {"status": {"phase": "Running"}}


async def test_refusals_become_api_failures(served: tuple[KubeBinderApi, Seen]) -> None:
    api, seen = served
    with pytest.raises(ApiFailure) as refused:
        await api.bind_pod("ns", "p1", "u1", "n1")
    # a Status without a reason gets the HTTP reason phrase
    assert (refused.value.status, refused.value.reason, refused.value.message) == (
        409,
        "Conflict",
        "already assigned",
    )
    assert seen[0][4]["target"] == {"kind": "Node", "name": "n1"}
    with pytest.raises(ApiFailure) as failed:
        await api.evict_pod("ns", "p1", "u1")
    assert (failed.value.status, failed.value.reason, failed.value.message) == (
        500,
        "Internal Server Error",
        "boom",
    )


def test_ssl_context_is_shared_and_off_for_plain_http() -> None:
    assert ssl_context(SimpleNamespace(host="http://x", verify_ssl=True)) is False
    assert ssl_context(SimpleNamespace(host="https://x", verify_ssl=False)) is False
