"""The sandbox API server driven by the real kubectl."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from apiserver_fixture import WIDGET_CRD as CRD
from apiserver_fixture import ApiServerHandle, LineReader

pytestmark = pytest.mark.integration

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        env: [{name: MODE, value: "one"}]
"""


def pod(name: str, **labels: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        }
    )


def test_version_and_api_resources(apiserver: ApiServerHandle) -> None:
    out = apiserver.kubectl("version", "-o", "json").stdout
    assert json.loads(out)["serverVersion"]["minor"] == "37"
    resources = apiserver.kubectl("api-resources").stdout
    lines = {line.split()[0]: line for line in resources.splitlines()[1:]}
    assert "po" in lines["pods"]
    assert "true" in lines["pods"]
    assert "deploy" in lines["deployments"]
    assert "apps/v1" in lines["deployments"]
    assert "pc" in lines["priorityclasses"]
    assert "false" in lines["priorityclasses"]
    for name in ("leases", "poddisruptionbudgets", "networkpolicies", "customresourcedefinitions"):
        assert name in lines


def test_default_namespaces(apiserver: ApiServerHandle) -> None:
    out = apiserver.kubectl("get", "namespaces").stdout
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert ns in out
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]


def test_apply_create_then_update(apiserver: ApiServerHandle) -> None:
    assert "deployment.apps/web created" in apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT).stdout
    changed = DEPLOYMENT.replace('value: "one"', 'value: "two"')
    assert "deployment.apps/web configured" in apiserver.kubectl("apply", "-f", "-", input=changed).stdout
    assert "unchanged" in apiserver.kubectl("apply", "-f", "-", input=changed).stdout
    obj = json.loads(apiserver.kubectl("get", "deploy", "web", "-o", "json").stdout)
    assert obj["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "two"}]
    assert obj["metadata"]["generation"] == 2
    wide = apiserver.kubectl("get", "deploy", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert wide[1].split()[:2] == ["web", "0/2"]
    y = yaml.safe_load(apiserver.kubectl("get", "deploy", "web", "-o", "yaml").stdout)
    assert y["spec"]["strategy"]["type"] == "RollingUpdate"


def test_server_side_apply(apiserver: ApiServerHandle) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1', b: '2'}\n"
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=manifest.replace(", b: '2'", ""))
    obj = json.loads(apiserver.kubectl("get", "cm", "ssa", "-o", "json", "--show-managed-fields").stdout)
    assert obj["data"] == {"a": "1"}
    assert obj["metadata"]["managedFields"][0]["manager"] == "kubectl"
    assert obj["metadata"]["managedFields"][0]["operation"] == "Apply"
    # Another manager takes a field over; re-applying a different value conflicts unless forced.
    apiserver.kubectl("patch", "cm", "ssa", "--type=merge", "-p", '{"data":{"a":"9"}}')
    res = apiserver.kubectl(
        "apply", "--server-side", "-f", "-", input=manifest.replace("'1'", "'2'"), check=False
    )
    assert res.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .data.a' in res.stderr
    apiserver.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", input=manifest.replace("'1'", "'2'")
    )
    obj = json.loads(apiserver.kubectl("get", "cm", "ssa", "-o", "json", "--show-managed-fields").stdout)
    assert obj["data"]["a"] == "2"
    assert [m["manager"] for m in obj["metadata"]["managedFields"]] == ["kubectl"]


def test_get_wide_yaml_and_label_selectors(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=pod("sel-a", tier="fe", app="x"))
    apiserver.kubectl("apply", "-f", "-", input=pod("sel-b", tier="be", app="x"))
    wide = apiserver.kubectl("get", "pods", "-o", "wide", "-l", "app=x").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert [line.split()[0] for line in wide[1:]] == ["sel-a", "sel-b"]
    assert wide[1].split()[1:3] == ["0/1", "Pending"]
    names = apiserver.kubectl("get", "pods", "-l", "tier in (fe),app", "-o", "name").stdout.split()
    assert names == ["pod/sel-a"]
    names = apiserver.kubectl("get", "pods", "-l", "tier!=fe,app=x", "-o", "name").stdout.split()
    assert names == ["pod/sel-b"]
    names = apiserver.kubectl(
        "get", "pods", "--field-selector", "metadata.name=sel-b", "-o", "name"
    ).stdout.split()
    assert names == ["pod/sel-b"]
    y = yaml.safe_load(apiserver.kubectl("get", "pod", "sel-a", "-o", "yaml").stdout)
    assert y["status"]["phase"] == "Pending"
    assert y["spec"]["restartPolicy"] == "Always"


def test_label_annotate_patch(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=pod("lp"))
    apiserver.kubectl("label", "pod", "lp", "color=green")
    apiserver.kubectl("annotate", "pod", "lp", "note=hello")
    apiserver.kubectl(
        "patch", "pod", "lp", "--type", "merge", "-p", '{"metadata":{"labels":{"merge":"yes"}}}'
    )
    apiserver.kubectl(
        "patch",
        "pod",
        "lp",
        "--type",
        "json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]',
    )
    apiserver.kubectl(
        "patch",
        "pod",
        "lp",
        "--type",
        "strategic",
        "-p",
        '{"spec":{"containers":[{"name":"main","image":"busybox:2"}]}}',
    )
    obj = json.loads(apiserver.kubectl("get", "pod", "lp", "-o", "json").stdout)
    labels = obj["metadata"]["labels"]
    assert labels["color"] == "green"
    assert labels["merge"] == "yes"
    assert labels["json"] == "yes"
    assert obj["metadata"]["annotations"]["note"] == "hello"
    assert [c["image"] for c in obj["spec"]["containers"]] == ["busybox:2"]
    bad = apiserver.kubectl(
        "patch", "pod", "lp", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/nope"}]', check=False
    )
    assert bad.returncode != 0
    apiserver.kubectl("label", "pod", "lp", "color-")
    obj = json.loads(apiserver.kubectl("get", "pod", "lp", "-o", "json").stdout)
    assert "color" not in obj["metadata"]["labels"]


def test_describe_and_events(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=pod("described"))
    uid = apiserver.kubectl("get", "pod", "described", "-o", "jsonpath={.metadata.uid}").stdout
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "described.1"},
        "involvedObject": {"kind": "Pod", "name": "described", "namespace": "default", "uid": uid},
        "reason": "Scheduled",
        "message": "Successfully assigned default/described to node-1",
        "type": "Normal",
        "count": 1,
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "source": {"component": "pyroclast-scheduler"},
    }
    apiserver.kubectl("apply", "-f", "-", input=json.dumps(event))
    out = apiserver.kubectl("describe", "pod", "described").stdout
    assert "Name:" in out
    assert "described" in out
    assert "busybox:1.36" in out
    assert "Successfully assigned default/described to node-1" in out
    events = apiserver.kubectl("get", "events").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("pod/described" in line and "Scheduled" in line for line in events[1:])


def test_get_watch_sees_change(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=pod("watched"))
    reader = LineReader(apiserver.popen("get", "pods", "watched", "-w", "--request-timeout=30s"))
    try:
        lines = reader.wait_for(lambda ls: len(ls) >= 2)  # header and the current state
        assert lines[0].split()[:3] == ["NAME", "READY", "STATUS"]
        apiserver.kubectl("label", "pod", "watched", "step=two")
        apiserver.kubectl("delete", "pod", "watched", "--wait=false")
        reader.wait_for(lambda ls: len([line for line in ls if line.startswith("watched")]) >= 3)
    finally:
        reader.stop()


def test_wait_for_condition_and_jsonpath(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=pod("waited"))
    proc = apiserver.popen("wait", "--for=condition=Ready", "pod/waited", "--timeout=20s")
    time.sleep(0.5)
    status = {
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        }
    }
    apiserver.kubectl(
        "patch", "pod", "waited", "--subresource=status", "--type=merge", "-p", json.dumps(status)
    )
    out, err = proc.communicate(timeout=25)
    assert proc.returncode == 0, err
    assert "condition met" in out
    res = apiserver.kubectl("wait", "--for=jsonpath={.status.phase}=Running", "pod/waited", "--timeout=10s")
    assert "condition met" in res.stdout
    row = apiserver.kubectl("get", "pod", "waited").stdout.splitlines()[1].split()
    assert row[2] == "Running"


def test_logs(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=pod("logger"))
    assert apiserver.kubectl("logs", "logger").stdout == ""
    log_dir = apiserver.data_dir / "logs" / "default" / "logger"
    log_dir.mkdir(parents=True)
    (log_dir / "main.log").write_text("line 1\nline 2\nline 3\n")
    assert apiserver.kubectl("logs", "logger").stdout == "line 1\nline 2\nline 3\n"
    assert apiserver.kubectl("logs", "logger", "--tail=1").stdout == "line 3\n"
    follow = LineReader(apiserver.popen("logs", "-f", "logger"))
    try:
        follow.wait_for(lambda ls: len(ls) >= 3)
        with (log_dir / "main.log").open("a") as f:
            f.write("line 4\n")
        lines = follow.wait_for(lambda ls: len(ls) >= 4)
        assert lines == ["line 1", "line 2", "line 3", "line 4"]
        apiserver.kubectl("delete", "pod", "logger", "--wait=false")
        follow.proc.wait(timeout=10)  # the stream ends with the pod
    finally:
        follow.stop()
    apiserver.kubectl("apply", "-f", "-", input=pod("logger"))
    bad = apiserver.kubectl("logs", "logger", "-c", "nope", check=False)
    assert bad.returncode != 0
    assert "container nope is not valid for pod logger" in bad.stderr


def test_delete_cascades_to_owned_objects(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\n")
    uid = apiserver.kubectl("get", "cm", "owner", "-o", "jsonpath={.metadata.uid}").stdout
    for name, block in (("dep-a", True), ("dep-b", False)):
        ref = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "owner",
            "uid": uid,
            "blockOwnerDeletion": block,
        }
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "ownerReferences": [ref]},
        }
        apiserver.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    apiserver.kubectl("delete", "cm", "owner", "--cascade=foreground", "--timeout=20s")
    deadline = time.time() + 10
    while time.time() < deadline:
        names = apiserver.kubectl("get", "cm", "-o", "name").stdout.split()
        if not {"configmap/dep-a", "configmap/dep-b", "configmap/owner"} & set(names):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"dependents not collected: {names}")


def test_namespace_deletion_removes_contents(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n")
    apiserver.kubectl("apply", "-n", "doomed", "-f", "-", input=pod("inside"))
    apiserver.kubectl("delete", "namespace", "doomed", "--timeout=20s")
    res = apiserver.kubectl("get", "namespace", "doomed", check=False)
    assert 'namespaces "doomed" not found' in res.stderr
    res = apiserver.kubectl("delete", "namespace", "default", check=False)
    assert "this namespace may not be deleted" in res.stderr


def test_explain(apiserver: ApiServerHandle) -> None:
    out = apiserver.kubectl("explain", "pods.spec").stdout
    assert "KIND:       Pod" in out
    assert "containers" in out
    assert "-required-" in out
    out = apiserver.kubectl("explain", "deployment.spec.replicas").stdout
    assert "<integer>" in out


def test_crd_registration_columns_and_validation(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", "-", input=CRD)
    apiserver.kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, extra: 1}\n"
    apiserver.kubectl("apply", "--validate=false", "-f", "-", input=widget)
    lines = apiserver.kubectl("get", "wdg").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "PHASE"]
    assert lines[1].split() == ["w1", "3"]
    obj = json.loads(apiserver.kubectl("get", "widget", "w1", "-o", "json").stdout)
    assert obj["spec"] == {"size": 3, "color": "red"}  # defaulted, unknown field pruned
    apiserver.kubectl(
        "patch", "wdg", "w1", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Ok"}}'
    )
    assert apiserver.kubectl("get", "wdg", "w1").stdout.splitlines()[1].split() == ["w1", "3", "Ok"]
    bad = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0, minAvailable: x}\n"
    res = apiserver.kubectl("apply", "-f", "-", input=bad, check=False)
    assert res.returncode != 0
    expected = 'Invalid value: "string": spec.minAvailable in body must be of type integer: "string"'
    assert f"spec.minAvailable: {expected}" in res.stderr
    assert "spec.size in body should be greater than or equal to 1" in res.stderr
    out = apiserver.kubectl("explain", "widgets.spec").stdout
    assert "size" in out
    assert "-required-" in out
    assert "wdg" in apiserver.kubectl("api-resources", "--api-group=example.com").stdout
    unknown = apiserver.kubectl("apply", "-f", "-", input=widget.replace("w1", "w3"), check=False)
    assert unknown.returncode != 0
    assert 'unknown field "spec.extra"' in unknown.stderr


def test_errors_are_kube_shaped(apiserver: ApiServerHandle) -> None:
    res = apiserver.kubectl("get", "pod", "missing", check=False)
    assert res.stderr.strip() == 'Error from server (NotFound): pods "missing" not found'
    res = apiserver.kubectl("get", "foos", check=False)
    assert 'the server doesn\'t have a resource type "foos"' in res.stderr
    res = apiserver.kubectl(
        "apply", "-f", "-", input="apiVersion: v1\nkind: Pod\nmetadata: {name: nocontainers}\n", check=False
    )
    assert 'The Pod "nocontainers" is invalid: spec.containers: Required value' in res.stderr
    res = apiserver.kubectl("create", "-f", "-", input=pod("dup"))
    res = apiserver.kubectl("create", "-f", "-", input=pod("dup"), check=False)
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": pods "dup" already exists'
        in res.stderr
    )


def test_cluster_bootstrap_objects_and_priority_admission(apiserver: ApiServerHandle) -> None:
    svc = apiserver.kubectl("get", "svc", "kubernetes").stdout.splitlines()[1].split()
    assert svc[:3] == ["kubernetes", "ClusterIP", "10.96.0.1"]
    assert "default" in apiserver.kubectl("get", "serviceaccounts").stdout
    assert "kube-root-ca.crt" in apiserver.kubectl("get", "configmaps", "-n", "kube-system").stdout
    assert "system-node-critical" in apiserver.kubectl("get", "priorityclasses").stdout
    critical = yaml.safe_load(pod("critical"))
    critical["spec"]["priorityClassName"] = "system-cluster-critical"
    apiserver.kubectl("apply", "-f", "-", input=json.dumps(critical))
    spec = json.loads(apiserver.kubectl("get", "pod", "critical", "-o", "json").stdout)["spec"]
    assert spec["priority"] == 2000000000
    assert spec["serviceAccountName"] == "default"
    critical["metadata"]["name"] = "unknown-class"
    critical["spec"]["priorityClassName"] = "nope"
    res = apiserver.kubectl("apply", "-f", "-", input=json.dumps(critical), check=False)
    assert 'pods "unknown-class" is forbidden: no PriorityClass with name nope was found' in res.stderr


VOLCANO_CRDS = Path(__file__).resolve().parents[3] / "deploy" / "crds"
VCJOB = """
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata:
  name: tf
spec:
  minAvailable: 2
  schedulerName: volcano
  queue: default
  tasks:
  - name: worker
    replicas: 2
    template:
      spec:
        restartPolicy: Never
        containers:
        - name: w
          image: busybox
          resources: {requests: {cpu: "1"}}
"""


@pytest.mark.skipif(not list(VOLCANO_CRDS.glob("*.yaml")), reason="the Volcano CRDs are not generated yet")
def test_volcano_crds(apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("apply", "-f", str(VOLCANO_CRDS))
    for crd in ("jobs.batch.volcano.sh", "podgroups.scheduling.volcano.sh", "queues.scheduling.volcano.sh"):
        apiserver.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=10s")
    apiserver.kubectl("apply", "-f", "-", input=VCJOB)
    lines = apiserver.kubectl("get", "vcjob", "-o", "wide").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "MINAVAILABLE", "RUNNINGS", "AGE", "QUEUE"]
    assert lines[1].split()[0] == "tf"
    assert lines[1].split()[-1] == "default"
    job = json.loads(apiserver.kubectl("get", "vcjob", "tf", "-o", "json").stdout)
    assert job["spec"]["maxRetry"] == 3  # schema default
    apiserver.kubectl(
        "patch",
        "vcjob",
        "tf",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"state":{"phase":"Running"}}}',
    )
    assert apiserver.kubectl("get", "vcjob", "tf").stdout.splitlines()[1].split()[1] == "Running"
    queue = "apiVersion: scheduling.volcano.sh/v1beta1\nkind: Queue\nmetadata: {name: research}\n"
    queue += "spec: {weight: 1}\n"
    apiserver.kubectl("apply", "-f", "-", input=queue)
    assert "research" in apiserver.kubectl("get", "queue").stdout
    bad = apiserver.kubectl(
        "apply", "-f", "-", input=VCJOB.replace("minAvailable: 2", "minAvailable: -1"), check=False
    )
    assert "spec.minAvailable in body should be greater than or equal to 0" in bad.stderr
    assert "minAvailable" in apiserver.kubectl("explain", "vcjob.spec").stdout
