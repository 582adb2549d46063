"""The gateway's view of the business tools: from a tool's metadata to the facts the policy sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import mcp_types as types

from server.lifecycle.execution import ToolOutcome
from server.policy.types import CallFacts, Exposure, Justification
from tools.contract import ToolInputError, ToolRegistry, ToolSpec

# Re-exported for surfaces that show a tool's metadata (web/ reaches tools only through server/).
__all__ = ["ArgumentsRefused", "ToolSpec", "build_facts", "exposure_of", "parse_arguments", "subject_of"]


def exposure_of(spec: ToolSpec | None, args: dict[str, Any]) -> Exposure | None:
    """The money at stake, read from the arguments the tool declares; None when absent or not a number."""
    if spec is None or spec.exposure is None:
        return None
    amount = args.get(spec.exposure.amount)
    currency = args.get(spec.exposure.currency)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not isinstance(currency, str):
        return None
    return Exposure(amount=float(amount), currency=currency.upper())


def subject_of(spec: ToolSpec | None, args: dict[str, Any]) -> str | None:
    """The customer or vendor the call touches, as the tool declares it."""
    if spec is None or spec.subject is None:
        return None
    value = args.get(spec.subject.arg)
    return str(value) if value is not None else None


def build_facts(
    spec: ToolSpec | None,
    tool: str,
    args: dict[str, Any],
    *,
    agent: str = "anonymous",
    server: str = "countersign",
    justification: Justification | None = None,
    on_behalf_of: str | None = None,
) -> CallFacts:
    """Everything classify() needs, built once per call. ``spec`` is None for a tool we do not know."""
    return CallFacts(
        tool=tool,
        args=args,
        agent=agent,
        server=server,
        justification=justification or Justification(),
        exposure=exposure_of(spec, args),
        customer=subject_of(spec, args),
        category=spec.category if spec is not None else None,
        on_behalf_of=on_behalf_of,
    )


class ExternalTools(Protocol):
    """Tools the gateway guards besides the registry's: today the upstream MCP servers' (server/upstream/).

    The gateway consults this for any tool the registry does not have; everything else about a call
    (policy, holding, deciding, executing once) is the same for both.
    """

    def owns(self, tool: str) -> bool:
        """Whether ``tool`` is one of these (listed now)."""
        ...

    def refusal(self, tool: str) -> str | None:
        """Why the tool may not run or be approved now (a definition changed since it was pinned), or None."""
        ...

    def facts(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        agent: str,
        justification: Justification | None,
        on_behalf_of: str | None = None,
    ) -> CallFacts:
        """The facts the policy sees, with ``server`` set to the tool's upstream."""
        ...

    def server_of(self, tool: str) -> str: ...

    def definitions(self) -> list[tuple[str, types.Tool]]:
        """Every tool listed now: (the name agents use, the definition its server gave)."""
        ...

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from any thread, without blocking) when ``definitions()`` changed."""
        ...

    def idempotent(self, tool: str) -> bool: ...

    def description(self, tool: str) -> str: ...

    def input_schema(self, tool: str) -> dict[str, Any]: ...

    def preview(self, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """The policy's read-only preview tool's answer (``{"tool", "result"}`` or ``{"error"}``), or None."""
        ...

    def keeps_result(self, tool: str) -> bool: ...

    def summarize(self, tool: str, args: dict[str, Any]) -> str: ...

    def check(self, tool: str, args: dict[str, Any]) -> None:
        """Raises ToolInputError when the arguments do not fit the tool's schema."""
        ...

    def run(self, tool: str, args: dict[str, Any], idempotency_key: str | None) -> ToolOutcome: ...


class ArgumentsRefused(ValueError):
    """The tool would refuse these arguments; ``message`` names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_arguments(registry: ToolRegistry, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments in the tool's canonical form, as the gateway would take them (unchanged for an
    unknown tool: the policy blocks it). Raises ArgumentsRefused. Lets surfaces outside ``server/``
    validate arguments without reaching into ``tools/``."""
    spec = registry.get(tool)
    if spec is None:
        return arguments
    try:
        return spec.parse(arguments)
    except ToolInputError as exc:
        raise ArgumentsRefused(exc.message) from exc
