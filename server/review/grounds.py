"""When an approval needs an override reason: approving against the policy's recommendation.

The policy holds a call for a person; it never says "approve". Some signals say "probably not":

- **critical risk**: the verdict (or, for an edit, the new verdict) rates the call ``critical``;
- **preview warnings**: the tool's reviewer preview warns about what the call would do (a refund
  above the order total, a bank change to a new country, a payment to a vendor never paid before...);
- **hidden characters**: the call's arguments or the agent's justification contain hidden Unicode
  (bidi controls, zero-width or tag characters), a sign of spoofed or injected text;
- **no preview**: the tool has a preview but could not build it for these arguments, so the
  reviewer cannot see what the call would change.

Approving despite any of these goes against the recommendation, so the approver must write an
*override reason*, on every surface (page, JSON API, CLI, Slack). It is kept with the decision and in
the audit event. Rejecting never needs one. The grounds are computed on the server from the
arguments actually being approved, never trusted from the client.
"""

from __future__ import annotations

from collections.abc import Sequence


def override_grounds(
    *, risk: str, warnings: Sequence[str], hidden: Sequence[str], preview_error: str | None = None
) -> list[str]:
    """Why approving needs an override reason; empty when it does not."""
    grounds: list[str] = []
    if risk == "critical":
        grounds.append("the policy rates this call critical")
    if preview_error:
        grounds.append("the tool could not preview this call")
    if warnings:
        noun = "warning" if len(warnings) == 1 else "warnings"
        grounds.append(f"the tool's preview raises {len(warnings)} {noun}")
    if hidden:
        grounds.append("the call contains hidden characters")
    return grounds


def override_needed_message(grounds: Sequence[str]) -> str:
    return (
        "Approving this call goes against the policy's recommendation ("
        + "; ".join(grounds)
        + "). Write an override reason to approve it anyway."
    )
