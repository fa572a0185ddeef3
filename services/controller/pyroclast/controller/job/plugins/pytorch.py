"""``pytorch``: torch.distributed rendezvous variables for master and worker tasks."""

from __future__ import annotations

import msgspec

from pyroclast.common.models import Container, Job, Pod, PodSpec
from pyroclast.common.models.core import ContainerPort, EnvVar
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import Plugin, replica_index, update_containers

MASTER_ADDR = "MASTER_ADDR"
MASTER_PORT = "MASTER_PORT"
WORLD_SIZE = "WORLD_SIZE"
RANK = "RANK"
PORT_NAME = "pytorchjob-port"
WAIT_CONTAINER = "wait-for-master"


def wait_script(addr: str, port: int, timeout: int) -> str:
    """Shell loop an init container runs until the master accepts connections."""
    return f"""echo "Waiting for master node {addr}:{port} to be ready..."
TIMEOUT={timeout}
ELAPSED=0
until {{ nc -z {addr} {port} || echo > /dev/tcp/{addr}/{port}; }} 2>/dev/null; do
  if [ $ELAPSED -ge $TIMEOUT ]; then
    echo "Timeout waiting for master after ${{TIMEOUT}} seconds"
    exit 1
  fi
  echo "Master not ready yet, retrying in 2 seconds... (elapsed: ${{ELAPSED}}s)"
  sleep 2
  ELAPSED=$((ELAPSED + 2))
done
echo "Master node is ready!\""""


def open_port(port: int, name: str) -> object:
    def change(c: Container) -> Container:
        if any(p.container_port == port for p in c.ports or []):
            return c
        return msgspec.structs.replace(
            c, ports=[*(c.ports or []), ContainerPort(name=name, container_port=port)]
        )

    return change


class PytorchPlugin(Plugin):
    name = "pytorch"
    flags = {
        "master": "master",
        "worker": "worker",
        "port": 23456,
        "wait-master-enabled": False,
        "wait-master-timeout": 300,
        "wait-master-image": "busybox:1.36.1",
    }

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        role = naming.task_key(pod)
        master = spec.find_task(job, self._str("master"))
        if master is None:
            return pod
        addr = naming.domain_name(master, spec.name(job), 0)
        port = self._int("port")
        rank: int | None = None
        if role == self._str("worker"):
            rank = replica_index(pod) + 1
            pod = self._add_wait_container(pod, addr)
        elif role == self._str("master"):
            rank = 0
        world = sum(
            spec.replicas(t)
            for t in spec.tasks(job)
            if spec.task_name(t) in (self._str("master"), self._str("worker"))
        )
        env = [
            EnvVar(name=MASTER_ADDR, value=addr),
            EnvVar(name=MASTER_PORT, value=str(port)),
            EnvVar(name=WORLD_SIZE, value=str(world)),
        ]
        if rank is not None:
            env.append(EnvVar(name=RANK, value=str(rank)))
        add_port = open_port(port, PORT_NAME)

        def change(c: Container) -> Container:
            c = add_port(c)  # type: ignore[operator]
            return msgspec.structs.replace(c, env=[*(c.env or []), *env])

        return update_containers(pod, change, init=False)

    def _add_wait_container(self, pod: Pod, addr: str) -> Pod:
        pod_spec = pod.spec or PodSpec()
        if not self._bool("wait-master-enabled"):
            return pod
        if any(c.name == WAIT_CONTAINER for c in pod_spec.init_containers or []):
            return pod
        script = wait_script(addr, self._int("port"), self._int("wait-master-timeout"))
        init = Container(
            name=WAIT_CONTAINER, image=self._str("wait-master-image"), command=["sh", "-c", script]
        )
        return msgspec.structs.replace(
            pod,
            spec=msgspec.structs.replace(pod_spec, init_containers=[*(pod_spec.init_containers or []), init]),
        )
