"""Why a lifecycle operation was refused. Each maps to one HTTP status in the API.

::

    LifecycleError
    ├── CallNotFound     404  no such call (or not yours)
    ├── Conflict         409  already decided, expired, or someone else won the race
    ├── Forbidden        403  self-approval, wrong role or queue, agent credentials
    ├── InvalidDecision  422  a reject without a reason, an edit that does not validate or is blocked
    └── AfterCommit      503  the database failed after a commit: says what is stored (call_id, committed)
"""

from __future__ import annotations


class LifecycleError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CallNotFound(LifecycleError):
    status_code = 404


class Conflict(LifecycleError):
    status_code = 409


class Forbidden(LifecycleError):
    status_code = 403


class InvalidDecision(LifecycleError):
    status_code = 422


class AfterCommit(LifecycleError):
    """The database failed after part of the work was committed. The message says what was committed
    (``committed``: ``held``, ``decision_stored`` or ``executing``); it never says "nothing was changed"."""

    status_code = 503

    def __init__(self, message: str, *, call_id: str, committed: str) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.committed = committed
