"""Job plugins: the exact env vars, volumes, ports and objects each one adds."""

from __future__ import annotations

import base64
import json

import msgspec
import pytest
from job_builders import job, task, with_status

from pyroclast.common.models import Container, Job, Pod, PodSpec, PodTemplateSpec, TaskSpec
from pyroclast.common.models.core import ContainerPort
from pyroclast.controller.job import plugins, spec
from pyroclast.controller.job.plugins.flags import parse_flags
from pyroclast.controller.job.plugins.ssh import SshPlugin, generate_key_pair, ssh_config
from pyroclast.controller.job.plugins.svc import generate_hosts
from pyroclast.controller.job.pods import build_pod


def make(j: Job, task_name: str, index: int) -> Pod:
    t = next(t for t in spec.tasks(j) if t.name == task_name)
    return build_pod(j, t, index)


def env_of(p: Pod, i: int = 0, init: bool = False) -> dict[str, object]:
    assert p.spec is not None
    cs = (p.spec.init_containers if init else p.spec.containers) or []
    return {e.name or "": e.value if e.value is not None else e.value_from for e in cs[i].env or []}


def with_init(t: TaskSpec) -> TaskSpec:
    assert t.template is not None
    assert t.template.spec is not None
    pod_spec = msgspec.structs.replace(
        t.template.spec, init_containers=[Container(name="init", image="busybox")]
    )
    return msgspec.structs.replace(t, template=PodTemplateSpec(spec=pod_spec))


def test_registry_names_and_unknown_plugin() -> None:
    assert set(plugins.REGISTRY) == {"env", "svc", "ssh", "pytorch", "mpi", "tensorflow", "hcclrank", "ray"}
    with pytest.raises(plugins.UnknownPluginError):
        plugins.build("horovod")


def test_env_plugin_sets_both_index_variables() -> None:
    j = job(with_init(task("worker", 3)))
    p = plugins.build("env").on_pod_create(make(j, "worker", 2), j)
    assert env_of(p) == {"VK_TASK_INDEX": "2", "VC_TASK_INDEX": "2"}
    assert env_of(p, init=True) == {"VK_TASK_INDEX": "2", "VC_TASK_INDEX": "2"}


def test_env_plugin_controlled_resources() -> None:
    j = job(task("t"), plugins={"env": []})
    objects, controlled = plugins.on_job_add(j)
    assert controlled == {"plugin-env": "env"}
    assert objects.upsert == []
    assert objects.ensure == []
    refs, after = plugins.on_job_delete(with_status(j, controlled_resources=controlled))
    assert refs == []
    assert after == {}


def test_svc_hosts_configmap_data() -> None:
    j = job(task("ps", 1), task("worker-x", 2))
    assert generate_hosts(j) == {
        "ps.host": "job-ps-0.job",
        "VC_PS_HOSTS": "job-ps-0.job",
        "VC_PS_NUM": "1",
        "worker_x.host": "job-worker-x-0.job\njob-worker-x-1.job",
        "VC_WORKER_X_HOSTS": "job-worker-x-0.job,job-worker-x-1.job",
        "VC_WORKER_X_NUM": "2",
    }


def test_svc_fixed_hostname_is_one_host() -> None:
    t = task("m", 3)
    t = msgspec.structs.replace(
        t,
        template=PodTemplateSpec(spec=msgspec.structs.replace(t.template.spec, hostname="h", subdomain="s")),
    )
    assert generate_hosts(job(t))["m.host"] == "h.s"


def test_svc_pod_hostname_env_and_mount() -> None:
    j = job(with_init(task("ps", 1)), task("worker", 2))
    p = plugins.build("svc").on_pod_create(make(j, "ps", 0), j)
    assert p.spec is not None
    assert (p.spec.hostname, p.spec.subdomain) == ("job-ps-0", "job")
    env = p.spec.containers[0].env  # type: ignore[index]
    assert [e.name for e in env or []] == ["VC_PS_HOSTS", "VC_PS_NUM", "VC_WORKER_HOSTS", "VC_WORKER_NUM"]
    ref = env[0].value_from.config_map_key_ref  # type: ignore[index,union-attr]
    assert (ref.name, ref.key) == ("job-svc", "VC_PS_HOSTS")  # type: ignore[union-attr]
    vol = p.spec.volumes[-1]  # type: ignore[index]
    assert vol.name == "job-svc"
    assert vol.config_map.name == "job-svc"  # type: ignore[union-attr]
    for c in [*p.spec.containers, *p.spec.init_containers]:  # type: ignore[misc]
        assert [(m.mount_path, m.name) for m in c.volume_mounts or []] == [("/etc/volcano", "job-svc")]


def test_svc_inject_hosts_env_can_be_disabled() -> None:
    j = job(task("ps", 1))
    p = plugins.build("svc", ["--inject-hosts-env=false"]).on_pod_create(make(j, "ps", 0), j)
    assert p.spec.containers[0].env is None  # type: ignore[index,union-attr]


def test_svc_objects_on_add_and_delete() -> None:
    j = job(task("ps", 1), plugins={"svc": ["--publish-not-ready-addresses"]})
    objects, controlled = plugins.on_job_add(j)
    (cm,) = objects.upsert
    svc, netpol = objects.ensure
    assert controlled == {"plugin-svc": "svc"}
    assert cm.metadata.name == "job-svc"
    assert cm.data == generate_hosts(j)
    assert svc.metadata.name == "job"
    assert svc.spec.cluster_ip == "None"
    assert svc.spec.selector == {"volcano.sh/job-name": "job", "volcano.sh/job-namespace": "ns"}
    assert svc.spec.publish_not_ready_addresses is True
    wire = json.loads(msgspec.json.encode(netpol))
    assert wire["spec"] == {
        "podSelector": {"matchLabels": {"volcano.sh/job-name": "job", "volcano.sh/job-namespace": "ns"}},
        "ingress": [
            {
                "from": [
                    {
                        "podSelector": {
                            "matchLabels": {"volcano.sh/job-name": "job", "volcano.sh/job-namespace": "ns"}
                        }
                    }
                ]
            }
        ],
        "policyTypes": ["Ingress"],
    }
    assert wire["apiVersion"] == "networking.k8s.io/v1"
    # Already set up: nothing more to create.
    again, _ = plugins.on_job_add(with_status(j, controlled_resources=controlled))
    assert again.upsert == []
    assert again.ensure == []
    assert [o.metadata.name for o in plugins.on_job_update(j).upsert] == ["job-svc"]


def test_svc_without_network_policy() -> None:
    j = job(task("ps", 1), plugins={"svc": ["--disable-network-policy=true"]})
    objects, controlled = plugins.on_job_add(j)
    assert [o.kind for o in objects.ensure] == ["Service"]
    refs, _ = plugins.on_job_delete(with_status(j, controlled_resources=controlled))
    assert [r.kind for r in refs] == ["ConfigMap", "Service"]


def test_ssh_secret_mount_and_config() -> None:
    j = job(with_init(task("mpimaster", 1)), task("mpiworker", 2), plugins={"ssh": []})
    p = plugins.build("ssh").on_pod_create(make(j, "mpimaster", 0), j)
    vol = p.spec.volumes[-1]  # type: ignore[index,union-attr]
    assert vol.name == "job-ssh"
    assert vol.secret.secret_name == "job-ssh"  # type: ignore[union-attr]
    assert vol.secret.default_mode == 0o600  # type: ignore[union-attr]
    assert [(i.key, i.path) for i in vol.secret.items] == [  # type: ignore[union-attr]
        ("id_rsa", ".ssh/id_rsa"),
        ("id_rsa.pub", ".ssh/id_rsa.pub"),
        ("authorized_keys", ".ssh/authorized_keys"),
        ("config", ".ssh/config"),
    ]
    for c in [*p.spec.containers, *p.spec.init_containers]:  # type: ignore[union-attr,misc]
        assert [(m.mount_path, m.sub_path, m.name) for m in c.volume_mounts or []] == [
            ("/root/.ssh", ".ssh", "job-ssh")
        ]
    assert ssh_config(j, 22) == (
        "StrictHostKeyChecking no\nUserKnownHostsFile /dev/null\n"
        "Host job-mpimaster-0\n  HostName job-mpimaster-0.job\n  Port 22\n"
        "Host job-mpiworker-0\n  HostName job-mpiworker-0.job\n  Port 22\n"
        "Host job-mpiworker-1\n  HostName job-mpiworker-1.job\n  Port 22\n"
    )


def test_ssh_custom_path_mode_port_and_user_keys() -> None:
    j = job(task("t", 1))
    plugin = plugins.build(
        "ssh",
        [
            "--ssh-key-file-path=/home/u/.ssh",
            "--ssh-private-key=PRIV",
            "--ssh-public-key=PUB",
            "--ssh-port=2222",
        ],
    )
    p = plugin.on_pod_create(make(j, "t", 0), j)
    assert p.spec.volumes[-1].secret.default_mode == 0o644  # type: ignore[index,union-attr]
    assert p.spec.containers[0].volume_mounts[-1].mount_path == "/home/u/.ssh"  # type: ignore[index,union-attr]
    objects = plugin.on_job_add(j, {})
    secret = objects.upsert[0]
    data = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
    assert data["id_rsa"] == "PRIV"
    assert data["id_rsa.pub"] == "PUB"
    assert data["authorized_keys"] == "PUB"
    assert "  Port 2222\n" in data["config"]
    assert plugins.build("ssh", ["--ssh-port=99999"]).port() == 22  # type: ignore[attr-defined]


def test_ssh_generated_keys() -> None:
    private, public = generate_key_pair()
    assert private.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert public.startswith(b"ssh-rsa ")
    assert public.endswith(b"\n")
    j = job(task("t", 1), plugins={"ssh": []})
    objects, controlled = plugins.on_job_add(j)
    assert controlled == {"plugin-ssh": "ssh"}
    assert objects.upsert[0].metadata.name == "job-ssh"
    refs, _ = plugins.on_job_delete(with_status(j, controlled_resources=controlled))
    assert [(r.kind, r.name) for r in refs] == [("Secret", "job-ssh")]
    assert isinstance(plugins.build("ssh"), SshPlugin)


def test_pytorch_master_and_worker() -> None:
    j = job(task("master", 1), task("worker", 2))
    plugin = plugins.build("pytorch")
    master = plugin.on_pod_create(make(j, "master", 0), j)
    worker = plugin.on_pod_create(make(j, "worker", 1), j)
    common = {"MASTER_ADDR": "job-master-0.job", "MASTER_PORT": "23456", "WORLD_SIZE": "3"}
    assert env_of(master) == {**common, "RANK": "0"}
    assert env_of(worker) == {**common, "RANK": "2"}
    assert master.spec.containers[0].ports == [ContainerPort(name="pytorchjob-port", container_port=23456)]  # type: ignore[index,union-attr]
    assert worker.spec.init_containers is None  # type: ignore[union-attr]


def test_pytorch_flags_and_wait_container() -> None:
    j = job(task("m", 1), task("w", 1))
    plugin = plugins.build("pytorch", ["--master=m", "--worker=w", "--port=1234", "--wait-master-enabled"])
    worker = plugin.on_pod_create(make(j, "w", 0), j)
    init = worker.spec.init_containers[0]  # type: ignore[index,union-attr]
    assert (init.name, init.image, init.command[:2]) == ("wait-for-master", "busybox:1.36.1", ["sh", "-c"])  # type: ignore[index]
    assert "nc -z job-m-0.job 1234" in init.command[2]  # type: ignore[index]
    assert env_of(worker)["MASTER_PORT"] == "1234"
    no_master = job(task("w", 1))
    untouched = make(no_master, "w", 0)
    assert plugin.on_pod_create(untouched, no_master) == untouched


def test_mpi_hosts_and_ports() -> None:
    j = job(with_init(task("master", 1)), task("worker", 2))
    plugin = plugins.build("mpi")
    master = plugin.on_pod_create(make(j, "master", 0), j)
    assert env_of(master) == {"MPI_HOST": "job-worker-0.job,job-worker-1.job"}
    assert env_of(master, init=True) == {"MPI_HOST": "job-worker-0.job,job-worker-1.job"}
    assert master.spec.containers[0].ports == [ContainerPort(name="mpijob-port", container_port=22)]  # type: ignore[index,union-attr]
    worker = plugin.on_pod_create(make(j, "worker", 0), j)
    assert worker.spec.containers[0].env is None  # type: ignore[index,union-attr]
    assert worker.spec.containers[0].ports == [ContainerPort(name="mpijob-port", container_port=22)]  # type: ignore[index,union-attr]


def test_tensorflow_tf_config() -> None:
    j = job(task("ps", 1), task("worker", 2), task("chief", 1))
    p = plugins.build("tensorflow").on_pod_create(make(j, "worker", 1), j)
    raw = env_of(p)["TF_CONFIG"]
    assert raw == (
        '{"cluster":{"ps":["job-ps-0.job:2222"],"worker":["job-worker-0.job:2222","job-worker-1.job:2222"],'
        '"chief":["job-chief-0.job:2222"]},"task":{"type":"worker","index":1}}'
    )
    single = job(task("worker", 1))
    alone = make(single, "worker", 0)
    assert plugins.build("tensorflow").on_pod_create(alone, single) == alone


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"port": 22, "name": "m", "on": False}),
        (["--port=23", "-name", "x", "--on"], {"port": 23, "name": "x", "on": True}),
        (["--on=false", "--port", "0x10"], {"port": 16, "name": "m", "on": False}),
        (["--bogus", "--port=5"], {"port": 22, "name": "m", "on": False}),
        (["--port=5", "positional", "--name=z"], {"port": 5, "name": "m", "on": False}),
        (["--port=nan", "--name=z"], {"port": 22, "name": "m", "on": False}),
        (["--", "--port=5"], {"port": 22, "name": "m", "on": False}),
    ],
)
def test_go_flag_parsing(args: list[str], expected: dict[str, object]) -> None:
    assert parse_flags(args, {"port": 22, "name": "m", "on": False}) == expected


def test_plugins_compose_in_manifest_order() -> None:
    j = job(task("ps", 1), plugins={"env": [], "svc": []})
    p = plugins.on_pod_create(make(j, "ps", 0), j)
    assert list(env_of(p)) == ["VK_TASK_INDEX", "VC_TASK_INDEX", "VC_PS_HOSTS", "VC_PS_NUM"]
    assert isinstance(p.spec, PodSpec)


def test_hcclrank_annotation() -> None:
    j = job(task("master", 2), task("worker", 3))
    plugin = plugins.build("hcclrank")
    master = plugin.on_pod_create(make(j, "master", 1), j)
    worker = plugin.on_pod_create(make(j, "worker", 2), j)
    assert master.metadata is not None
    assert master.metadata.annotations is not None
    assert master.metadata.annotations["hccl/rankIndex"] == "1"
    assert worker.metadata is not None
    assert worker.metadata.annotations is not None
    assert worker.metadata.annotations["hccl/rankIndex"] == "4"
    # A RANK set by an earlier plugin wins.
    ranked = plugins.build("pytorch").on_pod_create(make(j, "worker", 0), j)
    ranked = plugin.on_pod_create(ranked, j)
    assert ranked.metadata is not None
    assert ranked.metadata.annotations is not None
    assert ranked.metadata.annotations["hccl/rankIndex"] == "1"
    other = job(task("ps", 1))
    untouched = make(other, "ps", 0)
    assert plugin.on_pod_create(untouched, other) == untouched
    assert plugins.on_job_add(job(task("t"), plugins={"hcclrank": []}))[1] == {}


def test_ray_head_worker_and_service() -> None:
    j = job(task("head", 1), task("worker", 2), plugins={"ray": []})
    plugin = plugins.build("ray")
    head = plugin.on_pod_create(make(j, "head", 0), j)
    worker = plugin.on_pod_create(make(j, "worker", 1), j)
    assert head.spec is not None
    assert head.spec.containers is not None
    hc = head.spec.containers[0]
    assert hc.command == [
        "sh",
        "-c",
        "ray start --head --block --dashboard-host=0.0.0.0 --port=6379 --dashboard-port=8265 "
        "--ray-client-server-port=10001",
    ]
    assert [(p.name, p.container_port) for p in hc.ports or []] == [
        ("gcs", 6379),
        ("dashboard", 8265),
        ("client-server", 10001),
    ]
    assert worker.spec is not None
    assert worker.spec.containers is not None
    assert worker.spec.containers[0].command == [
        "sh",
        "-c",
        "ray start --block --address=job-head-0.job:6379",
    ]
    objects, controlled = plugins.on_job_add(j)
    svc = objects.ensure[0]
    assert svc.metadata.name == "job-head-svc"
    assert svc.spec.selector == {
        "volcano.sh/job-name": "job",
        "volcano.sh/job-namespace": "ns",
        "volcano.sh/task-spec": "head",
    }
    assert [(p.name, p.port, p.target_port, p.protocol) for p in svc.spec.ports] == [
        ("gcs", 6379, "gcs", "TCP"),
        ("dashboard", 8265, "dashboard", "TCP"),
        ("client-server", 10001, "client-server", "TCP"),
    ]
    refs, _ = plugins.on_job_delete(with_status(j, controlled_resources=controlled))
    assert [(r.kind, r.name) for r in refs] == [("Service", "job-head-svc")]
    headless = job(task("worker", 1))
    with pytest.raises(plugins.PluginError, match="doesn't have head task head"):
        plugin.on_pod_create(make(headless, "worker", 0), headless)
