"""``python -m pyroclast.sandbox.controllers --kubeconfig FILE``: Deployments, ReplicaSets, node
lifecycle, and the default-scheduler binder."""

from __future__ import annotations

import sys
from pathlib import Path

from pyroclast.sandbox.config import ConfigError, load_file, parse_document
from pyroclast.sandbox.controllers.manager import ControllerManager
from pyroclast.sandbox.entrypoint import ArgumentParser, UsageError, fail, run_until_signalled
from pyroclast.sandbox.kubeclient import KubeClient, KubeconfigError, load_kubeconfig

PROG = "pyroclast-sandbox-controllers"


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog=PROG, description="Run the sandbox's built-in controllers.")
    parser.add_argument("--kubeconfig", required=True, type=Path, help="how to reach the API server")
    parser.add_argument("--config", type=Path, help="the sandbox config (YAML or JSON), for its timing")
    parser.add_argument("--log-level", default="info")
    try:
        args = parser.parse_args(argv)
        config = parse_document(load_file(args.config) if args.config else {})
        access = load_kubeconfig(args.kubeconfig)
    except (UsageError, ConfigError, KubeconfigError) as exc:
        return fail(PROG, str(exc))

    async def work() -> None:
        async with KubeClient(access) as client:
            await ControllerManager(client, config.timing).run()

    return run_until_signalled("sandbox-controllers", work, level=args.log_level)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
