"""What a simulated container does: how long it runs and how it exits.

Nothing is executed. A container's behaviour is read from the pod:

1. the annotations ``sandbox.pyroclast.dev/run-seconds`` and ``sandbox.pyroclast.dev/exit-code``
   (they apply to every container of the pod);
2. else a ``sleep N`` in the container's command and args: ``["sleep", "10"]``,
   ``command: [sleep]`` with ``args: ["10"]``, or a shell script such as
   ``["sh", "-c", "echo hi; sleep 2 && sleep 3; exit 4"]`` (sleeps add up; ``exit N`` gives
   the exit code);
3. else the container runs until the pod is deleted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RUN_SECONDS_ANNOTATION = "sandbox.pyroclast.dev/run-seconds"
EXIT_CODE_ANNOTATION = "sandbox.pyroclast.dev/exit-code"

_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "busybox"}
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_EXIT = re.compile(r"(?:^|[;&|\s])exit\s+(\d+)")


@dataclass(frozen=True)
class ContainerPlan:
    """A container's simulated run: ``run_seconds`` is ``None`` for "until deleted"."""

    name: str
    image: str
    run_seconds: float | None
    exit_code: int


def plan_containers(pod: Mapping[str, Any]) -> list[ContainerPlan]:
    """The plan of each app container of ``pod``, in spec order."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    pod_seconds = _annotation_seconds(annotations.get(RUN_SECONDS_ANNOTATION))
    pod_exit = _annotation_exit_code(annotations.get(EXIT_CODE_ANNOTATION))
    plans: list[ContainerPlan] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        command = _strings(container.get("command"))
        args = _strings(container.get("args"))
        seconds = pod_seconds if pod_seconds is not None else sleep_seconds(command, args)
        exit_code = pod_exit if pod_exit is not None else script_exit_code(command, args)
        plans.append(
            ContainerPlan(
                name=str(container.get("name", "")),
                image=str(container.get("image", "")),
                run_seconds=seconds,
                exit_code=exit_code if exit_code is not None else 0,
            )
        )
    return plans


def pod_run_seconds(pod: Mapping[str, Any]) -> float | None:
    """How long the pod's longest container runs, or ``None`` if one runs until deleted."""
    seconds = [plan.run_seconds for plan in plan_containers(pod)]
    if not seconds or any(s is None for s in seconds):
        return None
    return max(s for s in seconds if s is not None)


def sleep_seconds(command: Sequence[str], args: Sequence[str]) -> float | None:
    """The time a command line sleeps: ``sleep 10``, ``sh -c "...; sleep 2; ..."``; else ``None``."""
    argv = [*command, *args]
    if not argv:
        return None
    program = argv[0].rsplit("/", 1)[-1]
    if program == "sleep":
        return _sleep_operands(argv[1:])
    if program in _SHELLS:
        script = _shell_script(argv)
        if script is not None:
            return _script_sleep(script)
    return None


def script_exit_code(command: Sequence[str], args: Sequence[str]) -> int | None:
    """The code of the last ``exit N`` in a shell script command, if any."""
    argv = [*command, *args]
    if not argv or argv[0].rsplit("/", 1)[-1] not in _SHELLS:
        return None
    script = _shell_script(argv)
    if script is None:
        return None
    codes = _EXIT.findall(script)
    return int(codes[-1]) % 256 if codes else None


def _shell_script(argv: Sequence[str]) -> str | None:
    rest = list(argv[1:])
    if rest and argv[0].rsplit("/", 1)[-1] == "busybox" and rest[0] in _SHELLS:
        rest = rest[1:]
    for i, arg in enumerate(rest):
        if arg.startswith("-") and "c" in arg[1:] and i + 1 < len(rest):
            return rest[i + 1]
    return None


def _script_sleep(script: str) -> float | None:
    try:
        tokens = shlex.split(script.replace(";", " ; ").replace("&&", " && ").replace("||", " || "))
    except ValueError:
        tokens = script.split()
    total = 0.0
    found = False
    for i, token in enumerate(tokens):
        if token.rsplit("/", 1)[-1] != "sleep":
            continue
        operands: list[str] = []
        for operand in tokens[i + 1 :]:
            if not _DURATION.match(operand) and operand != "infinity":
                break
            operands.append(operand)
        if not operands:
            continue
        seconds = _sleep_operands(operands)
        if seconds is None:
            return None
        total += seconds
        found = True
    return total if found else None


def _sleep_operands(operands: Sequence[str]) -> float | None:
    """``sleep`` adds its operands up; ``infinity`` (or nothing readable) never ends."""
    total = 0.0
    for operand in operands:
        match = _DURATION.match(operand)
        if not match:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return total if operands else None


def _annotation_seconds(value: object) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(str(value).strip().rstrip("s"))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _annotation_exit_code(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value).strip()) % 256
    except ValueError:
        return None


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(item) for item in value]
