"""Fixtures: a sandbox cluster (API server, simulated nodes, built-in controllers) per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sandbox_nodes_cluster import Cluster, start_cluster

from pyroclast.sandbox.kubeclient import KubeClient, load_kubeconfig


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    handle, workers = start_cluster(tmp_path_factory.mktemp("sandbox"))
    try:
        yield handle
    finally:
        workers.stop()
        handle.apiserver.stop()


@pytest_asyncio.fixture
async def client(cluster: Cluster) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(cluster.kubeconfig)) as kube:
        yield kube
