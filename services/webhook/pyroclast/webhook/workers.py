"""Extra server processes sharing the listening port, to answer on more than one core.

The first process binds the port with ``SO_REUSEPORT`` and starts ``count - 1`` copies of
itself on the same port and certificate directory; each copy follows the queues and publishes
its own audit events but does not register anything. A copy that exits while the service
runs fails the service (the orchestrator restarts the whole pod).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Sequence

import aiohttp

from pyroclast.common.logging import get_logger
from pyroclast.common.net import free_port

log = get_logger(__name__)


class WorkerPool:
    """``count`` extra ``python -m pyroclast.webhook`` processes started with ``argv`` plus overrides.

    Each gets a health port of its own; `watch` polls their ``/readyz`` so that the pool is
    ready only once every worker serves.
    """

    def __init__(self, count: int, argv: Sequence[str], health_host: str = "127.0.0.1") -> None:
        self.count = count
        self.argv = list(argv)
        self.health_host = "127.0.0.1" if health_host in ("", "0.0.0.0") else health_host
        self.processes: list[subprocess.Popen[bytes]] = []
        self.health_ports: list[int] = []
        self._ready: set[int] = set()

    def start(self, port: int, ca_dir: str) -> None:
        for _ in range(self.count):
            health_port = free_port(self.health_host)
            overrides = [
                "--workers", "1",
                "--register", "false",
                "--health-port", str(health_port),
                "--listen-port", str(port),
                "--reuse-port", "true",
            ]  # fmt: skip
            if ca_dir:
                overrides += ["--ca-dir", ca_dir]
            command = [sys.executable, "-m", "pyroclast.webhook", *self.argv, *overrides]
            self.processes.append(subprocess.Popen(command))
            self.health_ports.append(health_port)
        log.info("worker processes started", count=self.count, pids=[p.pid for p in self.processes])

    def readiness(self) -> bool | str:
        dead = [p.pid for p in self.processes if p.poll() is not None]
        if dead:
            return f"worker processes exited: {dead}"
        waiting = [p.pid for p in self.processes if p.pid not in self._ready]
        return f"worker processes not ready: {waiting}" if waiting else True

    async def _probe(self, http: aiohttp.ClientSession, process: subprocess.Popen[bytes], port: int) -> None:
        try:
            async with http.get(f"http://{self.health_host}:{port}/readyz") as resp:
                ready = resp.status == 200
        except (aiohttp.ClientError, OSError):
            ready = False
        (self._ready.add if ready else self._ready.discard)(process.pid)

    async def watch(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Follow the workers' readiness; raise when one exits before ``stop`` is set."""
        timeout = aiohttp.ClientTimeout(total=max(interval, 1.0))
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set():
                dead = {p.pid: p.returncode for p in self.processes if p.poll() is not None}
                if dead:
                    raise RuntimeError(f"webhook worker processes exited: {dead}")
                pairs = zip(self.processes, self.health_ports, strict=True)
                await asyncio.gather(*(self._probe(http, p, port) for p, port in pairs))
                try:
                    async with asyncio.timeout(interval):
                        await stop.wait()
                except TimeoutError:
                    pass

    async def stop(self, limit: float = 20.0) -> None:
        """SIGTERM every worker and wait for it; kill what is left after ``limit`` seconds."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(limit):
                await asyncio.gather(*(asyncio.to_thread(p.wait) for p in self.processes))
        except TimeoutError:
            for process in self.processes:
                if process.poll() is None:
                    log.warning("worker did not stop; killing", pid=process.pid)
                    process.kill()
                    process.wait()
        codes = {p.pid: p.returncode for p in self.processes}
        log.info("worker processes stopped", codes=codes)
