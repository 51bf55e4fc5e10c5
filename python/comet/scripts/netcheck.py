"""Address checks for the CLI: is a port free, does anything listen at HOST:PORT."""

from __future__ import annotations

import errno
import socket


def split_address(address: str) -> tuple[str, int]:
    """"HOST:PORT" -> (host, port); ValueError when it is not one."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def port_in_use(host: str, port: int) -> bool:
    """Whether binding host:port fails the way a server's bind would."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False  # the daemon reports the bad host itself
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(sockaddr)
        except OSError as e:
            return e.errno == errno.EADDRINUSE  # anything else: the daemon says what
    return False


def is_listening(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """Whether a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
