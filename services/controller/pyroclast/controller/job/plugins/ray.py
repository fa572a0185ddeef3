"""``ray``: head and worker start commands, head ports and the ``<job>-head-svc`` Service."""

from __future__ import annotations

import msgspec

from pyroclast.common.models import Container, Job, ObjectMeta, Pod, Service
from pyroclast.common.models import labels as keys
from pyroclast.common.models.core import ContainerPort, ServicePort, ServiceSpec
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import JobObjects, ObjectRef, Plugin, PluginError, controlled_key

GCS_PORT_NAME = "gcs"
DASHBOARD_PORT_NAME = "dashboard"
CLIENT_SERVER_PORT_NAME = "client-server"


class RayPlugin(Plugin):
    name = "ray"
    flags = {
        "head": "head",
        "headContainer": "head",
        "worker": "worker",
        "workerContainer": "worker",
        "port": 6379,
        "dashboardPort": 8265,
        "clientPort": 10001,
    }

    def _ports(self) -> list[tuple[str, int]]:
        return [
            (GCS_PORT_NAME, self._int("port")),
            (DASHBOARD_PORT_NAME, self._int("dashboardPort")),
            (CLIENT_SERVER_PORT_NAME, self._int("clientPort")),
        ]

    def service_name(self, job: Job) -> str:
        return f"{spec.name(job)}-head-svc"

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        head = spec.find_task(job, self._str("head"))
        if head is None:
            raise PluginError(f"job {spec.name(job)} doesn't have head task {self._str('head')}")
        role = naming.task_key(pod)
        endpoint = f"{naming.domain_name(head, spec.name(job), 0)}:{self._int('port')}"
        port, dashboard, client = (p for _, p in self._ports())
        head_cmd = (
            f"ray start --head --block --dashboard-host=0.0.0.0 --port={port} "
            f"--dashboard-port={dashboard} --ray-client-server-port={client}"
        )

        def change(c: Container) -> Container:
            if role == self._str("head") and c.name == self._str("headContainer"):
                have = {p.container_port for p in c.ports or []}
                extra = [ContainerPort(name=n, container_port=p) for n, p in self._ports() if p not in have]
                return msgspec.structs.replace(
                    c, ports=[*(c.ports or []), *extra] or None, command=["sh", "-c", head_cmd]
                )
            if role == self._str("worker") and c.name == self._str("workerContainer"):
                return msgspec.structs.replace(
                    c, command=["sh", "-c", f"ray start --block --address={endpoint}"]
                )
            return c

        if pod.spec is None or pod.spec.containers is None:
            return pod
        return msgspec.structs.replace(
            pod, spec=msgspec.structs.replace(pod.spec, containers=[change(c) for c in pod.spec.containers])
        )

    def head_service(self, job: Job) -> Service:
        return Service(
            api_version="v1",
            kind="Service",
            metadata=ObjectMeta(
                name=self.service_name(job),
                namespace=spec.namespace(job),
                owner_references=[naming.controller_ref(job)],
            ),
            spec=ServiceSpec(
                selector={
                    keys.JOB_NAME_KEY: spec.name(job),
                    keys.JOB_NAMESPACE_KEY: spec.namespace(job),
                    keys.TASK_SPEC_KEY: self._str("head"),
                },
                ports=[ServicePort(name=n, port=p, target_port=n, protocol="TCP") for n, p in self._ports()],
            ),
        )

    def on_job_add(self, job: Job, controlled: dict[str, str]) -> JobObjects:
        if controlled.get(controlled_key(self.name)) == self.name:
            return JobObjects()
        controlled[controlled_key(self.name)] = self.name
        return JobObjects(ensure=[self.head_service(job)])

    def on_job_delete(self, job: Job, controlled: dict[str, str]) -> list[ObjectRef]:
        if controlled.get(controlled_key(self.name)) != self.name:
            return []
        del controlled[controlled_key(self.name)]
        return [ObjectRef("Service", spec.namespace(job), self.service_name(job))]
