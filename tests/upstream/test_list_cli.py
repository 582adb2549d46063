"""`countersign upstream list`: a verdict for every upstream tool, including tools whose schema requires
arguments, and "depends" where the policy's rules look at each call."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from server.cli import app
from tests.upstream.support import policies_with

SERVER = Path(__file__).with_name("chatty_server.py")
POLICY = """\
version: 1
tools:
  chat__echo: {action: allow, risk: medium, kind: act}
  chat__work: {action: allow, risk: low, kind: read}
rules:
  - id: hold-marked
    tools: [chat__echo]
    when: args.text.startsWith("hold")
    action: hold
"""


def test_upstream_list_gives_every_tool_a_verdict_and_says_when_it_depends_on_the_arguments(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "countersign.yaml"
    config.write_text(f"upstreams:\n  chat:\n    command: [{sys.executable}, {SERVER}, stdio]\n")
    env = {"COUNTERSIGN_CONFIG": str(config), "COUNTERSIGN_POLICIES": str(policies_with(tmp_path, POLICY))}

    result = CliRunner().invoke(app, ["upstream", "list", "--json", "--database-url", database_url], env=env)
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    rows = {row["tool"]: row for row in listing["tools"]}

    assert listing["upstreams"]["chat"]["state"] == "up"
    # `echo` requires `text`, and a rule reads it: no single verdict, so none is made up.
    assert rows["chat__echo"]["verdict"] == "depends"
    assert rows["chat__echo"]["depends_on"] == ["hold-marked"]
    assert "allow by default" in rows["chat__echo"]["reason"]
    # `work` requires `steps`, but no rule looks at the call: its verdict holds for every call.
    assert (rows["chat__work"]["verdict"], rows["chat__work"]["risk"]) == ("allow", "low")
    # A tool the policy does not name is blocked (fail closed).
    assert rows["chat__grow"]["verdict"] == "block"
    assert {row["pin"] for row in rows.values()} == {"pinned"}

    text = CliRunner().invoke(app, ["upstream", "list", "--database-url", database_url], env=env)
    assert text.exit_code == 0 and "depends on arguments" in text.output
