"""``svc``: a headless Service, a hosts ConfigMap and a NetworkPolicy for the job's pods."""

from __future__ import annotations

import msgspec

from pyroclast.common.models import ConfigMap, Job, ObjectMeta, Pod, PodSpec, Service, Volume
from pyroclast.common.models import labels as keys
from pyroclast.common.models.core import (
    ConfigMapKeySelector,
    ConfigMapVolumeSource,
    EnvVar,
    EnvVarSource,
    ServiceSpec,
    VolumeMount,
)
from pyroclast.common.models.meta import LabelSelector
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import (
    JobObjects,
    ObjectRef,
    Plugin,
    controlled_key,
    update_containers,
    with_env,
)
from pyroclast.controller.job.plugins.netpol import (
    NetworkPolicy,
    NetworkPolicyIngressRule,
    NetworkPolicyPeer,
    NetworkPolicySpec,
)

CONFIGMAP_MOUNT_PATH = "/etc/volcano"
HOST_FILE_FMT = "{}.host"
HOSTS_ENV_FMT = "VC_{}_HOSTS"
HOST_NUM_ENV_FMT = "VC_{}_NUM"


def _env_key(task_name: str) -> str:
    return task_name.replace("-", "_")


def generate_hosts(job: Job) -> dict[str, str]:
    """ConfigMap data: ``<task>.host`` files and the ``VC_<TASK>_HOSTS``/``VC_<TASK>_NUM`` values."""
    data: dict[str, str] = {}
    for task in spec.tasks(job):
        hosts = naming.task_hosts(task, spec.name(job))
        key = _env_key(spec.task_name(task))
        data[HOST_FILE_FMT.format(key)] = "\n".join(hosts)
        data[HOSTS_ENV_FMT.format(key.upper())] = ",".join(hosts)
        data[HOST_NUM_ENV_FMT.format(key.upper())] = str(len(hosts))
    return data


def _job_selector(job: Job) -> dict[str, str]:
    return {keys.JOB_NAME_KEY: spec.name(job), keys.JOB_NAMESPACE_KEY: spec.namespace(job)}


class SvcPlugin(Plugin):
    name = "svc"
    flags = {"publish-not-ready-addresses": False, "disable-network-policy": False, "inject-hosts-env": True}

    def configmap_name(self, job: Job) -> str:
        return naming.plugin_object_name(job, self.name)

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        pod_spec = pod.spec or PodSpec()
        pod = msgspec.structs.replace(
            pod,
            spec=msgspec.structs.replace(
                pod_spec,
                hostname=pod_spec.hostname or (pod.metadata.name if pod.metadata else None),
                subdomain=pod_spec.subdomain or spec.name(job),
            ),
        )
        cm = self.configmap_name(job)
        if self._bool("inject-hosts-env"):
            env: list[EnvVar] = []
            for task in spec.tasks(job):
                key = _env_key(spec.task_name(task)).upper()
                for var in (HOSTS_ENV_FMT.format(key), HOST_NUM_ENV_FMT.format(key)):
                    ref = ConfigMapKeySelector(name=cm, key=var)
                    env.append(EnvVar(name=var, value_from=EnvVarSource(config_map_key_ref=ref)))
            pod = update_containers(pod, with_env(*env))
        pod_spec = pod.spec or PodSpec()
        volume = Volume(name=cm, config_map=ConfigMapVolumeSource(name=cm))
        pod = msgspec.structs.replace(
            pod, spec=msgspec.structs.replace(pod_spec, volumes=[*(pod_spec.volumes or []), volume])
        )
        mount = VolumeMount(mount_path=CONFIGMAP_MOUNT_PATH, name=cm)
        return update_containers(
            pod, lambda c: msgspec.structs.replace(c, volume_mounts=[*(c.volume_mounts or []), mount])
        )

    def hosts_configmap(self, job: Job) -> ConfigMap:
        return ConfigMap(
            api_version="v1",
            kind="ConfigMap",
            metadata=self._meta(job, self.configmap_name(job)),
            data=generate_hosts(job),
        )

    def service(self, job: Job) -> Service:
        return Service(
            api_version="v1",
            kind="Service",
            metadata=self._meta(job, spec.name(job)),
            spec=ServiceSpec(
                cluster_ip="None",
                selector=_job_selector(job),
                publish_not_ready_addresses=self._bool("publish-not-ready-addresses") or None,
            ),
        )

    def network_policy(self, job: Job) -> NetworkPolicy:
        return NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=self._meta(job, spec.name(job)),
            spec=NetworkPolicySpec(
                pod_selector=LabelSelector(match_labels=_job_selector(job)),
                ingress=[
                    NetworkPolicyIngressRule(
                        from_=[NetworkPolicyPeer(pod_selector=LabelSelector(match_labels=_job_selector(job)))]
                    )
                ],
                policy_types=["Ingress"],
            ),
        )

    @staticmethod
    def _meta(job: Job, name: str) -> ObjectMeta:
        return ObjectMeta(
            name=name, namespace=spec.namespace(job), owner_references=[naming.controller_ref(job)]
        )

    def on_job_add(self, job: Job, controlled: dict[str, str]) -> JobObjects:
        if controlled.get(controlled_key(self.name)) == self.name:
            return JobObjects()
        objects = JobObjects(upsert=[self.hosts_configmap(job)], ensure=[self.service(job)])
        if not self._bool("disable-network-policy"):
            objects.ensure.append(self.network_policy(job))
        controlled[controlled_key(self.name)] = self.name
        return objects

    def on_job_delete(self, job: Job, controlled: dict[str, str]) -> list[ObjectRef]:
        if controlled.get(controlled_key(self.name)) != self.name:
            return []
        ns = spec.namespace(job)
        refs = [
            ObjectRef("ConfigMap", ns, self.configmap_name(job)),
            ObjectRef("Service", ns, spec.name(job)),
        ]
        del controlled[controlled_key(self.name)]
        if not self._bool("disable-network-policy"):
            refs.append(ObjectRef("NetworkPolicy", ns, spec.name(job)))
        return refs

    def on_job_update(self, job: Job) -> JobObjects:
        return JobObjects(upsert=[self.hosts_configmap(job)])
