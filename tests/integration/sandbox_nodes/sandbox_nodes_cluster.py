"""A small sandbox cluster for tests: the API server, the node agent and the built-in controllers,
each on its own background event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyroclast.sandbox.apiserver.testing import ApiServerThread
from pyroclast.sandbox.config import SandboxConfig, parse_document
from pyroclast.sandbox.controllers.manager import ControllerManager
from pyroclast.sandbox.kubeclient import KubeClient, load_kubeconfig
from pyroclast.sandbox.kubelet.agent import NodeAgent
from pyroclast.sandbox.kubelet.lifecycle import Policy

NODE_CONFIG = {
    "nodes": {"name": "node", "count": 2, "cpu": "4", "memory": "8Gi", "pods": 20},
    "kubelet": {"leaseDurationSeconds": 2, "renewIntervalSeconds": 0.5, "statusIntervalSeconds": 1},
    "controllers": {"nodeMonitorGracePeriodSeconds": 3},
}


class LoopThread:
    """An event loop on a daemon thread, running long-lived tasks for a test module."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def submit(self, factory: Callable[[], Coroutine[Any, Any, None]]) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Cluster:
    data_dir: Path
    kubeconfig: Path
    config: SandboxConfig
    apiserver: ApiServerThread


async def _run_nodes(kubeconfig: Path, config: SandboxConfig, logs: Path) -> None:
    async with KubeClient(load_kubeconfig(kubeconfig)) as client:
        await NodeAgent(client, config, logs_dir=logs, policy=Policy(backoff_base_seconds=1)).run()


async def _run_controllers(kubeconfig: Path, config: SandboxConfig) -> None:
    async with KubeClient(load_kubeconfig(kubeconfig)) as client:
        await ControllerManager(client, config.timing, node_check_seconds=0.25).run()


def start_cluster(data_dir: Path) -> tuple[Cluster, LoopThread]:
    apiserver = ApiServerThread(data_dir).start()
    config = parse_document({**NODE_CONFIG, "dataDir": str(data_dir)})
    workers = LoopThread("sandbox-nodes-and-controllers")
    workers.submit(lambda: _run_nodes(apiserver.kubeconfig, config, data_dir / "logs"))
    workers.submit(lambda: _run_controllers(apiserver.kubeconfig, config))
    return Cluster(
        data_dir=data_dir, kubeconfig=apiserver.kubeconfig, config=config, apiserver=apiserver
    ), workers
