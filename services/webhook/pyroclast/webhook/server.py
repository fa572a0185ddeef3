"""The HTTPS server: one route per enabled Volcano webhook path, answering AdmissionReviews.

Every POST gets an answer: a body that is not JSON or not an AdmissionReview is denied in an
AdmissionReview (as Volcano's server does), a body over the size limit gets 413, a content
type other than JSON 415, and a rule that fails unexpectedly denies with the error instead of
a 500. Each verdict is timed (per resource and verdict), logged with the object's key and
handed to the auditor.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Collection, Mapping
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import Counter, Histogram

from pyroclast.common.logging import get_logger
from pyroclast.webhook.admission import BY_PATH, AdmissionConfig, ClusterView, Verdict, handle, response
from pyroclast.webhook.admission.request import DEFAULT_CONFIG, EMPTY_CLUSTER
from pyroclast.webhook.audit import VerdictAuditor, VerdictRecord

log = get_logger(__name__)
_LEVEL = logging.getLogger(__name__)
"""Checked before logging an allowance: a filtered structlog call still runs its processors."""

MAX_BODY = 3 * 1024 * 1024
"""Largest request body, as Volcano's webhook server and kube-apiserver allow."""

LATENCY = Histogram(
    "pyroclast_webhook_admission_duration_seconds",
    "Time to answer one AdmissionReview",
    ["resource", "verdict"],
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
REQUESTS = Counter(
    "pyroclast_webhook_requests_total",
    "AdmissionReview requests by webhook path and verdict",
    ["path", "verdict"],
)
ERRORS = Counter("pyroclast_webhook_rule_errors_total", "Rules that raised instead of answering", ["path"])

_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()
_JSON_TYPES = frozenset({"application/json", ""})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _object_name(request: Mapping[str, Any]) -> str:
    """The request's name, else the object's name or generateName."""
    if name := _text(request.get("name")):
        return name
    meta = _mapping(_mapping(request.get("object") or request.get("oldObject")).get("metadata"))
    return _text(meta.get("name")) or _text(meta.get("generateName"))


class AdmissionServer:
    """Serves ``paths`` (Volcano webhook paths) over TLS."""

    def __init__(
        self,
        paths: Collection[str],
        *,
        cluster: ClusterView = EMPTY_CLUSTER,
        config: AdmissionConfig = DEFAULT_CONFIG,
        auditor: VerdictAuditor | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        unknown = sorted(set(paths) - set(BY_PATH))
        if unknown:
            raise ValueError(f"unknown webhook paths: {', '.join(unknown)}")
        self.paths = sorted(paths)
        self.cluster = cluster
        self.config = config
        self.auditor = auditor
        self.max_body = max_body
        self._runner: web.AppRunner | None = None
        self._series: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.host = ""
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body)
        for path in self.paths:
            app.router.add_post(path, self._handler(path))
        return app

    def _handler(self, path: str) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            return await self.serve(path, request)

        return serve

    async def serve(self, path: str, request: web.Request) -> web.StreamResponse:
        """Answer one POST to ``path``."""
        started = time.perf_counter()
        if request.content_type not in _JSON_TYPES:
            return web.Response(
                status=415, text=f"expected Content-Type application/json, got {request.content_type}"
            )
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("admission request too large", path=path, limit=self.max_body)
            return web.Response(status=413, text="request body too large")
        review: Any = None
        try:
            review = _DECODER.decode(body)
        except msgspec.DecodeError as exc:
            answer = response("", Verdict.deny(f"couldn't decode the AdmissionReview: {exc}"))
        else:
            answer = self._answer(path, review, body)
        result = answer["response"]
        allowed = bool(result.get("allowed"))
        verdict = "allowed" if allowed else "denied"
        review_request = _mapping(_mapping(review).get("request"))
        self._report(path, review_request, result, allowed)
        latency, requests = self._metrics(path, verdict)
        latency.observe(time.perf_counter() - started)
        requests.inc()
        return web.Response(body=_ENCODER.encode(answer), content_type="application/json")

    def _metrics(self, path: str, verdict: str) -> tuple[Any, Any]:
        """The latency and request-count series of ``path`` and ``verdict`` (looked up once)."""
        key = (path, verdict)
        found = self._series.get(key)
        if found is None:
            found = (LATENCY.labels(BY_PATH[path].resource, verdict), REQUESTS.labels(path, verdict))
            self._series[key] = found
        return found

    def _answer(self, path: str, review: Any, body: bytes | None = None) -> dict[str, Any]:
        try:
            return handle(review, path, cluster=self.cluster, config=self.config, body=body)
        except Exception as exc:  # a broken rule answers with a denial, never a 500
            ERRORS.labels(path).inc()
            log.exception("admission rule failed", path=path)
            uid = _text(_mapping(_mapping(review).get("request")).get("uid"))
            return response(uid, Verdict.deny(f"internal error in {BY_PATH[path].webhook}: {exc}"))

    def _report(
        self, path: str, request: Mapping[str, Any], result: Mapping[str, Any], allowed: bool
    ) -> None:
        rule = BY_PATH[path]
        namespace, name = _text(request.get("namespace")), _object_name(request)
        message = _text(_mapping(result.get("status")).get("message"))
        operation = _text(request.get("operation"))
        key = f"{namespace}/{name}" if namespace else name
        if allowed:
            if _LEVEL.isEnabledFor(logging.DEBUG):
                log.debug("admitted", key=key, path=path, operation=operation, patched="patch" in result)
        else:
            log.info("denied", key=key, path=path, operation=operation, reason=message)
        if self.auditor is not None:
            self.auditor.record(
                VerdictRecord(
                    allowed=allowed,
                    path=path,
                    webhook=f"{rule.webhook}.volcano.sh",
                    resource=rule.resource,
                    operation=operation,
                    namespace=namespace,
                    name=name,
                    uid=_text(_mapping(_mapping(request.get("object")).get("metadata")).get("uid")),
                    user=_text(_mapping(request.get("userInfo")).get("username")),
                    message=message,
                    patched="patch" in result,
                    dry_run=request.get("dryRun") is True,
                )
            )

    async def start(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None, *, reuse_port: bool = False
    ) -> None:
        """Listen on ``host:port`` (0: a free port, read back from `port`); ``reuse_port`` lets
        other processes listen on the same port (the kernel spreads connections over them)."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host, port, ssl_context=ssl_context, backlog=1024, reuse_port=reuse_port or None
        )
        await site.start()
        self.host = host
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        log.info("admission server listening", host=host, port=self.port, paths=self.paths)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"https://{host}:{self.port}"
