"""Settings of ``pyroclast webhook``: defaults, checks, targets and certificate sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pyroclast.common.config import ConfigError, load_config
from pyroclast.webhook.admission import DEFAULT_ENABLED
from pyroclast.webhook.certs import FileCerts, SelfSignedCerts, issue_serving_cert, make_ca
from pyroclast.webhook.main import WebhookConfig, main, serve


def _config(*argv: str) -> WebhookConfig:
    config = load_config(WebhookConfig, list(argv), env={})
    config.check()
    return config


def test_defaults_follow_volcano() -> None:
    config = _config()
    assert set(config.enabled_paths) == DEFAULT_ENABLED
    assert (config.service_name, config.service_namespace) == ("volcano-admission-service", "volcano-system")
    admission = config.admission()
    assert admission.scheduler_names == ("volcano",)
    assert admission.max_queue_depth == 5
    assert config.target().url == ""


def test_url_auto_uses_the_bound_port() -> None:
    config = _config("--webhook-url", "auto", "--listen-port", "0")
    assert config.target(9443).url == "https://127.0.0.1:9443"
    assert _config("--webhook-url", "https://h:1").target(9443).url == "https://h:1"


def test_enabled_paths_from_a_comma_list() -> None:
    config = _config("--enabled-paths", "/jobs/mutate,/pods/mutate")
    assert config.enabled_paths == ["/jobs/mutate", "/pods/mutate"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--enabled-paths", "/jobs/nope"], "unknown webhook paths"),
        (["--tls-cert-file", "a.crt"], "give both or neither"),
        (["--listen-port", "70000"], "0..65535"),
        (["--workers", "0"], "1..64"),
    ],
)
def test_bad_settings(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(*argv)


def test_bad_settings_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--enabled-paths", "/nope"]) == 2
    assert main(["--cluster-prefix", "Bad_Prefix"]) == 2
    assert "pyroclast webhook:" in capsys.readouterr().err


def test_self_signed_source_covers_the_service(tmp_path: Path) -> None:
    source = _config("--ca-dir", str(tmp_path), "--cert-dns-names", "extra.example").cert_source()
    assert isinstance(source, SelfSignedCerts)
    assert "volcano-admission-service.volcano-system.svc" in source.dns_names
    assert "extra.example" in source.dns_names
    assert source.ip_addresses == ["127.0.0.1"]


def test_file_source(tmp_path: Path) -> None:
    ca = make_ca()
    pair = issue_serving_cert(ca, ["x"])
    (tmp_path / "c").write_bytes(pair.cert_pem)
    (tmp_path / "k").write_bytes(pair.key_pem)
    source = _config(
        "--tls-cert-file", str(tmp_path / "c"), "--tls-key-file", str(tmp_path / "k")
    ).cert_source()
    assert isinstance(source, FileCerts)
    assert source.ca_bundle == pair.cert_pem


def test_serving_does_not_import_the_kubernetes_client() -> None:
    code = (
        "import sys\n"
        "import pyroclast.webhook.main, pyroclast.webhook.server, pyroclast.webhook.cluster\n"
        "sys.exit(1 if 'kubernetes_asyncio' in sys.modules else 0)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


async def test_missing_certificate_files_exit_1(tmp_path: Path) -> None:
    config = _config("--tls-cert-file", str(tmp_path / "no.crt"), "--tls-key-file", str(tmp_path / "no.key"))
    assert await serve(config) == 1
