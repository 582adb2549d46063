"""Guarding upstream MCP servers: configuration, sessions, pinning, and their tools as the gateway sees them.

config.py (countersign.yaml) -> hub.py (one session per upstream, connection.py) -> pins.py (rug-pull
protection) -> tools.py (the gateway's ``ExternalTools``: policy declarations, calls, previews).
"""

# The key under which an upstream's whole CallToolResult is stored, to be passed back to the agent unchanged.
UPSTREAM_RESULT = "countersign/upstream_result"
