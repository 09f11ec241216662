"""Ports for test servers: free, below the range outgoing connections draw from, never twice."""

from __future__ import annotations

import socket
from pathlib import Path

from ciam_devtools.devstack import free_port, free_ports


def ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_are_below_the_ephemeral_range_bindable_and_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(20000 <= port < ephemeral_low() for port in ports)
    for port in ports[:20]:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))


def test_consecutive_ports_are_all_free_and_not_reused() -> None:
    base = free_ports(4)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 2))
        for port in range(base, base + 4):
            if port != base + 2:
                with socket.socket() as server:
                    server.bind(("127.0.0.1", port))
    assert all(not base <= free_port() < base + 4 for _ in range(200))
