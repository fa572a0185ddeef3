"""Serving certificates: a self-made CA and serving cert, or certificate files from a Secret.

`SelfSignedCerts` keeps a CA (ten years) and a serving cert (one year by default) in a
directory, re-issuing the serving cert before it expires; the CA certificate is the
``caBundle`` the API server is given. `FileCerts` serves a cert and key from files and loads
them again when they change (a rotated Secret). Both keep one ``ssl.SSLContext`` whose chain
is replaced in place, so new connections get the new certificate without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyroclast.common.logging import get_logger

log = get_logger(__name__)

CA_VALIDITY = dt.timedelta(days=3650)
SERVING_VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=30)


def service_dns_names(service: str, namespace: str) -> list[str]:
    """The names a Service is reached by inside a cluster."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class KeyPair:
    """A PEM certificate and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def expires(self) -> dt.datetime:
        return self.cert.not_valid_after_utc


def make_ca(common_name: str = "pyroclast-webhook-ca", validity: dt.timedelta = CA_VALIDITY) -> KeyPair:
    """A new self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue_serving_cert(
    ca: KeyPair,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    validity: dt.timedelta = SERVING_VALIDITY,
) -> KeyPair:
    """A serving certificate signed by ``ca`` for ``dns_names`` and ``ip_addresses``."""
    ca_cert = ca.cert
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = dns_names[0] if dns_names else (ip_addresses[0] if ip_addresses else "webhook")
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + validity, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _read_pair(cert: Path, key: Path) -> KeyPair | None:
    try:
        pair = KeyPair(cert.read_bytes(), key.read_bytes())
        pair.cert  # noqa: B018 - parse to reject a damaged file
    except (OSError, ValueError):
        return None
    return pair


def server_context() -> ssl.SSLContext:
    """A TLS 1.2+ server context without a certificate yet."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class CertSource(Protocol):
    """Where the serving certificate comes from."""

    context: ssl.SSLContext

    @property
    def ca_bundle(self) -> bytes:
        """PEM of the CA the API server should trust."""

    def refresh(self) -> bool:
        """Re-issue or reload when needed; True when the served certificate changed."""


class SelfSignedCerts:
    """A CA and serving cert kept in ``directory`` (``ca.crt``, ``ca.key``, ``tls.crt``, ``tls.key``)."""

    def __init__(
        self,
        directory: Path,
        dns_names: Sequence[str],
        ip_addresses: Sequence[str] = ("127.0.0.1",),
        *,
        validity: dt.timedelta = SERVING_VALIDITY,
        renew_before: dt.timedelta = RENEW_BEFORE,
    ) -> None:
        self.directory = Path(directory)
        self.dns_names = list(dns_names)
        self.ip_addresses = list(ip_addresses)
        self.validity = validity
        self.renew_before = renew_before
        self.context = server_context()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = self._load_or_make_ca()
        self.serving: KeyPair | None = None
        self.refresh()

    @property
    def cert_path(self) -> Path:
        return self.directory / "tls.crt"

    @property
    def key_path(self) -> Path:
        return self.directory / "tls.key"

    @property
    def ca_bundle(self) -> bytes:
        return self.ca.cert_pem

    def _load_or_make_ca(self) -> KeyPair:
        ca_cert, ca_key = self.directory / "ca.crt", self.directory / "ca.key"
        found = _read_pair(ca_cert, ca_key)
        if found is not None and found.expires() - _now() > self.renew_before:
            return found
        ca = make_ca()
        _write_private(ca_key, ca.key_pem)
        _write_private(ca_cert, ca.cert_pem)
        log.info("webhook CA created", path=str(ca_cert), expires=ca.expires().isoformat())
        return ca

    def _usable(self, pair: KeyPair) -> bool:
        cert = pair.cert
        if cert.not_valid_after_utc - _now() <= self.renew_before or cert.issuer != self.ca.cert.subject:
            return False
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        names = set(sans.get_values_for_type(x509.DNSName))
        ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
        return names >= set(self.dns_names) and ips >= set(self.ip_addresses)

    def refresh(self) -> bool:
        """Issue a serving cert when there is none usable on disk or it is about to expire."""
        if self.serving is not None and self._usable(self.serving):
            return False
        found = _read_pair(self.cert_path, self.key_path)
        if found is None or not self._usable(found):
            found = issue_serving_cert(self.ca, self.dns_names, self.ip_addresses, self.validity)
            _write_private(self.key_path, found.key_pem)
            _write_private(self.cert_path, found.cert_pem)
            log.info("serving certificate issued", expires=found.expires().isoformat())
        self.context.load_cert_chain(self.cert_path, self.key_path)
        self.serving = found
        return True


class FileCerts:
    """A cert and key (and CA) read from files, loaded again whenever one of them changes."""

    def __init__(self, cert_file: Path, key_file: Path, ca_file: Path | None = None) -> None:
        self.cert_file, self.key_file, self.ca_file = Path(cert_file), Path(key_file), ca_file
        self.context = server_context()
        self._stamp: tuple[float, ...] | None = None
        self._ca_bundle = b""
        if not self.refresh():
            raise FileNotFoundError(f"cannot load the serving certificate from {cert_file} and {key_file}")

    @property
    def ca_bundle(self) -> bytes:
        """The CA file, else the serving certificate itself (a self-signed one), as last loaded."""
        return self._ca_bundle

    def _files(self) -> list[Path]:
        return [self.cert_file, self.key_file, *([Path(self.ca_file)] if self.ca_file else [])]

    def refresh(self) -> bool:
        try:
            stamp = tuple(path.stat().st_mtime for path in self._files())
        except OSError as exc:
            log.warning("serving certificate files unreadable", error=str(exc))
            return False
        if stamp == self._stamp:
            return False
        try:
            self.context.load_cert_chain(self.cert_file, self.key_file)
            bundle = Path(self.ca_file or self.cert_file).read_bytes()
        except (OSError, ssl.SSLError) as exc:
            # A half-written pair: keep serving the previous one and try again later.
            log.warning("serving certificate not loaded", error=str(exc))
            return False
        self._stamp, self._ca_bundle = stamp, bundle
        log.info("serving certificate loaded", path=str(self.cert_file))
        return True


async def keep_fresh(
    source: CertSource,
    stop: asyncio.Event,
    interval: float = 60.0,
    on_new_ca: Callable[[bytes], Awaitable[None]] | None = None,
) -> None:
    """Call ``source.refresh()`` every ``interval`` seconds until ``stop`` is set.

    ``on_new_ca`` is awaited with the new bundle when the CA changed (the webhook
    configurations must then be registered again).
    """
    bundle = source.ca_bundle
    while not stop.is_set():
        try:
            async with asyncio.timeout(interval):
                await stop.wait()
        except TimeoutError:
            pass
        if stop.is_set():
            return
        try:
            source.refresh()
            current = source.ca_bundle
        except (OSError, ValueError, ssl.SSLError) as exc:
            log.error("certificate refresh failed", error=str(exc))
            continue
        if current != bundle and on_new_ca is not None:
            log.info("CA bundle changed; registering again")
            await on_new_ca(current)
        bundle = current
