"""Ports chosen for child processes stay clear of the kernel's ephemeral range."""

from __future__ import annotations

import socket

import pytest

from pyroclast.common import net


def test_a_chosen_port_is_below_the_ephemeral_range_and_bindable() -> None:
    top = net.ephemeral_start()
    for _ in range(20):
        port = net.free_port("127.0.0.1")
        assert net.LOWEST_PORT <= port < top
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))


def test_a_port_someone_listens_on_is_never_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        monkeypatch.setattr(net, "LOWEST_PORT", taken)
        monkeypatch.setattr(net, "ephemeral_start", lambda: taken + 3)
        for _ in range(20):
            assert net.free_port("127.0.0.1") != taken
