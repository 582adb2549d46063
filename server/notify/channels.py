"""What a channel is given to send, and how it says it could not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class DeliveryFailed(Exception):
    """The destination did not take the message; the worker retries with backoff."""


@dataclass(frozen=True)
class Message:
    """One event as every channel sees it. ``packet_url`` opens the call after sign-in; it decides nothing."""

    event_id: str
    event_type: str
    created_at: datetime
    payload: dict[str, Any]
    packet_url: str | None

    @property
    def queue(self) -> str:
        """The queue the call is in once this event happened: an escalation to a queue moves it there."""
        escalation = self.payload.get("escalation") or {}
        if escalation.get("kind") == "queue" and escalation.get("to"):
            return str(escalation["to"])
        return str((self.payload.get("call") or {}).get("queue", ""))

    @property
    def moved_from(self) -> str | None:
        """The queue this event moved the call out of, if it did."""
        escalation = self.payload.get("escalation") or {}
        moved = escalation.get("kind") == "queue" and escalation.get("to") not in (None, escalation.get("from_queue"))
        return str(escalation.get("from_queue")) if moved else None

    @property
    def queue_label(self) -> str:
        """The queue as a person reads it: ``finance → finance-senior`` when this event moved the call."""
        return f"{self.moved_from} → {self.queue}" if self.moved_from else self.queue

    def as_json(self) -> dict[str, Any]:
        """The webhook body and the event reference in the README."""
        return {
            "id": self.event_id,
            "type": self.event_type,
            "created_at": self.created_at.isoformat(),
            "data": {**self.payload, "url": self.packet_url},
        }


class Channel(Protocol):
    def send(self, message: Message, target: str) -> str | None:
        """Deliver ``message`` to ``target`` or raise DeliveryFailed; what the destination calls it, if anything."""
        ...


class Unconfigured:
    """A channel whose settings are missing: every delivery fails with the setting to add."""

    def __init__(self, missing: str) -> None:
        self.missing = missing

    def send(self, message: Message, target: str) -> str | None:
        raise DeliveryFailed(f"{self.missing} is not set")
