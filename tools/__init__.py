"""Business tools: plain typed functions plus metadata (see tools/contract.py)."""
