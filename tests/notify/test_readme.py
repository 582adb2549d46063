"""The README's webhook verification example accepts our signatures and refuses tampered bodies."""

from __future__ import annotations

import re

from server.notify.webhook import signature
from server.store.types import utcnow
from tests.conftest import REPO


def _readme_verify() -> object:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", text, re.S)
    assert block is not None, "the README lost its webhook verification example"
    namespace: dict[str, object] = {}
    exec(block.group(1), namespace)  # the documented code, as an integrator would paste it
    return namespace["verify"]


def test_readme_example_verifies_a_signed_body_and_refuses_a_changed_one() -> None:
    verify = _readme_verify()
    body = b'{"id":"ev-1","type":"call.held"}'
    header = signature("whsec-readme", int(utcnow().timestamp()), body)
    assert verify("whsec-readme", header, body)  # type: ignore[operator]
    assert not verify("whsec-readme", header, body.replace(b"held", b"decided"))  # type: ignore[operator]
    assert not verify("another-secret", header, body)  # type: ignore[operator]
