"""Reading kubeconfigs and building API paths for the sandbox's own client."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pyroclast.sandbox.kubeclient import KubeconfigError, api_path, load_kubeconfig, object_key

KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: sandbox
contexts:
- name: sandbox
  context: {cluster: local, user: admin}
- name: other
  context: {cluster: remote, user: admin}
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:6443/", certificate-authority: ca.crt}
- name: remote
  cluster: {server: "https://example.test", certificate-authority-data: %s}
users:
- name: admin
  user: {token: secret}
"""


def test_current_context(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % base64.b64encode(b"PEM").decode())
    access = load_kubeconfig(path)
    assert access.server == "https://127.0.0.1:6443"
    assert access.token == "secret"
    assert access.ca_path == tmp_path / "ca.crt"
    other = load_kubeconfig(path, context="other")
    assert other.ca_data == b"PEM"


def test_missing_context_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG % "eA==")
    with pytest.raises(KubeconfigError, match="no context 'nope'"):
        load_kubeconfig(path, context="nope")
    with pytest.raises(KubeconfigError):
        load_kubeconfig(tmp_path / "missing")


def test_api_paths() -> None:
    assert api_path("v1", "pods", "default", "p", "status") == "/api/v1/namespaces/default/pods/p/status"
    assert api_path("apps/v1", "deployments", "ns") == "/apis/apps/v1/namespaces/ns/deployments"
    assert api_path("v1", "nodes", name="node-0") == "/api/v1/nodes/node-0"
    assert object_key({"metadata": {"namespace": "a", "name": "b"}}) == "a/b"
    assert object_key({"metadata": {"name": "node-0"}}) == "node-0"
