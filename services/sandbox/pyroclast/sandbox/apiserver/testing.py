"""Run the API server on a background thread (own event loop), for tests and tools.

The server lives on its own loop so synchronous code (kubectl subprocesses) and any test event
loop can use it alike.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .app import ApiServerConfig, RunningApiServer, start_apiserver, write_kubeconfig


def kubectl_binary() -> str:
    """The kubectl next to the running interpreter (the venv's), else the one on PATH."""
    import sys

    candidate = Path(sys.executable).parent / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl not found")
    return found


class ApiServerThread:
    """A started API server on a private event loop thread."""

    def __init__(self, data_dir: Path, port: int = 0, **config: Any) -> None:
        self.data_dir = Path(data_dir)
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.cache_dir = self.data_dir / "kubectl-cache"
        self._config = ApiServerConfig(data_dir=self.data_dir, port=port, **config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apiserver-loop", daemon=True)
        self.server: RunningApiServer | None = None

    def start(self, timeout: float = 30) -> ApiServerThread:
        self._thread.start()
        self.server = self.call(start_apiserver(self._config), timeout)
        write_kubeconfig(self.kubeconfig, self.server.url, self.server.ca_path, self.server.token)
        return self

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    @property
    def token(self) -> str:
        assert self.server is not None
        return self.server.token

    def stop(self, timeout: float = 30) -> None:
        if self.server is not None:
            self.call(self.server.stop(), timeout)
            self.server = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        if not self._loop.is_running():
            self._loop.close()

    def kubectl_args(self, *args: str) -> list[str]:
        return [
            kubectl_binary(),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]

    def kubectl(
        self, *args: str, input: str | None = None, timeout: float = 30, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server; raise with its output when ``check`` and it fails."""
        env = dict(os.environ, HOME=str(self.data_dir), KUBECONFIG=str(self.kubeconfig))
        result = subprocess.run(
            self.kubectl_args(*args), input=input, capture_output=True, text=True, timeout=timeout, env=env
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = dict(os.environ, HOME=str(self.data_dir), KUBECONFIG=str(self.kubeconfig))
        return subprocess.Popen(
            self.kubectl_args(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
