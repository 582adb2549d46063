"""A real SMTP server (aiosmtpd on 127.0.0.1) that records what it receives, with SMTP AUTH."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message as MailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "s3cret-pa55"


@dataclass
class Inbox:
    port: int
    mails: list[tuple[list[str], MailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    state = Inbox(_free_port())
    controller = Controller(
        state,
        hostname="127.0.0.1",
        port=state.port,
        authenticator=_authenticate,
        auth_require_tls=False,  # the test server has no certificate; production uses starttls=true
        ready_timeout=10,
    )
    controller.start()
    try:
        yield state
    finally:
        controller.stop()


def smtp_url(inbox: Inbox, password: str = PASSWORD) -> str:
    return f"smtp://{USER}:{password}@127.0.0.1:{inbox.port}?starttls=false"
