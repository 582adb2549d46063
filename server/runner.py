"""Running business tools from tools/ for the executor: refusals become ToolRefused, results stay JSON."""

from __future__ import annotations

import json
from typing import Any

from server.catalog import ExternalTools
from server.lifecycle.execution import ToolOutcome, ToolRefused, ToolRunner
from tools.contract import ToolInputError, ToolRegistry


def registry_runner(registry: ToolRegistry, office: Any) -> ToolRunner:
    """A runner that calls ``registry[tool]`` with the injected back office."""

    def run(tool: str, arguments: dict[str, Any], idempotency_key: str | None) -> ToolOutcome:
        spec = registry.get(tool)
        if spec is None:
            raise ToolRefused(f"unknown tool {tool!r}")
        try:
            value = spec.call(office, arguments, idempotency_key=idempotency_key)
        except ToolInputError as exc:
            raise ToolRefused(exc.message) from exc
        # Results are stored and sent as JSON: make sure they are (dates, decimals become strings).
        return ToolOutcome(json.loads(json.dumps(value, default=str)))

    return run


def with_external(runner: ToolRunner, external: ExternalTools, registry: ToolRegistry) -> ToolRunner:
    """Run registry tools with ``runner`` and every other tool the external catalogue owns through it."""

    def run(tool: str, arguments: dict[str, Any], idempotency_key: str | None) -> ToolOutcome:
        if tool in registry:
            return runner(tool, arguments, idempotency_key)
        return external.run(tool, arguments, idempotency_key)  # refuses tools it does not list now

    return run
