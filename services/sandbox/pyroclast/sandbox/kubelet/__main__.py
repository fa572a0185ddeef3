"""``python -m pyroclast.sandbox.kubelet --kubeconfig FILE --config FILE``: the simulated nodes."""

from __future__ import annotations

import sys
from pathlib import Path

from pyroclast.sandbox.config import ConfigError, load_file, parse_document
from pyroclast.sandbox.entrypoint import ArgumentParser, UsageError, fail, run_until_signalled
from pyroclast.sandbox.kubeclient import KubeClient, KubeconfigError, load_kubeconfig
from pyroclast.sandbox.kubelet.agent import NodeAgent
from pyroclast.sandbox.kubelet.lifecycle import Policy

PROG = "pyroclast-sandbox-nodes"


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog=PROG, description="Run the sandbox's simulated nodes and their kubelet.")
    parser.add_argument("--kubeconfig", required=True, type=Path, help="how to reach the API server")
    parser.add_argument("--config", type=Path, help="the sandbox config (YAML or JSON); default: 3 nodes")
    parser.add_argument("--logs-dir", type=Path, help="where container logs go (default: DATA_DIR/logs)")
    parser.add_argument("--backoff-seconds", type=float, default=10.0, help="first CrashLoopBackOff delay")
    parser.add_argument("--log-level", default="info")
    try:
        args = parser.parse_args(argv)
        config = parse_document(load_file(args.config) if args.config else {})
        access = load_kubeconfig(args.kubeconfig)
    except (UsageError, ConfigError, KubeconfigError) as exc:
        return fail(PROG, str(exc))
    logs_dir = args.logs_dir or config.data_dir / "logs"
    policy = Policy(backoff_base_seconds=args.backoff_seconds)

    async def work() -> None:
        async with KubeClient(access) as client:
            await NodeAgent(client, config, logs_dir=logs_dir, policy=policy).run()

    return run_until_signalled("sandbox-nodes", work, level=args.log_level)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
