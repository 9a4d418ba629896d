"""The local stack's stand-in for API Gateway (devstack/chalice_local.py): the caller's real
address in ``sourceIp`` and a listen backlog that takes 50 connections at once."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from chalice import Chalice
from chalice.config import Config

from devstack import chalice_local
from devstack.stack import LocalStack

pytestmark = pytest.mark.e2e


def _echo_app() -> Chalice:
    app = Chalice(app_name="echo")

    @app.route("/whoami")
    def whoami() -> dict[str, object]:
        request = app.current_request
        return {
            "source_ip": request.context["identity"]["sourceIp"],
            "forwarded_for": request.headers.get("x-forwarded-for"),
        }

    return app


@pytest.fixture
def echo_server() -> Iterator[str]:
    """The patched local server in this process, serving an app that echoes its event."""
    chalice_local.install()
    server = chalice_local.create_local_server(_echo_app(), Config(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.shutdown()
        server.server.server_close()


def _get_from(source_address: str, url: str, headers: dict[str, str]) -> dict[str, object]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), source_address=(source_address, 0)) as conn:
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = f"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
        conn.sendall(request.encode())
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


def test_source_ip_is_the_tcp_peer_and_x_forwarded_for_changes_nothing(echo_server: str) -> None:
    assert _get_from("127.0.0.1", echo_server, {})["source_ip"] == "127.0.0.1"
    seen = _get_from("127.0.0.2", echo_server, {"X-Forwarded-For": "203.0.113.9"})
    assert seen["source_ip"] == "127.0.0.2"


def test_the_listen_backlog_holds_fifty_connections_before_any_is_accepted() -> None:
    """The kernel completes handshakes into the backlog while the server accepts none; with
    socketserver's default of 5, the rest of a burst waits for SYN retransmits (1 s, 3 s...)
    or is reset."""
    chalice_local.install()
    server = chalice_local.create_local_server(_echo_app(), Config(), "127.0.0.1", 0)
    port = server.server.server_address[1]
    connections = [socket.socket() for _ in range(50)]
    try:
        for conn in connections:
            conn.setblocking(False)
            conn.connect_ex(("127.0.0.1", port))
        pending = set(connections)
        deadline = time.monotonic() + 0.5  # loopback handshakes take microseconds; SYN retry 1 s
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.05)
            pending -= {
                conn
                for conn in writable
                if conn.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            }
        assert len(connections) - len(pending) == 50
    finally:
        for conn in connections:
            conn.close()
        server.server.server_close()


def test_fifty_simultaneous_new_connections_are_all_served(local_stack: LocalStack) -> None:
    """50 connects in one burst (faster than the server accepts), then a request on each."""
    port = int(local_stack.base_url.rsplit(":", 1)[1])
    connections = [socket.socket() for _ in range(50)]
    try:
        for conn in connections:
            conn.setblocking(False)
            conn.connect_ex(("127.0.0.1", port))
        statuses = []
        for conn in connections:
            conn.setblocking(True)
            conn.settimeout(30)
            try:
                conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                statuses.append(conn.recv(64).split(b" ", 2)[1].decode())
            except OSError as error:
                statuses.append(type(error).__name__)
    finally:
        for conn in connections:
            conn.close()
    assert statuses == ["200"] * 50
