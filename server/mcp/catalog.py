"""The tool list an agent sees: every business tool, plus the gateway's own two tools.

A business tool's input schema gains an optional ``justification`` object. The gateway strips it
before the tool runs, stores it with the call and shows it to the policy and the reviewer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.shared.inbound import X_MCP_HEADER_KEY

from tools.contract import ToolRegistry, ToolSpec

AWAIT_DECISION = "await_decision"
LIST_MY_PENDING = "list_my_pending_calls"
GATEWAY_TOOLS = frozenset({AWAIT_DECISION, LIST_MY_PENDING})
JUSTIFICATION = "justification"
# The longest a single tools/call may wait, below the TypeScript SDK's 60 s default request timeout.
MAX_WAIT_SECONDS = 55.0
MAX_EVIDENCE = 20

GUARD_NOTE = (
    "Guarded by Countersign: a risky call may wait for a person's approval; you then get "
    "status pending_approval and a call_id to pass to await_decision. Add `justification` "
    "(reason, evidence, confidence) to speed approval."
)

JUSTIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Optional, never passed to the tool: why you make this call and what supports it. "
        "The person who approves it reads this; good evidence gets faster approval."
    ),
    "properties": {
        "reason": {"type": "string", "maxLength": 5000, "description": "Why this call, in a sentence or two."},
        "evidence": {
            "type": "array",
            "maxItems": MAX_EVIDENCE,
            "description": "What you relied on: tickets, records, documents.",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "string", "maxLength": 500, "description": "e.g. ticket:T-1042, order:O-1001"},
                    "excerpt": {"type": "string", "maxLength": 5000, "description": "The relevant words, quoted."},
                    "url": {"type": "string", "maxLength": 2000},
                },
                "required": ["source"],
                "additionalProperties": False,
            },
        },
        "confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "How sure you are this call is right, from 0 to 1.",
        },
    },
    "additionalProperties": False,
}

AWAIT_DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "call_id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "From pending_approval."},
        "wait_seconds": {
            "type": "number",
            "minimum": 0,
            "maximum": MAX_WAIT_SECONDS,
            "description": "How long to wait for the decision before answering pending_approval again.",
        },
    },
    "required": ["call_id"],
    "additionalProperties": False,
}

LIST_MY_PENDING_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


@dataclass(frozen=True)
class Catalog:
    """The listed tools and the schemas calls are validated against, built once per server."""

    tools: tuple[types.Tool, ...]
    # Input schemas by tool name: business tools without `justification`, gateway tools as listed.
    schemas: dict[str, dict[str, Any]]
    # The schemas clients saw in tools/list (the SDK checks Mcp-Param-* headers against them).
    listed: dict[str, dict[str, Any]]

    # Those of the listed schemas that declare Mcp-Param-* headers (``declares_headers``).
    headed: dict[str, dict[str, Any]]

    def header_schema(self, name: str) -> dict[str, Any] | None:
        """The listed schema if it declares ``Mcp-Param-*`` headers, else None (nothing to check)."""
        return self.headed.get(name)


def declares_headers(schema: object) -> bool:
    """Whether ``x-mcp-header`` appears anywhere in ``schema``.

    Only such a schema gives the SDK's ``Mcp-Param-*`` header check anything to compare; it walks the
    whole schema twice per call to find out, so tools that declare none are not handed to it.
    """
    if isinstance(schema, dict):
        return X_MCP_HEADER_KEY in schema or any(declares_headers(value) for value in schema.values())
    if isinstance(schema, list):
        return any(declares_headers(value) for value in schema)
    return False


def build_catalog(registry: ToolRegistry) -> Catalog:
    """Raises ValueError when a business tool takes the name of a gateway tool or a ``justification`` argument."""
    tools: list[types.Tool] = []
    schemas: dict[str, dict[str, Any]] = {}
    for spec in registry:
        if spec.name in GATEWAY_TOOLS:
            raise ValueError(f"tool {spec.name!r} clashes with a gateway tool")
        schema = spec.input_schema
        if JUSTIFICATION in schema.get("properties", {}):
            raise ValueError(f"tool {spec.name!r} has a {JUSTIFICATION!r} argument, which the gateway reserves")
        schemas[spec.name] = schema
        tools.append(business_tool(spec, schema))
    tools.extend(gateway_tools())
    schemas[AWAIT_DECISION] = AWAIT_DECISION_SCHEMA
    schemas[LIST_MY_PENDING] = LIST_MY_PENDING_SCHEMA
    listed = {tool.name: tool.input_schema for tool in tools}
    headed = {name: schema for name, schema in listed.items() if declares_headers(schema)}
    return Catalog(tuple(tools), schemas, listed, headed)


def business_tool(spec: ToolSpec, schema: dict[str, Any]) -> types.Tool:
    guarded = copy.deepcopy(schema)
    guarded.setdefault("type", "object")
    guarded.setdefault("properties", {})[JUSTIFICATION] = JUSTIFICATION_SCHEMA
    return types.Tool(
        name=spec.name,
        title=spec.name.replace("_", " ").capitalize(),
        description=f"{spec.description}\n\n{GUARD_NOTE}",
        input_schema=guarded,
        annotations=types.ToolAnnotations(
            read_only_hint=spec.hints.read_only,
            destructive_hint=spec.hints.destructive,
            idempotent_hint=spec.hints.idempotent,
            open_world_hint=spec.hints.open_world,
        ),
    )


def gateway_tools() -> list[types.Tool]:
    read_only = types.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    return [
        types.Tool(
            name=AWAIT_DECISION,
            title="Await decision",
            description=(
                "Wait for a person's decision on a call that returned status pending_approval, then return "
                "its real outcome: the tool's result once approved and run, or why it was rejected or "
                "expired. If still undecided after wait_seconds, returns pending_approval again: call "
                "this again rather than repeating the original call."
            ),
            input_schema=AWAIT_DECISION_SCHEMA,
            annotations=read_only,
        ),
        types.Tool(
            name=LIST_MY_PENDING,
            title="List my pending calls",
            description="Your calls still waiting for a person's decision, with their call_id for await_decision.",
            input_schema=LIST_MY_PENDING_SCHEMA,
            annotations=read_only,
        ),
    ]


def upstream_tool(listed: str, tool: types.Tool) -> types.Tool:
    """An upstream tool as agents see it: its own definition under the listed name, with ``justification``
    added (unless the upstream uses that argument itself) and the guard note after its description."""
    schema = copy.deepcopy(tool.input_schema) if isinstance(tool.input_schema, dict) else {"type": "object"}
    properties = schema.setdefault("properties", {})
    if JUSTIFICATION not in properties:
        properties[JUSTIFICATION] = JUSTIFICATION_SCHEMA
    description = f"{tool.description}\n\n{GUARD_NOTE}" if tool.description else GUARD_NOTE
    # No outputSchema: clients check structuredContent against it, and a held or blocked call's answer
    # (pending_approval, blocked...) cannot fit the upstream's shape. The executed result is unchanged.
    update = {"name": listed, "description": description, "input_schema": schema, "output_schema": None}
    return tool.model_copy(update=update)
