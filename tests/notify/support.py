"""A real webhook receiver on 127.0.0.1 and a policy that routes the finance queue to it.

The receiver checks signatures the way README.md tells integrators to (written out again here, from
the documentation, rather than imported from server/notify/webhook.py, so a wrong signer fails).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SECRET = "whsec-test-0123456789abcdef0123456789"
TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, now: float) -> bool:
    """The README's verification example."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(now - timestamp) <= TOLERANCE_SECONDS


@dataclass
class Received:
    event_id: str
    event: dict[str, Any]
    signed: bool


@dataclass
class Receiver:
    url: str
    status: int = 200
    now: float = field(default_factory=time.time)  # the time the receiver checks timestamps against
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event | None = None  # when set, answers wait for it (a worker stuck mid-send)

    def ids(self) -> list[str]:
        return [r.event_id for r in self.received]


@contextmanager
def receiver(*, secret: str = SECRET) -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = verify(secret, self.headers.get("Countersign-Signature", "t=0,v1="), body, state.now)
            state.received.append(Received(self.headers["Countersign-Event-Id"], json.loads(body), signed))
            state.arrived.set()
            if state.release is not None:
                state.release.wait(10)
            self.send_response(state.status if signed else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        if state.release is not None:
            state.release.set()
        server.shutdown()
        server.server_close()


def write_policy(directory: Path, *, webhook: str, extra: str = "", events: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "policy.yaml").write_text(
        f"""version: 1
defaults: {{queue: finance}}
queues:
  finance:
    sla: 1h
    notify:
      webhooks: ["{webhook}"]
{events}      escalate_to: finance-senior
{extra}  finance-senior:
    notify:
      email: [leads@example.com]
tools:
  issue_refund: {{action: hold, risk: high}}
""",
        encoding="utf-8",
    )
    return directory
