"""A real ``nats-server`` with JetStream for integration tests.

:class:`NatsServer` runs the binary on a free local port with a private store directory and
can be stopped and started again on the same port and store (a server restart). Fixtures:
``nats_server`` (one per test module) and ``nats_server_factory`` (fresh servers for one test).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyroclast.common.net import free_port


def find_nats_server() -> str | None:
    """``nats-server`` on the PATH, else next to the running interpreter (the venv's bin)."""
    found = shutil.which("nats-server")
    if found:
        return found
    candidate = Path(sys.executable).parent / "nats-server"
    return str(candidate) if candidate.exists() and os.access(candidate, os.X_OK) else None


class NatsServer:
    """One nats-server process; :meth:`stop` then :meth:`start` keeps port and store."""

    def __init__(self, store_dir: Path, *, binary: str | None = None, port: int | None = None) -> None:
        found = binary or find_nats_server()
        if found is None:
            raise FileNotFoundError("nats-server not found on PATH nor next to the Python interpreter")
        self.binary = found
        self.store_dir = store_dir
        self.port = port or free_port()
        self.log_file = store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it accepts clients with JetStream enabled."""
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary,
            "--addr", "127.0.0.1",
            "--port", str(self.port),
            "--jetstream",
            "--store_dir", str(self.store_dir / "jetstream"),
            "--server_name", f"test-{self.port}",
        ]  # fmt: skip
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._process.returncode}: {self._log_tail()}")
            if self._ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"nats-server not ready after {timeout}s: {self._log_tail()}")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _ready(self) -> bool:
        """Connectable and announcing JetStream in its INFO line."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                info = sock.recv(4096)
        except OSError:
            return False
        return info.startswith(b"INFO") and b'"jetstream":true' in info

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def _require_binary() -> str:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server binary not available")
    return binary


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A running server shared by the tests of one module."""
    server = NatsServer(tmp_path_factory.mktemp("nats"), binary=_require_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_server_factory(tmp_path: Path) -> Iterator[Callable[[], NatsServer]]:
    """Builds started servers private to one test; all are stopped afterwards."""
    binary = _require_binary()
    servers: list[NatsServer] = []

    def make() -> NatsServer:
        server = NatsServer(tmp_path / f"nats-{len(servers)}", binary=binary)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
