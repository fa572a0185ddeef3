"""Typed access to decoded objects, and the wire conventions they keep."""

from __future__ import annotations

import msgspec
import pytest

from pyroclast.common.models import (
    KINDS,
    Action,
    Command,
    CronJob,
    Job,
    JobFlow,
    JobPhase,
    Pod,
    PolicyEvent,
    Queue,
    decode_json,
    decode_object,
    encode_json,
    encode_object,
    labels,
    load_manifests,
)
from pyroclast.common.models.core import Deployment, Service

JOB_YAML = """\
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata:
  name: test-job
  creationTimestamp: 2024-05-01T10:00:00Z
spec:
  minAvailable: 3
  schedulerName: volcano
  policies:
    - event: PodEvicted
      action: RestartJob
  plugins:
    ssh: []
    env: []
    svc: ["--publish-not-ready-addresses=false"]
  maxRetry: 0
  queue: default
  volumes:
    - mountPath: /data
      volumeClaim:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 1Gi
  tasks:
    - replicas: 6
      name: default-nginx
      dependsOn:
        name: [ps]
        iteration: any
      template:
        metadata:
          name: web
        spec:
          containers:
            - image: nginx
              imagePullPolicy: IfNotPresent
              name: nginx
              ports:
                - containerPort: 80
              readinessProbe:
                httpGet: {port: http, path: /}
              resources:
                requests:
                  cpu: 1
                  memory: "512Mi"
          restartPolicy: OnFailure
status:
  state:
    phase: Running
  taskStatusCount:
    default-nginx:
      phase: {Running: 6}
  retryCount: 0
"""


def load_job() -> Job:
    (job,) = load_manifests(JOB_YAML, source="job.yaml")
    assert isinstance(job, Job)
    return job


def test_typed_access_through_a_job() -> None:
    job = load_job()
    assert job.metadata is not None
    assert job.metadata.name == "test-job"
    assert job.spec is not None
    assert job.spec.tasks is not None
    task = job.spec.tasks[0]
    assert task.replicas == 6
    assert task.depends_on is not None
    assert task.depends_on.name == ["ps"]
    assert task.template is not None
    assert task.template.spec is not None
    container = task.template.spec.containers[0] if task.template.spec.containers else None
    assert container is not None
    assert container.image == "nginx"
    assert container.resources is not None
    assert container.resources.requests == {"cpu": 1, "memory": "512Mi"}
    probe = container.readiness_probe
    assert probe is not None
    assert probe.http_get is not None
    assert probe.http_get.port == "http"
    assert job.spec.plugins == {"ssh": [], "env": [], "svc": ["--publish-not-ready-addresses=false"]}
    assert job.spec.volumes is not None
    assert job.spec.volumes[0].volume_claim is not None
    policy = job.spec.policies[0] if job.spec.policies else None
    assert policy is not None
    assert (policy.event, policy.action) == (PolicyEvent.POD_EVICTED, Action.RESTART_JOB)
    assert job.status is not None
    assert job.status.state is not None
    assert job.status.state.phase == JobPhase.RUNNING
    assert job.status.task_status_count is not None
    assert job.status.task_status_count["default-nginx"].phase == {"Running": 6}


def test_wire_values_are_kept() -> None:
    job = load_job()
    data = encode_object(job)
    assert data["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"
    assert data["spec"]["maxRetry"] == 0
    assert data["spec"]["plugins"]["ssh"] == []
    assert data["status"]["retryCount"] == 0
    assert "status" not in data["spec"]["tasks"][0]["template"]["spec"]["containers"][0]
    assert "minAvailable" not in data["spec"]["tasks"][0]


def test_json_matches_yaml() -> None:
    job = load_job()
    assert decode_json(encode_json(job)) == job
    assert msgspec.json.decode(encode_json(job)) == encode_object(job)


def test_unknown_enum_value_still_decodes() -> None:
    job = decode_object(
        {
            "apiVersion": "batch.volcano.sh/v1alpha1",
            "kind": "Job",
            "spec": {"policies": [{"action": "Explode"}]},
        }
    )
    assert isinstance(job, Job)
    assert job.spec is not None
    assert job.spec.policies is not None
    assert job.spec.policies[0].action == "Explode"
    assert job.spec.policies[0].action not in set(Action)


def test_pod_from_a_task_template_keeps_every_field() -> None:
    job = load_job()
    assert job.spec is not None
    assert job.spec.tasks is not None
    template = job.spec.tasks[0].template
    assert template is not None
    pod = Pod(api_version="v1", kind="Pod", metadata=template.metadata, spec=template.spec)
    data = encode_object(pod)
    assert data["spec"] == encode_object(job)["spec"]["tasks"][0]["template"]["spec"]
    assert data["metadata"] == {"name": "web"}


def test_renamed_and_int_or_string_fields() -> None:
    svc = decode_object(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "spec": {"clusterIP": "None", "ports": [{"port": 80, "targetPort": "http"}]},
        }
    )
    assert isinstance(svc, Service)
    assert svc.spec is not None
    assert svc.spec.cluster_ip == "None"
    assert svc.spec.ports is not None
    assert svc.spec.ports[0].target_port == "http"
    deploy = decode_object(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}},
        }
    )
    assert isinstance(deploy, Deployment)
    assert encode_object(deploy)["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": "25%",
        "maxUnavailable": 0,
    }


def test_other_volcano_kinds() -> None:
    queue, cron, flow, command = load_manifests(
        """\
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: q}
spec:
  weight: 1
  reclaimable: false
  capability: {cpu: 8, memory: 16Gi}
  affinity:
    nodeGroupAffinity:
      requiredDuringSchedulingIgnoredDuringExecution: [group-a]
---
apiVersion: batch.volcano.sh/v1alpha1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "*/5 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      tasks: [{name: t, replicas: 1}]
---
apiVersion: flow.volcano.sh/v1alpha1
kind: JobFlow
metadata: {name: f}
spec:
  jobRetainPolicy: delete
  flows:
    - name: a
    - name: b
      dependsOn:
        targets: [a]
        probe:
          tcpSocketList: [{taskName: t, port: 22}]
---
apiVersion: bus.volcano.sh/v1alpha1
kind: Command
metadata: {name: cmd}
action: CloseQueue
target: {apiVersion: scheduling.volcano.sh/v1beta1, kind: Queue, name: q, uid: "1"}
"""
    )
    assert isinstance(queue, Queue)
    assert queue.spec is not None
    assert queue.spec.reclaimable is False
    assert queue.spec.capability == {"cpu": 8, "memory": "16Gi"}
    assert queue.spec.affinity is not None
    assert queue.spec.affinity.node_group_affinity is not None
    assert isinstance(cron, CronJob)
    assert cron.spec is not None
    assert cron.spec.job_template is not None
    assert isinstance(flow, JobFlow)
    assert flow.spec is not None
    assert flow.spec.flows is not None
    depends = flow.spec.flows[1].depends_on
    assert depends is not None
    assert depends.probe is not None
    assert depends.probe.tcp_socket_list is not None
    assert depends.probe.tcp_socket_list[0].port == 22
    assert isinstance(command, Command)
    assert command.target is not None
    assert command.target.kind == "Queue"


@pytest.mark.parametrize(("key", "cls"), sorted(KINDS.items(), key=str))
def test_every_kind_round_trips_its_type_meta(key: tuple[str, str], cls: type[msgspec.Struct]) -> None:
    api_version, kind = key
    data = {"apiVersion": api_version, "kind": kind, "metadata": {}}
    obj = decode_object(data)
    assert type(obj) is cls
    assert encode_object(obj) == data


def test_label_keys() -> None:
    assert labels.KUBE_GROUP_NAME_ANNOTATION_KEY == "scheduling.k8s.io/group-name"
    assert labels.JOB_NAME_KEY == "volcano.sh/job-name"
    assert labels.TASK_SPEC_KEY == "volcano.sh/task-spec"
