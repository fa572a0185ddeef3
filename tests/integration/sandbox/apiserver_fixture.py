"""Reusable fixtures: a sandbox API server on a free port in a temporary data dir.

``apiserver`` is module-scoped so the tests of a module share one server. The handle gives the
URL, the kubeconfig path, ``kubectl(...)`` (runs the real kubectl with a timeout) and
``api_client()`` (a kubernetes_asyncio ApiClient built from the written kubeconfig).
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pyroclast.sandbox.apiserver.testing import ApiServerThread

# A small CustomResourceDefinition for tests: Widget (example.com/v1, short name wdg).
WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue], default: red}
              minAvailable: {type: integer}
          status:
            type: object
            properties:
              phase: {type: string}
"""


class ApiServerHandle(ApiServerThread):
    @asynccontextmanager
    async def api_client(self) -> AsyncIterator[object]:
        from kubernetes_asyncio import client, config

        configuration = client.Configuration()
        await config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        api = client.ApiClient(configuration)
        try:
            yield api
        finally:
            await api.close()


class LineReader:
    """Collects the stdout lines of a background kubectl (``kubectl get -w``, ``logs -f``)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 15) -> list[str]:
        """Wait until ``predicate(lines so far)`` holds; return the lines."""
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; output so far: {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                if predicate(self.lines):
                    break
                raise AssertionError(f"process ended; output: {self.lines}")
            self.lines.append(line.rstrip("\n"))
        return self.lines

    def stop(self) -> list[str]:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._thread.join(timeout=5)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line.rstrip("\n"))
        return self.lines


def start_server(data_dir: Path, port: int = 0) -> ApiServerHandle:
    handle = ApiServerHandle(data_dir, port=port)
    handle.start()
    return handle


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerHandle]:
    handle = start_server(tmp_path_factory.mktemp("apiserver"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def kubeconfig(apiserver: ApiServerHandle) -> Path:
    return apiserver.kubeconfig
