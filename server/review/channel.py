"""Where a decision came from: the surface (channel) and the client's address, kept in the audit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    PAGE = "page"
    API = "api"
    CLI = "cli"
    SLACK = "slack"


@dataclass(frozen=True)
class Via:
    channel: Channel
    # The client's address as the surface saw it (None where there is none, e.g. the CLI).
    address: str | None = None

    def as_data(self) -> dict[str, Any]:
        return {"channel": self.channel.value, "address": self.address}
