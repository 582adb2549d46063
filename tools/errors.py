"""The one error a tool raises for arguments it will not act on (kept apart so money.py and contract.py share it)."""

from __future__ import annotations


class ToolInputError(ValueError):
    """The arguments are well-formed but not acceptable (unknown order, bad IBAN...). Nothing happened."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
