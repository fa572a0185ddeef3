"""``pyroclast sandbox up|down|status|logs``: the local cluster from one command.

    pyroclast sandbox up [--nodes N] [--node-cpu Q] [--node-memory Q] [--node-gpus N]
                         [--node-pods N] [--data-dir DIR] [--config FILE] [--crds DIR]
                         [--scheduler-conf FILE] [--foreground | --detach]
    pyroclast sandbox down [--data-dir DIR]
    pyroclast sandbox status [--data-dir DIR]
    pyroclast sandbox logs [SERVICE] [--data-dir DIR] [--follow] [--tail N]

``up`` runs in the foreground until Ctrl-C by default; with ``--detach`` it leaves a
supervisor running in the background, which ``down`` (from any shell) stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pyroclast.sandbox.config import ConfigError, Flags, SandboxConfig, build_config
from pyroclast.sandbox.entrypoint import ArgumentParser, UsageError
from pyroclast.sandbox.kubeclient import KubeClient, api_path, load_kubeconfig
from pyroclast.sandbox.state import (
    DataDirLock,
    SandboxState,
    pid_alive,
    read_state,
    run_dir,
)
from pyroclast.sandbox.supervisor import INTERRUPTED, StartError, Supervisor, serve

PROG = "pyroclast sandbox"
DETACH_TIMEOUT = 90.0
DOWN_TIMEOUT = 30.0


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, description="Run a local Kubernetes-compatible cluster with Pyroclast."
    )
    commands = parser.add_subparsers(dest="command", metavar="up|down|status|logs")
    commands.required = True

    def data_dir_option(sub: ArgumentParser) -> None:
        sub.add_argument("--data-dir", help="where the sandbox keeps its state (default: ./.sandbox)")

    up = commands.add_parser("up", help="start the sandbox")
    data_dir_option(up)
    up.add_argument("--config", type=Path, help="a YAML config file (see pyroclast.sandbox.config)")
    up.add_argument("--nodes", type=int, help="number of simulated nodes (default 3)")
    up.add_argument("--node-cpu", help="CPU of each node, e.g. 8 or 500m")
    up.add_argument("--node-memory", help="memory of each node, e.g. 32Gi")
    up.add_argument("--node-gpus", type=int, help="nvidia.com/gpu of each node")
    up.add_argument("--node-pods", type=int, help="pods each node can hold")
    up.add_argument("--api-port", type=int, help="API server port (default: a free one)")
    up.add_argument("--nats-port", type=int, help="NATS port (default: a free one)")
    up.add_argument("--crds", help="folder of CRD manifests to install (default: the repo's deploy/crds)")
    up.add_argument(
        "--scheduler-conf",
        help="the scheduler's volcano-scheduler.conf (default: Volcano's); reloaded when it changes",
    )
    mode = up.add_mutually_exclusive_group()
    mode.add_argument("--foreground", dest="detach", action="store_false", help="run until Ctrl-C (default)")
    mode.add_argument(
        "--detach", dest="detach", action="store_true", help="start in the background and return"
    )
    up.set_defaults(detach=False)

    down = commands.add_parser("down", help="stop a running sandbox")
    data_dir_option(down)
    status = commands.add_parser("status", help="show the sandbox's processes")
    data_dir_option(status)
    logs = commands.add_parser("logs", help="print a process's log")
    data_dir_option(logs)
    logs.add_argument("service", nargs="?", help="nats, apiserver, nodes, kube-controllers, controller, ...")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--tail", type=int, default=0, help="only the last N lines")
    return parser


def main(argv: list[str]) -> int:
    console = Console()
    try:
        args = _parser().parse_args(argv)
        data_dir = _data_dir(args.data_dir)
        if args.command == "up":
            config = build_config(
                args.config,
                Flags(
                    data_dir=str(data_dir),
                    nodes=args.nodes,
                    node_cpu=args.node_cpu,
                    node_memory=args.node_memory,
                    node_gpus=args.node_gpus,
                    node_pods=args.node_pods,
                    api_port=args.api_port,
                    nats_port=args.nats_port,
                    crds_dir=args.crds,
                    scheduler_conf=args.scheduler_conf,
                ),
            )
            if args.crds is not None and not Path(args.crds).is_dir():
                raise ConfigError("--crds", f"{args.crds!r} is not a folder")
            if config.crds_dir is not None:  # the detached supervisor runs from the data dir
                config = replace(config, crds_dir=config.crds_dir.resolve())
            if config.scheduler_conf is not None:
                where = "--scheduler-conf" if args.scheduler_conf is not None else "schedulerConf"
                if not config.scheduler_conf.is_file():
                    raise ConfigError(where, f"{str(config.scheduler_conf)!r} is not a file")
                conf_path = config.scheduler_conf.resolve()
                _check_scheduler_conf(conf_path, where)
                config = replace(config, scheduler_conf=conf_path)
    except (UsageError, ConfigError) as exc:
        _error(f"{PROG}: error: {exc}")
        return 2
    try:
        if args.command == "up":
            return _up_detached(config, console) if args.detach else _up_foreground(config, console)
        if args.command == "down":
            return _down(data_dir, console)
        if args.command == "status":
            return _status(data_dir, console)
        return _logs(data_dir, args.service, args.follow, args.tail, console)
    except KeyboardInterrupt:
        return 130


def _check_scheduler_conf(path: Path, where: str) -> None:
    """Refuse a scheduler conf the scheduler could not use (it would fall back to the default)."""
    try:
        from pyroclast.scheduler.conf import ConfError, parse_conf
    except ImportError:  # the scheduler is not installed: nothing reads the conf
        return
    try:
        parse_conf(path.read_text(encoding="utf-8"))
    except (OSError, ConfError) as exc:
        raise ConfigError(where, f"{str(path)!r}: {exc}") from exc


def _error(message: str) -> None:
    """One line on stderr, never wrapped (scripts and tests read it)."""
    print(message, file=sys.stderr)


def _data_dir(value: str | None) -> Path:
    if value is not None and not value.strip():
        raise ConfigError("--data-dir", "must not be empty")
    path = Path(value).expanduser() if value else Path.cwd() / ".sandbox"
    if path.exists() and not path.is_dir():
        raise ConfigError("--data-dir", f"{str(path)!r} exists and is not a folder")
    return path.resolve()


def _already_running(config: SandboxConfig) -> bool:
    run_dir(config.data_dir).mkdir(parents=True, exist_ok=True)
    if DataDirLock(config.data_dir).held_elsewhere():
        state = read_state(config.data_dir)
        pid = f" (supervisor pid {state.supervisor_pid})" if state else ""
        _error(
            f"{PROG} up: error: a sandbox is already running in {config.data_dir}{pid}; "
            f"stop it with `pyroclast sandbox down --data-dir {config.data_dir}`"
        )
        return True
    return False


# --- up -------------------------------------------------------------------------------------


def _up_foreground(config: SandboxConfig, console: Console) -> int:
    if _already_running(config):
        return 1
    _log_to_file(config.data_dir)

    def event(message: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}", highlight=False)

    supervisor = Supervisor(config, on_event=event)

    def ready() -> None:
        _print_ready(supervisor.state, console)
        console.print("Press Ctrl-C to stop the sandbox.")

    def failed(exc: StartError) -> None:
        _error(f"{PROG} up: error: {exc}")

    code = asyncio.run(serve(supervisor, on_ready=ready, on_failure=failed))
    if code == 0:
        console.print("sandbox stopped.")
    elif code == INTERRUPTED:
        console.print("interrupted before the sandbox was up; everything is stopped.")
    return code


def _up_detached(config: SandboxConfig, console: Console) -> int:
    if _already_running(config):
        return 1
    directory = run_dir(config.data_dir)
    request = directory / "up-config.json"
    request.write_text(config.to_json(), encoding="utf-8")
    argv = [sys.executable, "-m", "pyroclast.sandbox.supervisor", "--config", str(request)]
    if config.crds_dir is not None:
        argv += ["--crds", str(config.crds_dir)]
    with (directory / "supervisor.log").open("ab") as log_file:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(config.data_dir),
        )
    console.print(f"starting the sandbox in the background (supervisor pid {process.pid})...")
    try:
        return _wait_until_ready(config, process, console)
    except KeyboardInterrupt:
        _error(f"{PROG} up: interrupted: stopping the sandbox")
        process.send_signal(signal.SIGTERM)
        process.wait(DOWN_TIMEOUT)
        return 130


def _wait_until_ready(config: SandboxConfig, process: subprocess.Popen[bytes], console: Console) -> int:
    directory = run_dir(config.data_dir)
    deadline = time.monotonic() + DETACH_TIMEOUT
    while time.monotonic() < deadline:
        state = read_state(config.data_dir)
        fresh = state is not None and state.supervisor_pid == process.pid
        if fresh and state is not None and state.status == "ready":
            _print_ready(state, console)
            console.print(f"Stop it with: pyroclast sandbox down --data-dir {config.data_dir}")
            return 0
        if fresh and state is not None and state.status == "failed":
            _error(f"{PROG} up: error: {state.error}")
            return 1
        code = process.poll()
        if code is not None:
            message = (
                state.error
                if fresh and state is not None and state.error
                else f"supervisor exited with {code}"
            )
            _error(f"{PROG} up: error: {message} (see {directory / 'supervisor.log'})")
            return 1
        time.sleep(0.2)
    _error(f"{PROG} up: error: the sandbox did not become ready in {DETACH_TIMEOUT:g}s")
    process.send_signal(signal.SIGTERM)
    process.wait(DOWN_TIMEOUT)
    return 1


def _log_to_file(data_dir: Path) -> None:
    from pyroclast.common.logging import configure_logging

    directory = run_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stream = (directory / "supervisor.log").open("a", encoding="utf-8", buffering=1)
    configure_logging("sandbox-supervisor", stream=stream)


def _print_ready(state: SandboxState, console: Console) -> None:
    console.print(_status_table(state, None))
    console.print("The sandbox is ready. Point kubectl at it with:")
    console.print(f"  export KUBECONFIG={state.kubeconfig}", highlight=False, markup=False, soft_wrap=True)


# --- down -----------------------------------------------------------------------------------


def _down(data_dir: Path, console: Console) -> int:
    state = read_state(data_dir)
    if state is None:
        console.print(f"no sandbox state in {data_dir}: nothing to stop")
        return 0
    if pid_alive(state.supervisor_pid) and DataDirLock(data_dir).held_elsewhere():
        os.kill(state.supervisor_pid, signal.SIGTERM)
        console.print(f"stopping the sandbox (supervisor pid {state.supervisor_pid})...")
        deadline = time.monotonic() + DOWN_TIMEOUT
        while time.monotonic() < deadline and pid_alive(state.supervisor_pid):
            time.sleep(0.1)
        if pid_alive(state.supervisor_pid):
            _error("the supervisor did not stop in time: killing it and its processes")
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.supervisor_pid, signal.SIGKILL)
    leftovers = _kill_leftovers(read_state(data_dir) or state)
    if leftovers:
        console.print(f"killed {leftovers} process group(s) left behind")
    console.print("sandbox stopped.")
    return 0


def _kill_leftovers(state: SandboxState) -> int:
    """SIGKILL the groups of children a dead supervisor could not stop (their pids are group ids)."""
    killed = 0
    for process in state.processes:
        if process.pid and pid_alive(process.pid) and _is_group_leader(process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
                killed += 1
    return killed


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


# --- status ---------------------------------------------------------------------------------


def _status(data_dir: Path, console: Console) -> int:
    state = read_state(data_dir)
    if state is None:
        console.print(f"no sandbox in {data_dir} (start one with `pyroclast sandbox up`)")
        return 1
    running = pid_alive(state.supervisor_pid) and state.status in ("starting", "ready", "stopping")
    nodes = asyncio.run(_count_nodes(Path(state.kubeconfig))) if running else None
    console.print(_status_table(state, nodes, running=running))
    if running:
        console.print(f"export KUBECONFIG={state.kubeconfig}", highlight=False, markup=False, soft_wrap=True)
        return 0
    console.print(f"the sandbox is not running (last state: {state.status})")
    return 1


async def _count_nodes(kubeconfig: Path) -> tuple[int, int] | None:
    try:
        access = await asyncio.to_thread(load_kubeconfig, kubeconfig)
        async with KubeClient(access, timeout=3.0) as client:
            listing = await client.get(api_path("v1", "nodes"))
    except Exception:
        return None
    items = listing.get("items") or []
    ready = sum(
        1
        for node in items
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )
    )
    return len(items), ready


def _status_table(state: SandboxState, nodes: tuple[int, int] | None, running: bool = True) -> Table:
    title = f"Pyroclast sandbox in {state.data_dir} — {state.status if running else 'not running'}"
    table = Table(title=title, title_justify="left")
    for column in ("process", "state", "pid", "restarts", "port", "log"):
        table.add_column(column, no_wrap=column != "log", overflow="fold")
    for process in state.processes:
        alive = running and pid_alive(process.pid)
        if process.status == "skipped":
            shown = "[dim]skipped[/dim]"
        elif alive:
            shown = "[green]up[/green]"
        elif process.status == "restarting" and running:
            shown = "[yellow]restarting[/yellow]"
        else:
            shown = "[red]down[/red]"
        table.add_row(
            process.name,
            shown,
            str(process.pid) if alive and process.pid else "-",
            str(process.restarts),
            str(process.port) if process.port else "-",
            process.note if process.status == "skipped" else _relative(process.log, state.data_dir),
        )
    if nodes is not None:
        table.caption = f"nodes: {nodes[0]} ({nodes[1]} Ready) · API {state.api_url} · NATS {state.nats_url}"
    else:
        table.caption = f"nodes: {state.node_count} configured · API {state.api_url} · NATS {state.nats_url}"
    return table


def _relative(path: str, data_dir: str) -> str:
    if not path:
        return "-"
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return path


# --- logs -----------------------------------------------------------------------------------


def _logs(data_dir: Path, service: str | None, follow: bool, tail: int, console: Console) -> int:
    directory = run_dir(data_dir)
    available = sorted(p.stem for p in directory.glob("*.log")) if directory.is_dir() else []
    if not service:
        if not available:
            console.print(f"no logs in {directory}")
            return 1
        console.print("logs: " + ", ".join(available))
        return 0
    if service not in available:
        choices = ", ".join(available) or "none yet"
        _error(f"{PROG} logs: error: SERVICE: no log for {service!r} (available: {choices})")
        return 2
    path = directory / f"{service}.log"
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        lines = handle.readlines()
        for line in lines[-tail:] if tail > 0 else lines:
            sys.stdout.write(line)
        sys.stdout.flush()
        while follow:
            line = handle.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
