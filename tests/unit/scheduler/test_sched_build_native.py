"""``python -m pyroclast.scheduler.build_native``: its answers to ``status`` and to bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyroclast.scheduler import build_native


def test_status_says_which_core_runs_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYROCLAST_NATIVE", "1")
    monkeypatch.setenv("PYROCLAST_NATIVE_DIR", str(tmp_path))
    assert build_native.main(["status"]) == 0
    assert capsys.readouterr().out.strip() == f"native: no (no build in {tmp_path})"
    monkeypatch.setenv("PYROCLAST_NATIVE", "0")
    assert build_native.main(["status"]) == 0
    assert capsys.readouterr().out.strip() == "native: no (disabled by PYROCLAST_NATIVE)"


@pytest.mark.parametrize("argv", [[], ["compile"], ["build", "now"]])
def test_bad_arguments_get_the_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert build_native.main(argv) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "usage: python -m pyroclast.scheduler.build_native build|status" in out.err
