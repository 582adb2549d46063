"""OpenID Connect relying party: the authorization code flow with PKCE, for people signing in.

    client = OidcClient(issuer, client_id, client_secret, redirect_uri)
    url, pending = await client.begin("/queue")          # send the browser to url; keep pending in a cookie
    claims = await client.finish(pending, state=..., code=...)   # on the callback

- The provider is found by discovery (``<issuer>/.well-known/openid-configuration``); the document's
  ``issuer`` must be exactly the configured one. Its keys (``jwks_uri``) are fetched when first needed
  and again when a token names a key we do not have (key rotation).
- ``begin`` makes a fresh ``state`` (binds the callback to this browser), ``nonce`` (binds the ID token
  to this sign-in) and PKCE verifier (S256, authlib); all three stay in the browser's short-lived
  cookie and never in the URL except as the challenge.
- ``finish`` refuses a ``state`` that is not this browser's, exchanges the code (client secret by HTTP
  Basic when there is one), then accepts the ID token only if its signature verifies with the provider's
  keys (asymmetric algorithms only), and ``iss``, ``aud`` (and ``azp`` with several audiences), ``exp``,
  ``iat``, ``sub`` and ``nonce`` check out, with a minute of clock leeway.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx2
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# Asymmetric only: a symmetric algorithm would let anyone holding the client secret mint ID tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY_SECONDS = 60


class OidcError(Exception):
    """A sign-in through the identity provider failed; the message is safe to show the person."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class PendingSignIn:
    """What the browser keeps between leaving for the provider and coming back (an HttpOnly cookie)."""

    state: str
    nonce: str
    verifier: str
    next: str

    def to_cookie(self) -> str:
        return base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()

    @classmethod
    def from_cookie(cls, value: str | None) -> PendingSignIn | None:
        if not value or len(value) > 4000:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(value.encode()))
            return cls(state=data["state"], nonce=data["nonce"], verifier=data["verifier"], next=data["next"])
        except (ValueError, KeyError, TypeError):
            return None


class OidcClient:
    """One identity provider and this app registered as one client of it."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        *,
        scopes: str = "openid email profile",
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = scopes if "openid" in scopes.split() else f"openid {scopes}"
        self.timeout = timeout
        self._provider: Provider | None = None
        self._keys: KeySet | None = None

    async def provider(self) -> Provider:
        """The provider's endpoints, by discovery (cached once it succeeded)."""
        if self._provider is None:
            document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcError("the identity provider's discovery document names another issuer")
            try:
                self._provider = Provider(
                    issuer=str(document["issuer"]),
                    authorization_endpoint=str(document["authorization_endpoint"]),
                    token_endpoint=str(document["token_endpoint"]),
                    jwks_uri=str(document["jwks_uri"]),
                )
            except KeyError as exc:
                raise OidcError(f"the identity provider's discovery document has no {exc.args[0]}") from exc
        return self._provider

    async def begin(self, next_path: str) -> tuple[str, PendingSignIn]:
        """The provider's authorization URL for a new sign-in, and what the browser must keep."""
        provider = await self.provider()
        pending = PendingSignIn(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=generate_token(64),
            next=next_path,
        )
        url = add_params_to_uri(
            provider.authorization_endpoint,
            [
                ("response_type", "code"),
                ("client_id", self.client_id),
                ("redirect_uri", self.redirect_uri),
                ("scope", self.scopes),
                ("state", pending.state),
                ("nonce", pending.nonce),
                ("code_challenge", create_s256_code_challenge(pending.verifier)),
                ("code_challenge_method", "S256"),
            ],
        )
        return url, pending

    async def finish(self, pending: PendingSignIn, *, state: str, code: str, iss: str | None = None) -> dict[str, Any]:
        """The verified ID token claims for the callback's ``code``.

        ``iss`` is the callback's issuer parameter (RFC 9207), checked when the provider sends one.

        Raises:
            OidcError: a state that is not this browser's, an answer from another issuer, a failed
                exchange, or an ID token that does not verify (signature, issuer, audience, expiry, nonce).
        """
        if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise OidcError("this sign-in did not start in this browser (state mismatch); please sign in again")
        if iss is not None and iss.rstrip("/") != self.issuer:
            raise OidcError("the answer came from another identity provider (issuer mismatch)")
        if not code:
            raise OidcError("the identity provider sent no authorization code")
        tokens = await self._exchange(code, pending.verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the identity provider sent no ID token")
        return await self.verify_id_token(id_token, nonce=pending.nonce)

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of a verified ID token. Raises OidcError (see :meth:`finish`)."""
        provider = await self.provider()
        keys = await self._key_set(refresh=False)
        try:
            token = self._decode(id_token, keys)
        except (JoseError, ValueError):
            # A key we have not seen may be a rotation: fetch the keys once more, then give up.
            try:
                token = self._decode(id_token, await self._key_set(refresh=True))
            except (JoseError, ValueError) as exc:
                raise OidcError("the ID token's signature does not verify") from exc
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"the ID token was refused ({exc.description or exc.error})") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("the ID token was refused (issued to another party)")
        return claims

    def _decode(self, id_token: str, keys: KeySet) -> jwt.Token:
        return jwt.decode(id_token, keys, algorithms=ALGORITHMS)

    async def _key_set(self, *, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            provider = await self.provider()
            document = await self._get_json(provider.jwks_uri)
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise OidcError("the identity provider's keys could not be read") from exc
        return self._keys

    async def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        provider = await self.provider()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if self.client_secret:
            pair = f"{_form_encode(self.client_id)}:{_form_encode(self.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self.client_id
        try:
            async with httpx2.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(provider.token_endpoint, data=form, headers=headers)
        except httpx2.HTTPError as exc:
            raise OidcError("the identity provider could not be reached") from exc
        if response.status_code != 200:
            raise OidcError(f"the identity provider refused the sign-in (HTTP {response.status_code})")
        return _json_object(response)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise OidcError("the identity provider could not be reached") from exc
        if response.status_code != 200:
            raise OidcError(f"the identity provider answered HTTP {response.status_code}")
        return _json_object(response)


def _form_encode(value: str) -> str:
    # RFC 6749 2.3.1: the client id and secret are form-encoded before HTTP Basic.
    return quote_plus(value)


def _json_object(response: httpx2.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise OidcError("the identity provider's answer is not JSON") from exc
    if not isinstance(data, dict):
        raise OidcError("the identity provider's answer is not a JSON object")
    return data
