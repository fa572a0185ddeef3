"""The sandbox CA (created at first start, kept in the data dir), serving cert, token and kubeconfig."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Credentials:
    ca_path: Path
    ca_key_path: Path
    cert_path: Path
    key_path: Path
    token: str


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_credentials(data_dir: Path, hosts: list[str]) -> Credentials:
    """Create (once) the CA, and the serving cert for ``hosts`` (re-issued each start), and the token."""
    pki = data_dir / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path = pki / "ca.crt", pki / "ca.key"
    if not ca_path.exists() or not ca_key_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyroclast-sandbox-ca")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(hours=1))
            .not_valid_after(_now() + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(ca_key_path, _key_pem(ca_key))
        ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    ca_key_any = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    assert isinstance(ca_key_any, ec.EllipticCurvePrivateKey)

    cert_path, key_path = pki / "apiserver.crt", pki / "apiserver.key"
    cert_pem, key_pem = _serving_cert(ca_cert, ca_key_any, ["localhost", "kubernetes.default.svc", *hosts])
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert_pem)

    token_path = pki / "admin.token"
    if not token_path.exists():
        _write_private(token_path, secrets.token_urlsafe(32).encode())
    token = token_path.read_text().strip()
    return Credentials(ca_path, ca_key_path, cert_path, key_path, token)


def _serving_cert(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, hosts: list[str]
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, "127.0.0.1", "::1"]):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if host:
                sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "localhost")])
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(hours=1))
        .not_valid_after(_now() + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue_serving_cert(creds: Credentials, hosts: list[str]) -> tuple[bytes, bytes]:
    """A serving certificate (PEM cert, PEM key) for ``hosts`` signed by the sandbox CA, e.g. for
    an admission webhook server."""
    ca_cert = x509.load_pem_x509_certificate(creds.ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(creds.ca_key_path.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    return _serving_cert(ca_cert, ca_key, hosts)


def issue_client_cert(creds: Credentials, user: str, groups: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """A client certificate (PEM cert, PEM key) signed by the sandbox CA: CN=user, O=groups."""
    ca_cert = x509.load_pem_x509_certificate(creds.ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(creds.ca_key_path.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, user)]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(hours=1))
        .not_valid_after(_now() + dt.timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def server_ssl_context(creds: Credentials) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(creds.cert_path, creds.key_path)
    ctx.load_verify_locations(cafile=str(creds.ca_path))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def write_kubeconfig(
    path: Path, url: str, ca_path: Path, token: str, context: str = "pyroclast-sandbox"
) -> None:
    """A kubeconfig with the CA inlined and the admin bearer token."""
    import base64

    ca_data = base64.b64encode(Path(ca_path).read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url, "certificate-authority-data": ca_data}}],
        "users": [{"name": f"{context}-admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": f"{context}-admin", "namespace": "default"},
            }
        ],
        "current-context": context,
        "preferences": {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
