"""``ssh``: a key pair Secret ``<job>-ssh`` mounted into every container for password-less ssh."""

from __future__ import annotations

import base64
from collections.abc import Callable

import msgspec

from pyroclast.common.models import Job, ObjectMeta, Pod, PodSpec, Secret, Volume
from pyroclast.common.models.core import KeyToPath, SecretVolumeSource, VolumeMount
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.plugins.base import (
    JobObjects,
    ObjectRef,
    Plugin,
    controlled_key,
    update_containers,
)

PRIVATE_KEY = "id_rsa"
PUBLIC_KEY = "id_rsa.pub"
AUTHORIZED_KEYS = "authorized_keys"
CONFIG = "config"
ABSOLUTE_PATH = "/root/.ssh"
RELATIVE_PATH = ".ssh"
ROOT_MODE = 0o600
NON_ROOT_MODE = 0o644

KeyPair = tuple[bytes, bytes]
"""PEM private key (PKCS#1) and OpenSSH ``authorized_keys`` line."""


def generate_key_pair() -> KeyPair:
    """A fresh 2048-bit RSA key pair."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public + b"\n"


def ssh_config(job: Job, port: int) -> str:
    """The ssh client config listing every replica's host."""
    lines = ["StrictHostKeyChecking no", "UserKnownHostsFile /dev/null"]
    for task in spec.tasks(job):
        for i in range(spec.replicas(task)):
            host, sub = naming.hostname_and_subdomain(task, spec.name(job), i)
            lines += [f"Host {host}", f"  HostName {host}.{sub}", f"  Port {port}"]
            if naming.fixed_hostname(task):
                break
    return "\n".join(lines) + "\n"


class SshPlugin(Plugin):
    name = "ssh"
    flags = {"ssh-key-file-path": ABSOLUTE_PATH, "ssh-private-key": "", "ssh-public-key": "", "ssh-port": 22}

    keygen: Callable[[], KeyPair] = staticmethod(generate_key_pair)

    def secret_name(self, job: Job) -> str:
        return naming.plugin_object_name(job, self.name)

    def port(self) -> int:
        port = self._int("ssh-port")
        return port if 0 < port <= 65535 else 22

    def on_pod_create(self, pod: Pod, job: Job) -> Pod:
        name = self.secret_name(job)
        path = self._str("ssh-key-file-path")
        items = [
            KeyToPath(key=key, path=f"{RELATIVE_PATH}/{key}")
            for key in (PRIVATE_KEY, PUBLIC_KEY, AUTHORIZED_KEYS, CONFIG)
        ]
        mode = ROOT_MODE if path == ABSOLUTE_PATH else NON_ROOT_MODE
        volume = Volume(
            name=name, secret=SecretVolumeSource(secret_name=name, items=items, default_mode=mode)
        )
        pod_spec = pod.spec or PodSpec()
        pod = msgspec.structs.replace(
            pod, spec=msgspec.structs.replace(pod_spec, volumes=[*(pod_spec.volumes or []), volume])
        )
        mount = VolumeMount(mount_path=path, sub_path=RELATIVE_PATH, name=name)
        return update_containers(
            pod, lambda c: msgspec.structs.replace(c, volume_mounts=[*(c.volume_mounts or []), mount])
        )

    def secret(self, job: Job) -> Secret:
        private_text = self._str("ssh-private-key")
        if private_text:
            private, public = private_text.encode(), self._str("ssh-public-key").encode()
        else:
            private, public = type(self).keygen()
        data = {
            PRIVATE_KEY: private,
            PUBLIC_KEY: public,
            AUTHORIZED_KEYS: public,
            CONFIG: ssh_config(job, self.port()).encode(),
        }
        return Secret(
            api_version="v1",
            kind="Secret",
            metadata=ObjectMeta(
                name=self.secret_name(job),
                namespace=spec.namespace(job),
                owner_references=[naming.controller_ref(job)],
            ),
            data={k: base64.b64encode(v).decode() for k, v in data.items()},
        )

    def on_job_add(self, job: Job, controlled: dict[str, str]) -> JobObjects:
        if controlled.get(controlled_key(self.name)) == self.name:
            return JobObjects()
        controlled[controlled_key(self.name)] = self.name
        return JobObjects(upsert=[self.secret(job)])

    def on_job_delete(self, job: Job, controlled: dict[str, str]) -> list[ObjectRef]:
        if controlled.get(controlled_key(self.name)) != self.name:
            return []
        del controlled[controlled_key(self.name)]
        return [ObjectRef("Secret", spec.namespace(job), self.secret_name(job))]
