"""``pyroclast webhook`` as a subprocess for the integration tests, and helpers around it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from pyroclast.common.bus.connect import close, connect
from pyroclast.common.bus.kv import QUEUES, CacheWriter
from pyroclast.common.bus.messages import QueueRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.common.net import free_port

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO.parent / "shared" / "volcano-examples"


def unique_prefix() -> str:
    return f"wh{uuid.uuid4().hex[:10]}"


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not true after {timeout}s")
        time.sleep(interval)


def put_queues(nats_url: str, prefix: str, *records: QueueRecord) -> None:
    """Create the JetStream objects of ``prefix`` and write queue records (as the controller would)."""

    async def run() -> None:
        nc = await connect(nats_url, "webhook-test", max_attempts=3)
        try:
            names = BusNames(prefix)
            await ensure_jetstream(nc.jetstream(), names)
            writer = CacheWriter(nc, names, QUEUES)
            for record in records:
                await writer.put(record)
        finally:
            await close(nc)

    asyncio.run(run())


class WebhookProcess:
    """One ``python -m pyroclast.webhook`` process with its health port and log file."""

    def __init__(self, workdir: Path, args: list[str]) -> None:
        self.workdir = workdir
        self.health_port = free_port()
        self.listen_port = free_port()
        self.log_file = workdir / "webhook.log"
        command = [
            sys.executable, "-m", "pyroclast.webhook",
            "--listen-host", "127.0.0.1",
            "--listen-port", str(self.listen_port),
            "--health-port", str(self.health_port),
            "--ca-dir", str(workdir / "pki"),
            *args,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYROCLAST_")}
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listen_port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.health_url + path, timeout=2) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"webhook exited with {self.process.returncode}:\n{self.log()}")
            return self.get("/readyz")[0] == 200

        try:
            wait_for(ready, timeout, "webhook ready")
        except TimeoutError:
            raise TimeoutError(f"webhook not ready after {timeout}s:\n{self.log()}") from None

    def terminate(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
                raise
        return self.process.returncode

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return ""
