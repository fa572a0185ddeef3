"""``python -m pyroclast.sandbox.apiserver``: run the sandbox API server in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import structlog

from pyroclast.common.runtime import tune_gc

from .app import ApiServerConfig, start_apiserver, write_kubeconfig


def configure_logging(level: str) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


async def run(args: argparse.Namespace) -> None:
    server = await start_apiserver(
        ApiServerConfig(data_dir=Path(args.data_dir), host=args.host, port=args.port)
    )
    kubeconfig = Path(args.kubeconfig) if args.kubeconfig else Path(args.data_dir) / "kubeconfig"
    await asyncio.to_thread(write_kubeconfig, kubeconfig, server.url, server.ca_path, server.token)
    structlog.get_logger("pyroclast.sandbox.apiserver").info(
        "kubeconfig written", path=str(kubeconfig), url=server.url
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyroclast.sandbox.apiserver")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--kubeconfig", default="")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    tune_gc()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
