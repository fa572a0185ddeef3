"""``vcctl jobflow ...`` and ``vcctl jobtemplate ...`` against the sandbox API server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from apiserver_fixture import ApiServerHandle
from vcctl_helpers import one_line_error, run_vcctl, table

pytestmark = pytest.mark.integration

Vc = Callable[..., tuple[int, str, str]]

TEMPLATE_SPEC = {
    "minAvailable": 1,
    "tasks": [
        {"name": "t", "replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}
    ],
}


def template(name: str, ns: str = "default") -> dict[str, object]:
    return {
        "apiVersion": "flow.volcano.sh/v1alpha1", "kind": "JobTemplate",
        "metadata": {"name": name, "namespace": ns}, "spec": TEMPLATE_SPEC,
    }  # fmt: skip


def jobflow(name: str, ns: str = "default") -> dict[str, object]:
    return {
        "apiVersion": "flow.volcano.sh/v1alpha1", "kind": "JobFlow",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "jobRetainPolicy": "delete",
            "flows": [{"name": "tpl-a"}, {"name": "tpl-b", "dependsOn": {"targets": ["tpl-a"]}}],
        },
    }  # fmt: skip


def test_jobtemplate_create_list_get_describe_delete(
    vc: Vc, apiserver: ApiServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(yaml.safe_dump_all([template("tpl-a"), template("tpl-b")]))
    done = run_vcctl("jobtemplate", "create", "-f", str(path), kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Created JobTemplate: default/tpl-a",
        "Created JobTemplate: default/tpl-b",
    ]
    listed = run_vcctl("jobtemplate", "list", kubeconfig=apiserver.kubeconfig)
    assert table(listed.stdout) == [["Name", "Namespace"], ["tpl-a", "default"], ["tpl-b", "default"]]
    code, out, _ = vc("jobtemplate", "get", "-N", "tpl-a")
    assert table(out) == [["Name", "Namespace"], ["tpl-a", "default"]]
    code, out, _ = vc("jobtemplate", "describe", "-N", "tpl-a", "-o", "json")
    described = json.loads(out)
    assert (described["kind"], described["spec"]["minAvailable"]) == ("JobTemplate", 1)
    assert "managedFields" not in described["metadata"]
    code, out, _ = vc("jobtemplate", "delete", "-N", "tpl-b")
    assert (code, out.strip()) == (0, "Deleted JobTemplate: default/tpl-b")
    code, _, err = vc("jobtemplate", "get", "-N", "tpl-b")
    assert code == 1
    assert one_line_error(err) == 'vcctl: job template "tpl-b" not found in namespace "default"'
    code, _, err = vc("jobtemplate", "get")
    assert one_line_error(err) == "vcctl: name is mandatory to get the particular job template details"


def test_jobflow_list_get_delete(vc: Vc, apiserver: ApiServerHandle, tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(jobflow("flow-1")))
    done = run_vcctl("jobflow", "create", "-f", str(path), kubeconfig=apiserver.kubeconfig)
    assert (done.returncode, done.stdout.strip()) == (0, "Created JobFlow: default/flow-1"), done.stderr
    apiserver.kubectl(
        "patch", "jobflows.flow.volcano.sh", "flow-1", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"state": {"phase": "Running"}}}),
    )  # fmt: skip
    listed = run_vcctl("jobflow", "list", kubeconfig=apiserver.kubeconfig)
    assert listed.returncode == 0, listed.stderr
    rows = table(listed.stdout)
    assert rows[0] == ["Name", "Namespace", "Phase", "Age"]
    assert rows[1][:3] == ["flow-1", "default", "Running"]
    assert rows[1][3].endswith("s")
    code, out, _ = vc("jobflow", "list", "--all-namespaces", "-o", "yaml")
    assert [i["metadata"]["name"] for i in yaml.safe_load(out)["items"]] == ["flow-1"]
    code, out, _ = vc("jobflow", "get", "-N", "flow-1")
    assert table(out)[1][:3] == ["flow-1", "default", "Running"]
    code, out, _ = vc("jobflow", "describe", "-N", "flow-1")
    assert yaml.safe_load(out)["spec"]["flows"][1]["dependsOn"]["targets"] == ["tpl-a"]
    code, out, _ = vc("jobflow", "delete", "-f", str(path))
    assert (code, out.strip()) == (0, "Deleted JobFlow: default/flow-1")
    code, out, _ = vc("jobflow", "list")
    assert out.strip() == "No resources found"
    done = run_vcctl("jobflow", "delete", "-N", "flow-1", kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == 'vcctl: jobflow "flow-1" not found in namespace "default"'
    bad = run_vcctl("jobflow", "list", "-o", "table", kubeconfig=apiserver.kubeconfig)
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr
