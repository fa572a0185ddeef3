"""Connection settings from a kubeconfig: ``--kubeconfig``, else ``KUBECONFIG``, else
``~/.kube/config``; ``--master`` overrides the server address.

Tokens, client certificates and CAs (inline or as files) are read here; a user entry with an
``exec`` or ``auth-provider`` plugin is handed to kubernetes_asyncio's loader.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pyroclast.cli.vc.errors import VcctlError

DEFAULT_PATH = Path("~/.kube/config")


@dataclass
class ClusterConfig:
    """Where the API server is and how to authenticate to it."""

    server: str
    namespace: str = "default"
    token: str = ""
    username: str = ""
    password: str = ""
    ca_data: bytes | None = None
    insecure: bool = False
    cert_data: bytes | None = None
    key_data: bytes | None = None
    source: str = ""
    plugin: dict[str, Any] = field(default_factory=dict)
    """The raw user entry when it needs an exec or auth-provider plugin."""

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for aiohttp (``False`` for plain HTTP or skipped verification)."""
        if not self.server.startswith("https"):
            return False
        context = ssl.create_default_context(cadata=self.ca_data.decode() if self.ca_data else None)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_data and self.key_data:
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
                cert.write_bytes(self.cert_data)
                key.write_bytes(self.key_data)
                context.load_cert_chain(str(cert), str(key))
        return context


def kubeconfig_paths(explicit: str | None) -> list[Path]:
    """The files to read, in precedence order."""
    if explicit:
        return [Path(explicit).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [DEFAULT_PATH.expanduser()]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise VcctlError(f"cannot read kubeconfig {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise VcctlError(f"kubeconfig {path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise VcctlError(f"kubeconfig {path} is not a mapping")
    return data


def _merge(files: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """Merge as kubectl does: the first file to set a value or name an entry wins."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    for _path, data in files:
        if not merged["current-context"]:
            merged["current-context"] = data.get("current-context") or ""
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in data.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") not in merged[section]:
                    merged[section][entry.get("name")] = entry.get(key) or {}
    return merged


def _bytes(entry: dict[str, Any], data_key: str, file_key: str, base: Path) -> bytes | None:
    if entry.get(data_key):
        try:
            return base64.b64decode(entry[data_key])
        except ValueError:
            raise VcctlError(f"kubeconfig: {data_key} is not valid base64") from None
    if entry.get(file_key):
        path = Path(entry[file_key]).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            return path.read_bytes()
        except OSError as err:
            raise VcctlError(f"kubeconfig: cannot read {file_key} {path}: {err.strerror}") from None
    return None


def load(kubeconfig: str | None, master: str | None = None) -> ClusterConfig:
    """The settings of the current context."""
    paths = kubeconfig_paths(kubeconfig)
    existing = [p for p in paths if p.exists()]
    if kubeconfig and not existing:
        raise VcctlError(f"kubeconfig {paths[0]} does not exist")
    if not existing:
        if master:
            return ClusterConfig(server=master.rstrip("/"), source="--master")
        raise VcctlError("no kubeconfig found: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config")
    files = [(p, _read(p)) for p in existing]
    merged = _merge(files)
    base = existing[0].parent
    name = merged["current-context"]
    if not name:
        raise VcctlError(f"kubeconfig {existing[0]} has no current-context")
    context = merged["contexts"].get(name)
    if context is None:
        raise VcctlError(f"kubeconfig: context {name!r} is not defined")
    cluster = merged["clusters"].get(context.get("cluster"), {})
    user = merged["users"].get(context.get("user"), {})
    server = (master or cluster.get("server") or "").rstrip("/")
    if not server:
        raise VcctlError(f"kubeconfig: cluster {context.get('cluster')!r} has no server")
    token = user.get("token") or ""
    if not token and user.get("tokenFile"):
        try:
            token = Path(user["tokenFile"]).expanduser().read_text().strip()
        except OSError as err:
            raise VcctlError(f"kubeconfig: cannot read tokenFile: {err.strerror}") from None
    return ClusterConfig(
        server=server,
        namespace=context.get("namespace") or "default",
        token=token,
        username=user.get("username") or "",
        password=user.get("password") or "",
        ca_data=_bytes(cluster, "certificate-authority-data", "certificate-authority", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        cert_data=_bytes(user, "client-certificate-data", "client-certificate", base),
        key_data=_bytes(user, "client-key-data", "client-key", base),
        source=str(existing[0]),
        plugin=user if ("exec" in user or "auth-provider" in user) else {},
    )


async def plugin_headers(config: ClusterConfig, kubeconfig: str | None) -> dict[str, str]:
    """Authorization headers from an exec or auth-provider plugin (via kubernetes_asyncio)."""
    from kubernetes_asyncio import client as k8s_client
    from kubernetes_asyncio import config as k8s_config

    configuration = k8s_client.Configuration()
    await k8s_config.load_kube_config(
        config_file=kubeconfig or config.source, client_configuration=configuration
    )
    auth: dict[str, Any] = await configuration.auth_settings()
    return {setting["key"]: setting["value"] for setting in auth.values()}
