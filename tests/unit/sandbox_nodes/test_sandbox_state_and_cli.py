"""The state file, the data-dir lock, and the CLI's error handling (no processes started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyroclast.sandbox.main import main
from pyroclast.sandbox.state import (
    DataDirLock,
    ProcessState,
    SandboxState,
    pid_alive,
    read_state,
    write_state,
)


def test_state_round_trip(tmp_path: Path) -> None:
    state = SandboxState(data_dir=str(tmp_path), supervisor_pid=os.getpid(), status="ready")
    state.processes.append(ProcessState(name="nats", status="running", pid=123, port=4222))
    write_state(tmp_path, state)
    again = read_state(tmp_path)
    assert again == state
    assert again is not None
    assert again.process("nats") == state.processes[0]


def test_unreadable_state_is_none(tmp_path: Path) -> None:
    assert read_state(tmp_path) is None
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "state.json").write_text("{not json")
    assert read_state(tmp_path) is None


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(None)
    assert not pid_alive(0)
    assert not pid_alive(2**22 + 12345)


def test_the_lock_is_exclusive(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path)
    assert first.acquire()
    assert DataDirLock(tmp_path).held_elsewhere()
    first.release()
    assert not DataDirLock(tmp_path).held_elsewhere()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["up", "--nodes", "x"], "argument --nodes: invalid int value: 'x'"),
        (["up", "--nodes", "0"], "--nodes: must be at least 1, got 0"),
        (["up", "--node-cpu", "lots"], "--node-cpu: invalid quantity 'lots'"),
        (["frob"], "invalid choice: 'frob'"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_command_lines_are_one_line_errors(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)] if argv[:1] == ["up"] else argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert expected in err
    assert err.startswith("pyroclast sandbox")


def test_config_file_errors_name_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text("nodes:\n  taints:\n  - {key: gpu, effect: Never}\n")
    assert main(["up", "--config", str(config), "--data-dir", str(tmp_path)]) == 2
    assert (
        "nodes.taints[0].effect: must be one of NoSchedule, PreferNoSchedule, NoExecute"
        in capsys.readouterr().err
    )


def test_status_and_down_without_a_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--data-dir", str(tmp_path)]) == 1
    assert main(["down", "--data-dir", str(tmp_path)]) == 0
    assert main(["logs", "--data-dir", str(tmp_path)]) == 1
    assert "nothing to stop" in capsys.readouterr().out


def test_a_scheduler_conf_that_cannot_be_used_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.conf"
    assert main(["up", "--scheduler-conf", str(missing), "--data-dir", str(tmp_path)]) == 2
    assert f"--scheduler-conf: {str(missing)!r} is not a file" in capsys.readouterr().err
    bad = tmp_path / "bad.conf"
    bad.write_text('actions: "enqueue, allocate"\ntiers:\n- plugins:\n  - name: frobnicate\n')
    assert main(["up", "--scheduler-conf", str(bad), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"pyroclast sandbox: error: --scheduler-conf: {str(bad)!r}: ")
    assert "frobnicate" in err
