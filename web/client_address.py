"""The address a request comes from: the TCP peer, or what a configured proxy says it forwarded.

``X-Forwarded-For`` is believed only when the peer is one of ``trusted_proxies`` (a setting, empty by
default): anyone else could write any address there and dodge per-address throttling. Uvicorn's own
proxy-header handling (which trusts loopback by default) is switched off in ``countersign serve``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(proxies: Iterable[str]) -> list[Network]:
    """Parse ``COUNTERSIGN_TRUSTED_PROXIES`` entries: addresses or CIDR ranges."""
    return [ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip()]


def _within(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The peer, or, behind trusted proxies, the rightmost forwarded address not itself a trusted proxy."""
    address = peer or "unknown"
    if not forwarded_for or not _within(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = hop
        if not _within(hop, trusted):
            break
    return address[:100]
