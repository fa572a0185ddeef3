"""The sandbox's state file: what runs, so that ``down`` and ``status`` work from another shell.

``DATA_DIR/run/state.json`` is written (atomically) by the supervisor whenever a process
starts, stops or restarts. Readers never trust a pid alone: :func:`pid_alive` also rejects
zombies, and ``down`` checks that the supervisor still holds the data dir's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

RUN_DIR = "run"
STATE_FILE = "state.json"
LOCK_FILE = "supervisor.lock"


@dataclass
class ProcessState:
    name: str
    status: str = "pending"  # pending | starting | running | restarting | stopped | failed | skipped
    pid: int | None = None
    restarts: int = 0
    port: int | None = None
    log: str = ""
    started_at: str | None = None
    last_exit: int | None = None
    note: str = ""


@dataclass
class SandboxState:
    data_dir: str
    supervisor_pid: int
    status: str = "starting"  # starting | ready | stopping | stopped | failed
    started_at: str = ""
    api_url: str = ""
    kubeconfig: str = ""
    nats_url: str = ""
    node_count: int = 0
    error: str = ""
    processes: list[ProcessState] = field(default_factory=list)

    def process(self, name: str) -> ProcessState | None:
        return next((p for p in self.processes if p.name == name), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxState:
        processes = [ProcessState(**p) for p in data.pop("processes", [])]
        return cls(**data, processes=processes)


def run_dir(data_dir: Path) -> Path:
    return data_dir / RUN_DIR


def state_path(data_dir: Path) -> Path:
    return run_dir(data_dir) / STATE_FILE


def read_state(data_dir: Path) -> SandboxState | None:
    """The last state the supervisor wrote, or ``None`` if there is none (or it is unreadable)."""
    try:
        data = json.loads(state_path(data_dir).read_text(encoding="utf-8"))
        return SandboxState.from_dict(data)
    except (OSError, ValueError, TypeError):
        return None


def write_state(data_dir: Path, state: SandboxState) -> None:
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(state.to_json(), encoding="utf-8")
    os.replace(temporary, path)


def pid_alive(pid: int | None) -> bool:
    """A live (not zombie) process with this pid exists."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class DataDirLock:
    """An exclusive lock on a data dir, held by its supervisor for its whole life."""

    def __init__(self, data_dir: Path) -> None:
        self.path = run_dir(data_dir) / LOCK_FILE
        self._handle: TextIO | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def held_elsewhere(self) -> bool:
        """Someone else (a running supervisor) holds the lock."""
        if not self.path.exists():
            return False
        if self.acquire():
            self.release()
            return False
        return True
