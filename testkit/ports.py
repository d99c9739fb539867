"""A free TCP port on loopback.

The port is probed and released, so another process could take it before the caller
binds it; callers that start servers retry with a new port (testkit/controlplane.py)
or use it only as a port where nothing listens.
"""
from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
