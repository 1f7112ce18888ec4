"""A webhook receiver on 127.0.0.1 for delivery tests: records requests, answers a set status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedRequest:
    """What one delivery looked like on the wire."""

    path: str
    host: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalReceiver:
    """The receiver's port, what it was sent, and what it answers."""

    port: int
    requests: list[ReceivedRequest] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def local_receiver() -> Iterator[LocalReceiver]:
    """Serve on a free port of 127.0.0.1 until the block ends."""
    state: list[LocalReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state[0]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = dict(self.headers.items())
            receiver.requests.append(
                ReceivedRequest(self.path, self.headers["Host"], body, headers)
            )
            self.send_response(receiver.status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on what arrived."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(LocalReceiver(port=server.server_address[1]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
