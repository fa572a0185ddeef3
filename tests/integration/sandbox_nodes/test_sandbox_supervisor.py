"""The supervisor's process handling: restart with back-off, clean stop of whole process groups."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sandbox_waits import eventually

from pyroclast.sandbox.config import Flags, build_config
from pyroclast.sandbox.state import pid_alive, read_state
from pyroclast.sandbox.supervisor import Supervisor

pytestmark = pytest.mark.integration


def supervisor(tmp_path: Path) -> Supervisor:
    sup = Supervisor(build_config(None, Flags(data_dir=str(tmp_path))))
    sup.stop_grace = 0.5
    return sup


async def test_a_crashing_child_is_restarted_with_back_off(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    child = sup.add_child("crasher", [sys.executable, "-c", "print('hello'); raise SystemExit(3)"])
    await sup.spawn(child)

    async def restarted_twice() -> bool:
        return child.state.restarts >= 2

    await eventually(restarted_twice, 10, "two restarts")
    assert child.state.last_exit == 3
    assert child.backoff > 1.0  # it doubles
    state = read_state(sup.data_dir)
    assert state is not None
    process = state.process("crasher")
    assert process is not None
    assert process.restarts >= 2
    await sup.stop()
    assert child.log_path.read_text().count("hello") >= 2


async def test_stop_kills_the_whole_group_even_if_sigterm_is_ignored(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    stubborn = (
        "import signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen(['sleep', '60'])\n"
        "print('grand' + 'child started', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = sup.add_child("stubborn", [sys.executable, "-c", stubborn])
    await sup.spawn(child)

    async def ready() -> bool:
        text = await asyncio.to_thread(child.log_path.read_text)
        return "grandchild started" in text

    await eventually(ready, 10, "the child to start its grandchild")
    assert child.process is not None
    pid = child.process.pid
    grandchildren = await asyncio.to_thread(_children_of, pid)
    assert grandchildren
    await asyncio.wait_for(sup.stop(), 10)
    assert not pid_alive(pid)

    async def grandchildren_gone() -> bool:  # SIGKILL is delivered asynchronously
        return not any(pid_alive(int(p.name)) for p in grandchildren)

    await eventually(grandchildren_gone, 5, "the grandchild to die with its group")
    state = read_state(sup.data_dir)
    assert state is not None
    assert state.status == "stopped"


def _children_of(pid: int) -> list[Path]:
    return [p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == pid]


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1
