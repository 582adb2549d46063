"""Countersign: the core of the gateway (policy, store, lifecycle) and its MCP surface."""
