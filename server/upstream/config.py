"""The upstream MCP servers Countersign guards, read from ``COUNTERSIGN_CONFIG`` (``countersign.yaml``).

```yaml
upstreams:
  files:                                   # listed to agents as files__read_text_file, ...
    command: [npx, -y, "@modelcontextprotocol/server-filesystem", /srv/shared]
    env: {LOG_LEVEL: info}
    cwd: /srv
  billing:
    url: https://billing.internal/mcp
    headers: {Authorization: "Bearer ${BILLING_TOKEN}"}   # secrets only from the environment
    call_timeout: 30s
    required: true                         # `upstream check` fails when it is down
```

A missing file means no upstreams. Every problem is reported as ``file:line: message``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from server.policy.model import parse_duration
from server.policy.yamlsource import YamlProblem, read_yaml

DEFAULT_PATH = Path("countersign.yaml")
# ${NAME}: an environment variable; $${ escapes a literal "${".
_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# No "__" inside: it separates the upstream from the tool in listed names (see names.py).
UpstreamName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$", min_length=1, max_length=32)
]
Seconds = Annotated[float, BeforeValidator(lambda v: v if isinstance(v, float) else parse_duration(v))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Common(_Strict):
    # Bounds for everything we wait on: connecting (including the handshake) and each call.
    connect_timeout: Seconds = Field(default=20.0, gt=0, le=600)
    call_timeout: Seconds = Field(default=60.0, gt=0, le=3600)
    list_timeout: Seconds = Field(default=20.0, gt=0, le=600)
    # A required upstream that is down fails `countersign upstream check`; optional ones only warn.
    required: bool = False


class StdioUpstream(_Common):
    kind: Literal["stdio"] = "stdio"
    command: Annotated[tuple[str, ...], Field(min_length=1)]
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None


class HttpUpstream(_Common):
    kind: Literal["http"] = "http"
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    headers: dict[str, str] = Field(default_factory=dict)


class _File(_Strict):
    upstreams: dict[UpstreamName, Annotated[StdioUpstream | HttpUpstream, Field(discriminator="kind")]] = Field(
        default_factory=dict
    )


Upstream = StdioUpstream | HttpUpstream
# pydantic's words for the mistakes people make in this file, said as the file's own terms.
_MESSAGES = {
    "extra_forbidden": "unknown key",
    "tuple_type": "a list: [program, arg...]",
    "string_pattern_mismatch": "an http:// or https:// URL",
}


@dataclass(frozen=True)
class UpstreamsConfig:
    path: Path | None
    upstreams: dict[str, Upstream]


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line per problem, ``file:line: what``."""


def config_path() -> Path:
    return Path(os.environ.get("COUNTERSIGN_CONFIG") or DEFAULT_PATH)


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> UpstreamsConfig:
    """Read and validate the configuration; an absent file means no upstreams.

    Raises:
        ConfigError: unreadable, not YAML, invalid, or naming an environment variable that is not set.
    """
    named = path is not None or bool(os.environ.get("COUNTERSIGN_CONFIG"))
    path = path or config_path()
    if not path.exists():
        if named:  # only the default file may be absent; a named one that is missing is a typo
            raise ConfigError(f"{path}: the configuration file does not exist")
        return UpstreamsConfig(None, {})
    try:
        doc = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except YamlProblem as exc:
        line = f":{exc.position.line}" if exc.position else ""
        raise ConfigError(f"{path}{line}: {exc.message}") from exc
    data = doc.data if doc.data is not None else {}
    problems: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("upstreams"), dict):
        data = {**data, "upstreams": _kinds(data["upstreams"])}
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if p not in ("stdio", "http", "[key]"))
            position = doc.position(loc)
            where = f"{path}:{position.line}" if position else str(path)
            dotted = ".".join(str(p) for p in loc)
            message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
            if loc[-1:] == ("command",) and error["type"] == "missing":
                message = "an upstream needs `command` (stdio) or `url` (streamable HTTP)"
            if loc[-1:] == ("url",) and error["type"] == "extra_forbidden":
                message = "an upstream has either `command` (stdio) or `url` (streamable HTTP), not both"
            if not loc:
                dotted, message = "upstreams", "the file is a mapping with `upstreams:` at the top"
            if "[key]" in error["loc"]:
                message = "an upstream name is letters and digits with single - or _ between (`__` separates tools)"
            problems.append(f"{where}: {dotted}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(problems))) from exc
    env = os.environ if environ is None else environ
    upstreams: dict[str, Upstream] = {}
    for name, upstream in parsed.upstreams.items():
        try:
            upstreams[name] = _expand(upstream, env)
        except KeyError as exc:
            position = doc.position(("upstreams", name))
            where = f"{path}:{position.line}" if position else str(path)
            problems.append(f"{where}: upstreams.{name}: environment variable {exc.args[0]} is not set")
    if problems:
        raise ConfigError("\n".join(problems))
    return UpstreamsConfig(path, upstreams)


def _kinds(upstreams: dict[str, Any]) -> dict[str, Any]:
    """Tag each entry as stdio or http by its keys, so pydantic reports the errors of the right kind."""
    tagged: dict[str, Any] = {}
    for name, entry in upstreams.items():
        if isinstance(entry, dict) and "kind" not in entry:
            entry = {**entry, "kind": "http" if "url" in entry and "command" not in entry else "stdio"}
        tagged[name] = entry
    return tagged


def _expand(upstream: Upstream, env: Any) -> Upstream:
    """Replace ``${NAME}`` in commands, env, cwd, url and headers with the environment's values."""
    if isinstance(upstream, StdioUpstream):
        return upstream.model_copy(
            update={
                "command": tuple(_substitute(part, env) for part in upstream.command),
                "env": {key: _substitute(value, env) for key, value in upstream.env.items()},
                "cwd": _substitute(upstream.cwd, env) if upstream.cwd is not None else None,
            }
        )
    return upstream.model_copy(
        update={
            "url": _substitute(upstream.url, env),
            "headers": {key: _substitute(value, env) for key, value in upstream.headers.items()},
        }
    )


def _substitute(text: str, env: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "${"
        name = match.group(1)
        if name not in env:
            raise KeyError(name)
        return str(env[name])

    return _REFERENCE.sub(replace, text)
