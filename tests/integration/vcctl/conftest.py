"""Fixtures of the vcctl tests: the sandbox API server with Volcano's CRDs and the default
queue, and a NATS server with the JetStream objects of a fresh cluster prefix."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _path in (_HERE.parent / "sandbox", _HERE.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from apiserver_fixture import ApiServerHandle, start_server  # noqa: E402
from nats_fixture import NatsServer, nats_server  # noqa: E402
from vcctl_helpers import CRDS, DEFAULT_QUEUE  # noqa: E402

__all__ = ["ApiServerHandle", "NatsServer", "apiserver", "nats_server"]


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerHandle]:
    """A sandbox API server with Volcano's CRDs and the default queue."""
    handle = start_server(tmp_path_factory.mktemp("apiserver"))
    try:
        handle.kubectl("apply", "-f", str(CRDS))
        handle.kubectl("apply", "-f", "-", input=DEFAULT_QUEUE)
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def vc(
    apiserver: ApiServerHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """``vc("job", "list")``: ``main`` in-process against the test server; (code, stdout, stderr)."""
    from pyroclast.cli.vcctl import main

    monkeypatch.setenv("KUBECONFIG", str(apiserver.kubeconfig))

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call
