"""Choosing a TCP port for a process that will listen on it later.

A port handed out by binding port 0 comes from the kernel's ephemeral range, the same range
outgoing connections take their local ports from: between the moment it is chosen and the
moment the child process binds it, any connection on the machine may take it. So a port is
drawn at random from below the ephemeral range, where the kernel never assigns one on its own,
and kept only if it can be bound right now.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST_PORT = 10_000
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_START = 32_768
_ATTEMPTS = 200


def ephemeral_start() -> int:
    """First port of the kernel's ephemeral range (32768 where it cannot be read)."""
    try:
        first = int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_START
    return first


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on, outside the ephemeral range when possible."""
    top = ephemeral_start()
    if top - 1 > LOWEST_PORT:
        rng = random.SystemRandom()
        for _ in range(_ATTEMPTS):
            port = rng.randrange(LOWEST_PORT, top)
            if _bindable(host, port):
                return port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
