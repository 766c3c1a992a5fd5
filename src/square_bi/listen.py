"""Listening sockets for our HTTP servers (the demo merchant, the MCP HTTP transport, webhooks).

Binding the socket ourselves, before uvicorn starts, turns a taken port into one actionable
ConfigError instead of a log line from inside uvicorn, and lets port 0 pick a free port that the
caller can read back.
"""

from __future__ import annotations

import socket

from square_bi.errors import ConfigError


def listening_socket(host: str, port: int, *, who: str, choose: str) -> socket.socket:
    """A socket listening on ``host``:``port`` (0: a free one), or a ConfigError saying that ``who``
    cannot listen there and to choose another ``choose`` (e.g. "--webhook-port").

    TCP_NODELAY (inherited by accepted connections) matters: without it each small response waited
    for the client's delayed ACK, about 40 ms per webhook delivery on Linux (0.5 ms with it). The
    socket is inheritable, so a server process started with it can take it over.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)  # queue early connections until uvicorn starts accepting
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"{who} cannot listen on {host}:{port} ({exc.strerror or exc}). "
            f"Choose another {choose} or stop the program using it."
        ) from exc
    sock.set_inheritable(True)
    return sock
