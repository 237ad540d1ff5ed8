"""`free_port`: a port a listener can bind, picked where outgoing connections never land."""

from __future__ import annotations

import socket

from shared.broker import LOWEST_PICKED_PORT, ephemeral_low_port, free_port


def test_a_free_port_can_be_listened_on() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_ports_are_picked_below_the_range_outgoing_connections_take() -> None:
    # An outgoing connection takes its local port from the ephemeral range: a port picked
    # there could be taken before its listener binds it.
    below = ephemeral_low_port()
    ports = {free_port() for _ in range(50)}
    if below > LOWEST_PICKED_PORT:  # Linux, which this machine and CI are
        assert all(LOWEST_PICKED_PORT <= port < below for port in ports), sorted(ports)
    assert len(ports) > 1
