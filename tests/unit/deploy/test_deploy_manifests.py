"""deploy/: the kustomize render installs services whose settings, RBAC and wiring match the code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from pyroclast.common.config import ENV_PREFIX, ServiceConfig, load_config
from pyroclast.controller.main import ControllerConfig
from pyroclast.scheduler.conf import VOLCANO_DEFAULT_CONF, parse_conf
from pyroclast.scheduler.service.main import SchedulerConfig, _check
from pyroclast.webhook.main import WebhookConfig
from pyroclast.webhook.registration import configurations

Obj = dict[str, Any]

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
KUBECTL = Path(sys.executable).parent / "kubectl"

CONFIGS: dict[str, type[ServiceConfig]] = {
    "pyroclast-controller": ControllerConfig,
    "pyroclast-scheduler": SchedulerConfig,
    "pyroclast-webhook": WebhookConfig,
}

# (apiGroup, resource) -> verbs the controller uses, read from
# services/controller/pyroclast/controller/. Informers (kube/informer.py, via InformerFactory)
# list and watch; finalizers "update" is what blockOwnerDeletion owner references need.
CONTROLLER_USES: dict[tuple[str, str], set[str]] = {
    # jobs/controller.py, podgroups/controller.py, publisher.py informers; jobs/apply.py create,
    # delete, patch (out-of-sync mark); podgroups/controller.py patch; binder/kube.py get, list.
    ("", "pods"): {"get", "list", "watch", "create", "delete", "patch"},
    ("", "pods/binding"): {"create"},  # binder/kube.py bind_pod
    ("", "pods/eviction"): {"create"},  # binder/kube.py evict_pod
    ("", "pods/status"): {"update"},  # binder/kube.py replace_pod_status
    ("", "pods/finalizers"): {"update"},  # podgroup/build.py owner_references (Pod owner)
    ("", "events"): {"create", "patch"},  # jobs/recorder.py, binder/kube.py
    ("", "persistentvolumeclaims"): {"list", "watch", "create"},  # jobs/controller.py, jobs/apply.py
    ("", "services"): {"create", "delete"},  # job/plugins/svc.py, ray.py: ensure + delete_objects
    ("", "configmaps"): {"get", "create", "update", "delete"},  # job/plugins/svc.py upsert
    ("", "secrets"): {"get", "create", "update", "delete"},  # job/plugins/ssh.py upsert
    ("networking.k8s.io", "networkpolicies"): {"create", "delete"},  # job/plugins/svc.py
    ("", "nodes"): {"list", "watch"},  # publisher.py
    ("scheduling.k8s.io", "priorityclasses"): {"list", "watch"},  # jobs/controller.py, publisher.py
    ("coordination.k8s.io", "leases"): {"get", "create", "update"},  # leader.py
    ("apps", "replicasets"): {"list", "watch"},  # podgroups/controller.py
    ("apps", "statefulsets"): {"list", "watch"},  # podgroups/controller.py
    ("apps", "replicasets/finalizers"): {"update"},  # podgroups copy the pod's owner reference
    ("apps", "statefulsets/finalizers"): {"update"},
    # jobs/controller.py informer; jobs/apply.py get, replace; reconcile.py delete (TTL);
    # jobflows/controller.py create, delete.
    ("batch.volcano.sh", "jobs"): {"get", "list", "watch", "create", "update", "delete"},
    ("batch.volcano.sh", "jobs/status"): {"update"},  # jobs/apply.py write_status
    ("batch.volcano.sh", "jobs/finalizers"): {"update"},  # job/naming.py controller_ref
    ("bus.volcano.sh", "commands"): {"list", "watch", "delete"},  # jobs/ and queues/controller.py
    # informers; jobs/apply.py create, replace, delete; podgroups/controller.py; binder get, patch.
    ("scheduling.volcano.sh", "podgroups"): {"get", "list", "watch", "create", "update", "patch", "delete"},
    # bootstrap.py get, create; queues/controller.py patch; informers.
    ("scheduling.volcano.sh", "queues"): {"get", "list", "watch", "create", "patch"},
    ("scheduling.volcano.sh", "queues/status"): {"patch"},  # server-side apply of status.state
    ("flow.volcano.sh", "jobflows"): {"list", "watch"},  # jobflows/controller.py
    ("flow.volcano.sh", "jobtemplates"): {"list", "watch"},
    ("flow.volcano.sh", "jobflows/status"): {"update"},
    ("flow.volcano.sh", "jobflows/finalizers"): {"update"},  # jobflow/naming.py controller_ref
    ("flow.volcano.sh", "jobtemplates/status"): {"update"},
}

# registration.py `register`: read, create when missing, else replace.
WEBHOOK_USES: dict[tuple[str, str], set[str]] = {
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): {"get", "create", "update"},
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): {"get", "create", "update"},
}


def _kustomize(path: Path) -> list[Obj]:
    if not KUBECTL.exists():
        pytest.skip(f"no kubectl at {KUBECTL}")
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[Obj]:
    return _kustomize(DEPLOY)


def _of_kind(docs: list[Obj], kind: str) -> list[Obj]:
    return [d for d in docs if d["kind"] == kind]


def _one(docs: list[Obj], kind: str, name: str) -> Obj:
    found = [d for d in _of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} in the render"
    return found[0]


def _containers(deploy: Obj) -> list[Obj]:
    containers: list[Obj] = deploy["spec"]["template"]["spec"]["containers"]
    return containers


def _env(container: Obj) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        assert "value" in item, f"{item['name']}: only literal values are checked"
        env[item["name"]] = item["value"]
    return env


def _config(deploy: Obj) -> ServiceConfig:
    name = deploy["metadata"]["name"]
    (container,) = _containers(deploy)
    env = _env(container)
    assert all(key.startswith(ENV_PREFIX) for key in env), env
    fields = {f.name for f in msgspec.structs.fields(CONFIGS[name])}
    unknown = [key for key in env if key.removeprefix(ENV_PREFIX).lower() not in fields]
    assert not unknown, f"{name}: {unknown} are not settings of {CONFIGS[name].__name__}"
    return load_config(CONFIGS[name], [], env=env)


def _grants(rules: list[Obj]) -> Iterator[tuple[str, str, str]]:
    for rule in rules:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    yield group, resource, verb


def _bound_cluster_roles(docs: list[Obj], namespace: str, account: str) -> list[Obj]:
    names = {
        b["roleRef"]["name"]
        for b in _of_kind(docs, "ClusterRoleBinding")
        if any(
            s.get("kind") == "ServiceAccount" and s.get("name") == account and s.get("namespace") == namespace
            for s in b.get("subjects") or []
        )
    }
    return [r for r in _of_kind(docs, "ClusterRole") if r["metadata"]["name"] in names]


def _used(table: dict[tuple[str, str], set[str]]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for (group, resource), verbs in table.items() for verb in verbs}


# --- settings ---------------------------------------------------------------------------


def test_every_deployment_is_a_known_service(rendered: list[Obj]) -> None:
    assert {d["metadata"]["name"] for d in _of_kind(rendered, "Deployment")} == set(CONFIGS)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_deployment_env_is_a_valid_config(rendered: list[Obj], name: str) -> None:
    deploy = _one(rendered, "Deployment", name)
    config = _config(deploy)
    assert config.nats_servers == ["nats://nats.pyroclast-system.svc:4222"]
    assert config.health_host == "0.0.0.0"
    assert config.health_port > 0
    if isinstance(config, WebhookConfig):
        config.check()
    if isinstance(config, SchedulerConfig):
        _check(config)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_probes_use_the_health_port(rendered: list[Obj], name: str) -> None:
    deploy = _one(rendered, "Deployment", name)
    (container,) = _containers(deploy)
    port = int(_env(container)["PYROCLAST_HEALTH_PORT"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == port


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_deployment_hardening(rendered: list[Obj], name: str) -> None:
    deploy = _one(rendered, "Deployment", name)
    pod = deploy["spec"]["template"]["spec"]
    (container,) = _containers(deploy)
    assert container["image"] == f"{name}:latest"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"requests", "limits"} <= set(container["resources"])


def test_controller_and_webhook_have_disruption_budgets(rendered: list[Obj]) -> None:
    # the webhook starts with one replica: more need the shared CA Secret (docs/deploy.md)
    for name, replicas in (("pyroclast-controller", 2), ("pyroclast-webhook", 1)):
        deploy = _one(rendered, "Deployment", name)
        assert deploy["spec"]["replicas"] == replicas
        pdb = _one(rendered, "PodDisruptionBudget", name)
        assert pdb["metadata"]["namespace"] == deploy["metadata"]["namespace"]
        assert pdb["spec"]["selector"] == deploy["spec"]["selector"]
    controller = _config(_one(rendered, "Deployment", "pyroclast-controller"))
    assert isinstance(controller, ControllerConfig)
    assert controller.leader_elect


# --- scheduler --------------------------------------------------------------------------


def test_scheduler_has_no_credentials(rendered: list[Obj]) -> None:
    deploy = _one(rendered, "Deployment", "pyroclast-scheduler")
    namespace = deploy["metadata"]["namespace"]
    pod = deploy["spec"]["template"]["spec"]
    account = _one(rendered, "ServiceAccount", pod["serviceAccountName"])
    assert account["metadata"]["namespace"] == namespace
    assert account["automountServiceAccountToken"] is False
    assert pod.get("automountServiceAccountToken") is False
    for binding in _of_kind(rendered, "RoleBinding") + _of_kind(rendered, "ClusterRoleBinding"):
        for subject in binding.get("subjects") or []:
            assert not (
                subject.get("kind") == "ServiceAccount"
                and subject.get("name") == account["metadata"]["name"]
                and subject.get("namespace", binding["metadata"].get("namespace")) == namespace
            ), f"{binding['kind']} {binding['metadata']['name']} binds the scheduler"


def test_scheduler_mounts_a_valid_conf(rendered: list[Obj]) -> None:
    deploy = _one(rendered, "Deployment", "pyroclast-scheduler")
    pod = deploy["spec"]["template"]["spec"]
    (container,) = _containers(deploy)
    config = _config(deploy)
    assert isinstance(config, SchedulerConfig)
    conf = Path(config.conf)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in container["volumeMounts"] if Path(m["mountPath"]) == conf.parent)
    assert "subPath" not in mount, "a subPath mount is never updated: the conf would not reload"
    configmap = _one(rendered, "ConfigMap", volumes[mount["name"]]["configMap"]["name"])
    assert configmap["metadata"]["name"] == "volcano-scheduler-configmap"
    assert configmap["metadata"]["namespace"] == deploy["metadata"]["namespace"]
    text = configmap["data"][conf.name]
    assert conf.name == "volcano-scheduler.conf"
    assert text == VOLCANO_DEFAULT_CONF
    parse_conf(text)


# --- RBAC -------------------------------------------------------------------------------


def test_controller_cluster_role_grants_what_the_controller_uses(rendered: list[Obj]) -> None:
    deploy = _one(rendered, "Deployment", "pyroclast-controller")
    account = deploy["spec"]["template"]["spec"]["serviceAccountName"]
    roles = _bound_cluster_roles(rendered, deploy["metadata"]["namespace"], account)
    assert [r["metadata"]["name"] for r in roles] == ["pyroclast-controller"]
    granted = set(_grants(roles[0]["rules"]))
    used = _used(CONTROLLER_USES)
    assert not used - granted, f"missing from the ClusterRole: {sorted(used - granted)}"
    assert not granted - used, f"granted but not used: {sorted(granted - used)}"
    assert all("resourceNames" not in rule for rule in roles[0]["rules"])


def test_webhook_cluster_role_grants_what_registration_uses(rendered: list[Obj]) -> None:
    deploy = _one(rendered, "Deployment", "pyroclast-webhook")
    account = deploy["spec"]["template"]["spec"]["serviceAccountName"]
    roles = _bound_cluster_roles(rendered, deploy["metadata"]["namespace"], account)
    assert [r["metadata"]["name"] for r in roles] == ["pyroclast-webhook"]
    rules = roles[0]["rules"]
    granted = set(_grants(rules))
    used = _used(WEBHOOK_USES)
    assert not used - granted, f"missing from the ClusterRole: {sorted(used - granted)}"
    assert {r for _, r, _ in granted} == {r for _, r in WEBHOOK_USES}
    # get/update are limited to the configurations the webhook registers.
    names = {
        (kind, d["metadata"]["name"])
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
        for d in _of_kind(rendered, kind)
    }
    limited = {
        (
            "MutatingWebhookConfiguration"
            if rule["resources"] == ["mutatingwebhookconfigurations"]
            else "ValidatingWebhookConfiguration",
            name,
        )
        for rule in rules
        if "resourceNames" in rule
        for name in rule["resourceNames"]
    }
    assert limited == names


# --- generated manifests ----------------------------------------------------------------


def _files(folder: Path) -> list[Obj]:
    docs: list[Obj] = []
    for path in sorted(folder.glob("*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def _key(doc: Obj) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


@pytest.mark.parametrize(
    ("folder", "kinds"),
    [
        ("crds", {"CustomResourceDefinition"}),
        ("webhook", {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}),
    ],
)
def test_generated_manifests_are_rendered_unchanged(
    rendered: list[Obj], folder: str, kinds: set[str]
) -> None:
    on_disk = {_key(d): d for d in _files(DEPLOY / folder)}
    assert on_disk, f"deploy/{folder} is empty"
    in_render = {_key(d): d for d in rendered if d["kind"] in kinds}
    assert sorted(in_render) == sorted(on_disk), (
        f"deploy/kustomization.yaml must list every deploy/{folder} file"
    )
    for key, doc in on_disk.items():
        assert in_render[key] == doc, f"{key} differs from deploy/{folder}"


def test_webhook_configurations_call_the_webhook_service(rendered: list[Obj]) -> None:
    deploy = _one(rendered, "Deployment", "pyroclast-webhook")
    config = _config(deploy)
    assert isinstance(config, WebhookConfig)
    namespace = deploy["metadata"]["namespace"]
    service = _one(rendered, "Service", config.service_name)
    assert service["metadata"]["namespace"] == namespace
    assert service["spec"]["selector"] == deploy["spec"]["selector"]["matchLabels"]
    (container,) = _containers(deploy)
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    ports = {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}
    target = ports[config.service_port]
    assert container_ports.get(target, target) == config.listen_port
    webhooks = [
        hook
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
        for doc in _of_kind(rendered, kind)
        for hook in doc["webhooks"]
    ]
    assert webhooks
    for hook in webhooks:
        ref = hook["clientConfig"]["service"]
        assert (ref["name"], ref["namespace"], ref.get("port", 443)) == (
            service["metadata"]["name"],
            namespace,
            config.service_port,
        ), hook["name"]
    # What the running webhook registers (without its caBundle) is what was installed.
    registered = configurations(config.enabled_paths, config.target())
    installed = [
        d for d in rendered if d["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
    ]
    assert sorted(registered, key=_key) == sorted(installed, key=_key)


def test_nats_statefulset_and_service(rendered: list[Obj]) -> None:
    nats = _one(rendered, "StatefulSet", "nats")
    (container,) = nats["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nats:2.10-alpine"
    assert container["args"][:3] == ["-js", "-sd", "/data"]
    service = _one(rendered, "Service", "nats")
    assert service["metadata"]["namespace"] == "pyroclast-system"
    assert [p["port"] for p in service["spec"]["ports"]] == [4222]
