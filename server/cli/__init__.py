"""The ``countersign`` command: the composition root that wires settings, store, policy, tools and web.

Each command family lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import typer

from server.cli import audit, migrate, people, policy, serve, tool, upstream
from server.cli.errors import run

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Countersign: a person countersigns risky agent actions."
)
app.add_typer(policy.app, name="policy", help="Check, test and replay action policies.")
app.add_typer(tool.app, name="tool", help="Tool risk levels and actions.")
app.add_typer(audit.app, name="audit", help="Verify and export the audit trail.")
app.add_typer(people.user_app, name="user", help="People who review and administer.")
app.add_typer(people.agent_app, name="agent", help="Agents and their bearer tokens.")
app.add_typer(people.token_app, name="token", help="API tokens for people.")
app.add_typer(upstream.app, name="upstream", help="Upstream MCP servers: their tools, pins and state.")
serve.register(app)
migrate.register(app)


def main() -> None:
    # Every command: an operator's mistake (settings, database, policy) is one line on stderr, exit 1.
    run(app)
