"""The life of a call: records, decisions, execute-once and waiting (see states.py for the states)."""

from server.lifecycle.actors import Person
from server.lifecycle.errors import CallNotFound, Conflict, Forbidden, InvalidDecision, LifecycleError
from server.lifecycle.states import TERMINAL, WAITING, CallStatus

__all__ = [
    "TERMINAL",
    "WAITING",
    "CallNotFound",
    "CallStatus",
    "Conflict",
    "Forbidden",
    "InvalidDecision",
    "LifecycleError",
    "Person",
]
