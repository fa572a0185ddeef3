"""``pyroclast scheduler`` as a process: health endpoints, readiness, clean SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats_fixture import NatsServer, free_port
from svcint_helpers import CONF_TEXT, eventually

from pyroclast.common.bus.kv import EXPLANATIONS, CacheWriter
from pyroclast.common.bus.messages import ExplanationRecord
from pyroclast.common.bus.names import BusNames

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


async def test_scheduler_process_serves_health_and_stops_on_sigterm(
    nats_server: NatsServer, nc: Client, names: BusNames, tmp_path: Path
) -> None:
    explanations = CacheWriter(nc, names, EXPLANATIONS)
    await explanations.put(ExplanationRecord(namespace="ns", name="stale", message="from an earlier run"))
    conf = tmp_path / "volcano-scheduler.conf"
    conf.write_text(CONF_TEXT)
    port = free_port()
    log_path = tmp_path / "scheduler.log"
    log_file = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyroclast.cli.main",
        "scheduler",
        "--nats-servers",
        nats_server.url,
        "--cluster-prefix",
        names.prefix,
        "--conf",
        str(conf),
        "--health-port",
        str(port),
        "--period",
        "0.2",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log_file,
    )
    log_file.close()
    base = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: _status_is(f"{base}/healthz", 200), what="/healthz")
        ready = await eventually(
            lambda: _status_is(base + "/readyz", 200), timeout=30, what="/readyz once the cache synced"
        )
        assert ready
        await eventually(
            lambda: _has(base + "/metrics", "pyroclast_scheduler_sessions_total{result="),
            what="a session counted",
        )
        await eventually(lambda: _gone(explanations.get("ns/stale")), what="the stale explanation deleted")
        status, body = await asyncio.to_thread(_get, f"{base}/metrics")
        assert status == 200
        for metric in (
            "pyroclast_scheduler_session_duration_seconds_bucket",
            "pyroclast_scheduler_decisions_per_session",
            "pyroclast_scheduler_pending_jobs",
            'pyroclast_scheduler_cache_records{kind="nodes"}',
        ):
            assert metric in body, metric
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
        log = log_path.read_text()
        assert code == 0, log[-3000:]
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert any(line.get("event") == "scheduler stopped" for line in lines)
        assert all(line.get("service") == "scheduler" for line in lines)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _gone(found: Awaitable[object]) -> bool:
    return (await found) is None


async def _status_is(url: str, expected: int) -> bool:
    return (await asyncio.to_thread(_get, url))[0] == expected


async def _has(url: str, text: str) -> bool:
    status, body = await asyncio.to_thread(_get, url)
    return status == 200 and text in body


def test_bad_settings_exit_2() -> None:
    from pyroclast.scheduler.main import main

    assert main(["--period", "-1"]) == 2
    assert main(["--cluster-prefix", "Bad_Prefix"]) == 2
