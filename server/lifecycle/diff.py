"""A reviewer's edit, as a list of changed fields (dotted paths into nested objects)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def argument_diff(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after)):
        path = f"{prefix}{key}"
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(argument_diff(old, new, prefix=f"{path}."))
        elif old != new or type(old) is not type(new):
            change: dict[str, Any] = {"field": path}
            if old is not _MISSING:
                change["before"] = old
            if new is not _MISSING:
                change["after"] = new
            changes.append(change)
    return changes


def describe_diff(changes: list[dict[str, Any]]) -> str:
    """One line a model or a person can read: "amount: 940.0 -> 500.0; reason: added"."""
    parts = []
    for change in changes:
        if "before" not in change:
            parts.append(f"{change['field']}: added {change['after']!r}")
        elif "after" not in change:
            parts.append(f"{change['field']}: removed")
        else:
            parts.append(f"{change['field']}: {change['before']!r} -> {change['after']!r}")
    return "; ".join(parts)
