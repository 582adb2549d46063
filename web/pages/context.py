"""What the review pages need from the running app, built once by :func:`web.pages.install`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from starlette.templating import Jinja2Templates

from server.config import Settings
from server.gateway import Gateway
from server.people import People
from web.auth import Sessions, Throttle, session_cookie_name
from web.client_address import Network, networks
from web.csrf import origin_of
from web.oidc import OidcClient
from web.pages.live import LiveFeed


@dataclass
class PagesContext:
    gateway: Gateway
    people: People
    settings: Settings
    # The back office the tools read for reviewer previews (None: previews are not shown).
    office: Any
    sessions: Sessions
    throttle: Throttle
    templates: Jinja2Templates
    live: LiveFeed
    # Single sign-on, when configured (web/oidc.py).
    oidc: OidcClient | None = None

    @property
    def trusted_origins(self) -> frozenset[str]:
        """Origins besides the request's own Host that may post forms: the configured base URL."""
        return frozenset({origin_of(self.settings.base_url)})

    @cached_property
    def proxies(self) -> list[Network]:
        """The reverse proxies whose X-Forwarded-For is believed (``trusted_proxies``)."""
        return networks(self.settings.trusted_proxies)

    def secure_cookies(self, scheme: str) -> bool:
        return scheme == "https" or self.settings.base_url.startswith("https://")

    def session_cookie(self, scheme: str) -> str:
        """The session cookie's name: ``__Host-`` prefixed over https."""
        return session_cookie_name(self.secure_cookies(scheme))
