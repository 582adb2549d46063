"""The one-line hooks the gateway, the review service and the executor carry: spans, metrics, log context.

Decorators, so that the lifecycle code stays as it reads: ``@decides`` on the review service's approve and
reject, ``@executes`` on the executor's run, ``@marks_unknown`` on the executor's unknown-outcome step.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from server.lifecycle.states import CallStatus
from server.observability import metrics, tracing
from server.store.models import ToolCall

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def classified(tool: str, verdict: str, *, known: bool) -> None:
    """A call got its verdict."""
    metrics.call_classified(tool, verdict, known=known)


def ran_allowed(row: Any) -> None:
    """An allowed call ran at once (``row`` is its journal row): its id on the trace, its outcome counted."""
    tracing.call_identified(row["id"])
    metrics.executed("allowed", "tool_error" if row.get("is_error") else "succeeded")


def decides(method: Callable[Concatenate[S, str, P], R]) -> Callable[Concatenate[S, str, P], R]:
    """Wrap a decision (``self, call_id, ...``) in the ``decide`` span; count a final decision's time."""

    @functools.wraps(method)
    def wrapper(self: S, call_id: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with tracing.decision(call_id, **{"countersign.decision": method.__name__}):
            result = method(self, call_id, *args, **kwargs)
            call = getattr(result, "call", result)
            logger.info("%s: the call is now %s", method.__name__, getattr(call, "status", "?"))
        if isinstance(call, ToolCall) and call.status != CallStatus.HELD:
            metrics.decided(
                "rejected" if call.status == CallStatus.REJECTED else "approved", call.created_at, call.decided_at
            )
        return result

    return wrapper


def executes(method: Callable[Concatenate[S, Any, P], ToolCall]) -> Callable[Concatenate[S, Any, P], ToolCall]:
    """Wrap an approved call's run (``self, claim, ...``) in the ``execute`` span; count its outcome."""

    @functools.wraps(method)
    def wrapper(self: S, claim: Any, /, *args: P.args, **kwargs: P.kwargs) -> ToolCall:
        with tracing.step("execute", claim.call_id, **{"gen_ai.tool.name": claim.tool}):
            call = method(self, claim, *args, **kwargs)
            logger.info("executed %s: %s", claim.tool, _outcome(call))
        metrics.executed("approved", _outcome(call))
        return call

    return wrapper


def marks_unknown(
    method: Callable[Concatenate[S, str, P], ToolCall | None],
) -> Callable[Concatenate[S, str, P], ToolCall | None]:
    """Count the calls a recovery marks ``unknown_outcome``."""

    @functools.wraps(method)
    def wrapper(self: S, call_id: str, /, *args: P.args, **kwargs: P.kwargs) -> ToolCall | None:
        call = method(self, call_id, *args, **kwargs)
        if call is not None:
            metrics.executed("approved", CallStatus.UNKNOWN_OUTCOME.value)
        return call

    return wrapper


def _outcome(call: ToolCall) -> str:
    if call.status == CallStatus.SUCCEEDED and call.is_error:
        return "tool_error"
    return str(call.status)
