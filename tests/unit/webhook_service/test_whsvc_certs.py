"""Self-made CA and serving certificates: SANs, reuse, rotation, and files reloaded on change."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from pyroclast.webhook.certs import (
    FileCerts,
    SelfSignedCerts,
    issue_serving_cert,
    keep_fresh,
    make_ca,
    service_dns_names,
)


def _sans(pem: bytes) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(pem)
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {
        str(i) for i in ext.get_values_for_type(x509.IPAddress)
    }


def test_service_names() -> None:
    assert service_dns_names("wh", "ns") == ["wh", "wh.ns", "wh.ns.svc", "wh.ns.svc.cluster.local"]


def test_serving_cert_has_the_sans_and_chains_to_the_ca() -> None:
    ca = make_ca()
    names = service_dns_names("volcano-admission-service", "volcano-system")
    pair = issue_serving_cert(ca, names, ["127.0.0.1", "::1"])
    dns, ips = _sans(pair.cert_pem)
    assert dns == set(names)
    assert ips == {"127.0.0.1", "::1"}
    cert, ca_cert = pair.cert, ca.cert
    assert cert.issuer == ca_cert.subject
    cert.verify_directly_issued_by(ca_cert)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.not_valid_after_utc <= ca_cert.not_valid_after_utc


def test_self_signed_certs_are_kept_and_reused(tmp_path: Path) -> None:
    first = SelfSignedCerts(tmp_path, ["wh.ns.svc"])
    second = SelfSignedCerts(tmp_path, ["wh.ns.svc"])
    assert second.ca_bundle == first.ca_bundle
    assert second.serving == first.serving
    assert (tmp_path / "ca.key").stat().st_mode & 0o077 == 0
    assert second.refresh() is False


def test_new_names_get_a_new_serving_cert_from_the_same_ca(tmp_path: Path) -> None:
    first = SelfSignedCerts(tmp_path, ["a.ns.svc"])
    second = SelfSignedCerts(tmp_path, ["a.ns.svc", "b.ns.svc"], ["127.0.0.1", "10.0.0.1"])
    assert second.ca_bundle == first.ca_bundle
    assert second.serving != first.serving
    assert second.serving is not None
    assert _sans(second.serving.cert_pem) == ({"a.ns.svc", "b.ns.svc"}, {"127.0.0.1", "10.0.0.1"})


def test_serving_cert_is_rotated_before_it_expires(tmp_path: Path) -> None:
    certs = SelfSignedCerts(
        tmp_path, ["wh.ns.svc"], validity=dt.timedelta(days=1), renew_before=dt.timedelta(days=2)
    )
    old = certs.serving
    assert certs.refresh() is True
    assert certs.serving is not None
    assert certs.serving != old
    assert (tmp_path / "tls.crt").read_bytes() == certs.serving.cert_pem


def test_a_damaged_ca_is_replaced(tmp_path: Path) -> None:
    SelfSignedCerts(tmp_path, ["wh.ns.svc"])
    (tmp_path / "ca.crt").write_text("garbage")
    certs = SelfSignedCerts(tmp_path, ["wh.ns.svc"])
    assert certs.ca_bundle.startswith(b"-----BEGIN CERTIFICATE-----")
    assert certs.serving is not None
    assert certs.serving.cert.issuer == certs.ca.cert.subject


async def _handshake(ctx: ssl.SSLContext, ca: bytes, server_name: str) -> x509.Certificate:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cadata=ca.decode())
    try:
        async with asyncio.timeout(5):
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client, server_hostname=server_name
            )
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return x509.load_der_x509_certificate(der)
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_handshake_verifies_service_name_and_ip(tmp_path: Path) -> None:
    certs = SelfSignedCerts(tmp_path, service_dns_names("wh", "ns"), ["127.0.0.1"])
    await _handshake(certs.context, certs.ca_bundle, "wh.ns.svc")
    await _handshake(certs.context, certs.ca_bundle, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(certs.context, certs.ca_bundle, "other.ns.svc")


async def test_file_certs_are_reloaded_when_they_change(tmp_path: Path) -> None:
    ca = make_ca()
    cert_file, key_file, ca_file = tmp_path / "tls.crt", tmp_path / "tls.key", tmp_path / "ca.crt"
    ca_file.write_bytes(ca.cert_pem)
    first = issue_serving_cert(ca, ["wh.ns.svc"])
    cert_file.write_bytes(first.cert_pem)
    key_file.write_bytes(first.key_pem)
    certs = FileCerts(cert_file, key_file, ca_file)
    assert certs.ca_bundle == ca.cert_pem
    assert certs.refresh() is False
    seen = await _handshake(certs.context, ca.cert_pem, "wh.ns.svc")
    assert seen.serial_number == first.cert.serial_number

    second = issue_serving_cert(ca, ["wh.ns.svc"])
    cert_file.write_bytes(second.cert_pem)
    key_file.write_bytes(second.key_pem)
    later = os.stat(cert_file).st_mtime + 5
    os.utime(cert_file, (later, later))
    os.utime(key_file, (later, later))
    stop = asyncio.Event()
    task = asyncio.create_task(keep_fresh(certs, stop, interval=0.01))
    try:
        for _ in range(500):
            seen = await _handshake(certs.context, ca.cert_pem, "wh.ns.svc")
            if seen.serial_number == second.cert.serial_number:
                break
            await asyncio.sleep(0.01)
        assert seen.serial_number == second.cert.serial_number
    finally:
        stop.set()
        await task


def test_file_certs_need_readable_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FileCerts(tmp_path / "missing.crt", tmp_path / "missing.key")


async def test_a_new_ca_is_reported_for_registration(tmp_path: Path) -> None:
    ca = make_ca()
    pair = issue_serving_cert(ca, ["wh.ns.svc"])
    files = {name: tmp_path / name for name in ("tls.crt", "tls.key", "ca.crt")}
    files["tls.crt"].write_bytes(pair.cert_pem)
    files["tls.key"].write_bytes(pair.key_pem)
    files["ca.crt"].write_bytes(ca.cert_pem)
    certs = FileCerts(files["tls.crt"], files["tls.key"], files["ca.crt"])
    new_ca = make_ca()
    renewed = issue_serving_cert(new_ca, ["wh.ns.svc"])
    files["ca.crt"].write_bytes(new_ca.cert_pem)
    files["tls.crt"].write_bytes(renewed.cert_pem)
    files["tls.key"].write_bytes(renewed.key_pem)
    later = os.stat(files["tls.crt"]).st_mtime + 5
    for path in files.values():
        os.utime(path, (later, later))
    reported: asyncio.Queue[bytes] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(keep_fresh(certs, stop, interval=0.01, on_new_ca=reported.put))
    try:
        async with asyncio.timeout(5):
            assert await reported.get() == new_ca.cert_pem
    finally:
        stop.set()
        await task
    assert reported.empty()
