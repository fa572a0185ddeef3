"""The umbrella command: `pyroclast controller|scheduler|webhook|sandbox|crds|demo ...`.

Each subcommand lives in its own package and is imported only when asked for, so an image
that carries one service does not need the others.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, help line)
COMMANDS: dict[str, tuple[str, str]] = {
    "controller": ("pyroclast.controller.main", "run the controller service"),
    "scheduler": ("pyroclast.scheduler.main", "run the scheduler service"),
    "webhook": ("pyroclast.webhook.main", "run the admission webhook service"),
    "sandbox": ("pyroclast.sandbox.main", "run the local sandbox cluster (up|down|status|logs)"),
    "crds": ("pyroclast.common.crdgen", "generate the CRD manifests from the models"),
    "demo": ("pyroclast.cli.demo", "run the demo"),
}


def usage() -> str:
    lines = ["usage: pyroclast COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"pyroclast: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name = COMMANDS[name][0]
    try:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            print(
                f"pyroclast: the {name!r} command is not installed here ({exc.name} missing)", file=sys.stderr
            )
            return 2
        entry: Callable[[list[str]], int] = module.main
        return entry(rest)
    except KeyboardInterrupt:  # Ctrl-C before a command installed its own handling
        return 130


if __name__ == "__main__":
    sys.exit(main())
