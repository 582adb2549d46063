"""Prepare tools: do the reading, sorting, drafting and checking a person would do before acting."""

from __future__ import annotations

from tools.contract import ToolRegistry
from tools.prepare import classify, documents, drafting, exceptions, packet

registry = ToolRegistry()
registry.extend(documents.registry)  # gather_documents, summarize_record
registry.extend(classify.registry)
registry.extend(drafting.registry)
registry.extend(exceptions.registry)
registry.extend(packet.registry)

__all__ = ["registry"]
