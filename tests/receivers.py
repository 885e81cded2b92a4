"""Real receivers for the alert channels, run in threads of the test process: an HTTP server (Slack,
Teams, webhook and CAP endpoints, scripted answers), a TCP/UDP listener for CoT, and an SMTP server
(aiosmtpd)."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET

from tests.conftest import free_port


@dataclass
class Request:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HTTPReceiver:
    """Answers each path by its script: a list of status codes used in turn (the last repeats);
    status 0 = never answer (hold the connection past any timeout)."""
    scripts: dict[str, list[int]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "HTTPReceiver":
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                n = sum(1 for r in recv.requests if r.path == self.path)
                recv.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                script = recv.scripts.get(self.path, [200])
                status = script[min(n, len(script) - 1)]
                if status == 0:
                    recv.release.wait(60)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


class CoTListener:
    """TCP (a TAK server's input) or UDP listener; each received document parsed as XML."""

    def __init__(self, udp: bool = False):
        self.events: list[ET.Element] = []
        self.udp = udp
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if not udp:
            self.sock.listen(5)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                if self.udp:
                    data, _ = self.sock.recvfrom(65536)
                else:
                    conn, _ = self.sock.accept()
                    with conn:
                        chunks = []
                        while chunk := conn.recv(65536):
                            chunks.append(chunk)
                    data = b"".join(chunks)
            except OSError:
                return
            self.events.append(ET.fromstring(data))

    def close(self):
        self.sock.close()


class SMTPReceiver:
    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages: list = []
        recv = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
                from email import message_from_bytes, policy
                recv.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


def wait(pred, timeout: float = 15.0, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
