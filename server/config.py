"""Settings, read from the environment with the ``COUNTERSIGN_`` prefix.

No module-level instance: the CLI builds one, tests build their own.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that must never protect a real deployment.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "development-only-secret"})
DEVELOPMENT_SECRET = "development-only-secret"  # noqa: S105 - refused outside development, see below


class Settings(BaseSettings):
    """Everything an operator can set. Each field maps to ``COUNTERSIGN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="COUNTERSIGN_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./countersign.db"
    # The built-in tools' back office (their system of record). Unset: tables in the gateway's own
    # database (the demo). Set: a database of its own, as a team's real systems have.
    backoffice_url: str | None = Field(default=None, repr=False)
    policies: Path = Field(default=Path("policies"), description="Directory of policy YAML files.")
    # Where candidate policies for replay live (each a directory); nothing outside it is read.
    # Default: policy-candidates/ next to the live policy directory.
    policy_replay_root: Path | None = None
    secret_key: str = DEVELOPMENT_SECRET
    base_url: str = "http://127.0.0.1:8765"
    # Extra host names the HTTP surface answers to (besides the base URL's host), for DNS-rebinding protection.
    allowed_hosts: list[str] = Field(default_factory=list)
    inline_wait_seconds: float = Field(default=40.0, ge=0, le=55)
    progress_interval_seconds: float = Field(default=5.0, gt=0)
    # Agents' calls doing their work in worker threads at once (server/mcp/admission.py); the rest wait
    # their turn, never longer than 20 ms behind a slow one. Unset: 2 on SQLite, 40 on PostgreSQL.
    call_slots: int | None = Field(default=None, ge=1, le=1000)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges); none by default.
    trusted_proxies: list[str] = Field(default_factory=list)
    # How long a request's body may take to arrive; a slower one gets 408 and its connection is closed.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    expiry_sweep_seconds: float = Field(default=5.0, gt=0)
    # Many instances (server/store/notify_pg.py): how often a waiting agent's call is read when nothing
    # wakes it (the safety net), whether PostgreSQL LISTEN/NOTIFY carries decisions between instances,
    # and the first pause before a dropped listener connection is reopened (doubling up to 30 s).
    wait_poll_seconds: float = Field(default=0.5, gt=0, le=300)
    pg_listen: bool = True
    listen_retry_seconds: float = Field(default=1.0, gt=0, le=300)
    # Where allowed calls' records are written: a writer process (keeps the work off the request threads)
    # or a thread of the server process. An in-memory SQLite database always uses the thread.
    journal_writer: Literal["process", "thread"] = "process"
    # Executions (server/lifecycle/lease.py): a claim holds a call for the lease, renewed by a heartbeat
    # while the tool runs; another instance takes an expired lease over after the grace.
    execution_lease_seconds: float = Field(default=15.0, gt=0)
    execution_heartbeat_seconds: float = Field(default=5.0, gt=0)
    execution_grace_seconds: float = Field(default=5.0, ge=0)
    # This instance's name, unique among live processes sharing the database: a restart under the same
    # name reclaims the claims its predecessor left at once. Unset: `serve` and `demo` use "<host>:<port>",
    # other commands a random name per process (the lease frees their claims).
    instance_id: str | None = Field(default=None, min_length=1, max_length=200)
    admin_password: str | None = None
    # Third-party tool registries, "module:attribute,..." (besides the `countersign.tools` entry points).
    tools: str = ""
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    # Single sign-on (OpenID Connect, web/oidc.py): on when the issuer and client id are set.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_scopes: str = "openid email profile groups"
    # The YAML file mapping claims and groups to role and queues (server/sso.py); read at every sign-in,
    # and applied again at each request of a single-sign-on session when the file changed.
    oidc_mapping: Path | None = None
    # A single-sign-on session goes back through the identity provider this often (silently while the
    # provider's own session lasts), so group membership at the provider is read again.
    oidc_recheck_minutes: int = Field(default=5, ge=1, le=24 * 60)
    # Local passwords (small teams); switch off once everyone signs in through single sign-on.
    local_passwords: bool = True
    # Notifications (server/notify/). Secrets are kept out of reprs and logs.
    smtp_url: str | None = Field(default=None, repr=False, description="smtp://user:pass@host:587?starttls=true")
    smtp_from: str = "countersign@localhost"
    slack_bot_token: str | None = Field(default=None, repr=False)
    slack_signing_secret: str | None = Field(default=None, repr=False)
    slack_base_url: str = "https://slack.com/api/"
    # Only response URLs under this prefix are answered (Slack's own), so a request cannot aim us elsewhere.
    slack_response_url_prefix: str = "https://hooks.slack.com/"
    webhook_secret: str | None = Field(default=None, repr=False)
    notify_poll_seconds: float = Field(default=2.0, gt=0)
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    notify_backoff_seconds: float = Field(default=10.0, gt=0)
    notify_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # The hour (UTC, 0-23) from which the day's e-mail digests are sent (server/notify/digest.py).
    digest_hour: int = Field(default=8, ge=0, le=23)
    # Operations (server/health.py, server/observability/): probes, metrics, logs.
    # A write must commit within this many seconds for /readyz and /healthz to answer 200.
    health_write_deadline_seconds: float = Field(default=1.0, gt=0, le=30)
    # /metrics: served only with this bearer token (when set), or only on its own port (when set), or both.
    metrics_token: str | None = Field(default=None, repr=False)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = Field(default="127.0.0.1", min_length=1)  # "" would listen on every interface
    # "text" (human-readable lines) or "json" (one JSON object per line, call_id on lines about a call).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            return "WARNING" if value == "WARN" else value
        return value

    @field_validator("base_url", "slack_base_url", "slack_response_url_prefix")
    @classmethod
    def _web_address(cls, value: str) -> str:
        # Review links, host checks and Slack calls are built from these: a typo must stop the start.
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value[:80]!r} is not an http:// or https:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_shape(cls, value: str | None) -> str | None:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("COUNTERSIGN_SMTP_URL must look like smtp://user:pass@host:587?starttls=true")
        return value or None

    def secret_values(self) -> list[str]:
        """Every configured secret, so that logs can redact them wherever they appear."""
        values = [self.secret_key, self.smtp_url, self.slack_bot_token, self.slack_signing_secret]
        values += [self.webhook_secret, self.metrics_token, self.admin_password, self.oidc_client_secret]
        values += [_password_in(self.database_url), _password_in(self.backoffice_url)]
        return [value for value in values if value]

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @model_validator(mode="after")
    def _oidc_complete(self) -> Self:
        if bool(self.oidc_issuer) != bool(self.oidc_client_id):
            raise ValueError("single sign-on needs both COUNTERSIGN_OIDC_ISSUER and COUNTERSIGN_OIDC_CLIENT_ID")
        if self.oidc_issuer:
            parts = urlsplit(self.oidc_issuer)
            loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
            if not (parts.scheme == "https" or loopback) or not parts.hostname:
                raise ValueError("COUNTERSIGN_OIDC_ISSUER must be an https:// URL")
        if not self.oidc_enabled:
            # Only read with single sign-on on: set alone, they would be silently ignored.
            given = (("MAPPING", self.oidc_mapping), ("CLIENT_SECRET", self.oidc_client_secret))
            stray = [name for name, value in given if value]
            if stray:
                raise ValueError(
                    f"COUNTERSIGN_OIDC_{stray[0]} is set but single sign-on is off "
                    "(set COUNTERSIGN_OIDC_ISSUER and COUNTERSIGN_OIDC_CLIENT_ID too)"
                )
        if not self.local_passwords and not self.oidc_enabled:
            raise ValueError("COUNTERSIGN_LOCAL_PASSWORDS=false needs single sign-on (COUNTERSIGN_OIDC_ISSUER)")
        return self

    @property
    def replay_root(self) -> Path:
        return self.policy_replay_root or self.policies.parent / "policy-candidates"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"COUNTERSIGN_TRUSTED_PROXIES: {proxy!r} is not an IP address or CIDR range") from exc
        return proxies

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Self:
        if self.execution_heartbeat_seconds >= self.execution_lease_seconds:
            raise ValueError("COUNTERSIGN_EXECUTION_HEARTBEAT_SECONDS must be shorter than the execution lease")
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Self:
        if self.environment != "development" and self.secret_key in PLACEHOLDER_SECRETS:
            raise ValueError(
                "COUNTERSIGN_SECRET_KEY is a placeholder; set a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if self.environment != "development" and len(self.secret_key) < 32:
            raise ValueError("COUNTERSIGN_SECRET_KEY must be at least 32 characters outside development")
        return self


def _password_in(url: str | None) -> str | None:
    """The password of a database URL (``postgresql://user:PASSWORD@host/db``), if it has one."""
    if not url:
        return None
    try:
        return sa.engine.make_url(url).password
    except (sa.exc.ArgumentError, ValueError):
        return None  # refused elsewhere, with its own message
