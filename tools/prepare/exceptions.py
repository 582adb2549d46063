"""How unusual a proposed act is against history: the same signals the reviewer preview shows, scored."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tools import act
from tools.backoffice.store import BackOffice
from tools.contract import ToolInputError, ToolRegistry
from tools.signals import combine, level

registry = ToolRegistry()

ActToolName = Annotated[
    str,
    Field(
        max_length=100,
        description="Name of the act tool the call would use, e.g. issue_refund or change_vendor_bank_details.",
    ),
]
Arguments = Annotated[
    dict[str, Any], Field(description="The arguments the call would pass, exactly as for the act tool itself.")
]


def score(office: BackOffice, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    signal_fn = act.SIGNALS.get(tool)
    if signal_fn is None:
        raise ToolInputError(f"tool: {tool!r} is not an act tool; score one of {', '.join(act.SIGNALS)}", field="tool")
    with office.read() as conn:
        signals = signal_fn(conn, office.now(), arguments)
    value = combine(signals)
    return {
        "tool": tool,
        "score": value,
        "level": level(value),
        "reasons": [s.message for s in signals],
        "factors": [{"code": s.code, "weight": s.weight, "message": s.message} for s in signals],
    }


@registry.tool(category="prepare", risk="low", action="allow", minutes_saved=6)
def score_exception(office: BackOffice, tool: ActToolName, arguments: Arguments) -> dict[str, Any]:
    """Rate how unusual a proposed act is before proposing it, from 0 (routine) to 1 (stop and look).

    Compares the call with history: a refund against the order total and the customer's past refunds
    (standard deviations), a payment against past payments to the vendor and recent or pending bank
    changes, new bank details against the vendor's country and the sender's domain, and so on. A call
    the tool itself would refuse scores high. Nothing is executed.
    Returns {"tool", "score", "level": low|medium|high, "reasons": [text], "factors": [{code, weight, message}]}.
    """
    return score(office, tool, arguments)
