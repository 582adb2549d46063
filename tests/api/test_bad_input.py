"""Hostile strings on every JSON API and admin API route answer 4xx with a message, never a 5xx.

The routes and their parameters are read from the app's own OpenAPI schema, so a route added later is
fuzzed too. Each string goes into every path parameter, query parameter and string field of the body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx2
from fastapi import FastAPI

from server.runtime import Runtime
from tests.api.conftest import Tokens, auth, held
from tests.mcp.support import BASE_URL

HOSTILE = [
    "\u001d",  # only a control character: blank to Python's strip, not to the schema's pattern
    "\x00",
    "name\x00.yaml",
    "x" * 900,
    " ",
    "",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "../../../../etc/passwd",
    "\u200b",
    "NaN",
]


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        target: dict[str, Any] = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return target
    return schema


def _value(schema: dict[str, Any], spec: dict[str, Any], hostile: str) -> Any:
    """A value of the schema's shape carrying ``hostile`` wherever a string may go."""
    schema = _resolve(schema, spec)
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            return _value(schema[key][0], spec, hostile)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: _value(sub, spec, hostile) for name, sub in schema.get("properties", {}).items()} or {
            hostile: hostile
        }
    if kind == "array":
        return [_value(schema.get("items", {}), spec, hostile)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return 1
    return hostile


def _requests(spec: dict[str, Any], hostile: str, call_id: str) -> list[tuple[str, str, bytes | None]]:
    found = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api"):
            continue
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            for target in ["path", "query", "body"]:
                url = path
                for param in params:
                    if param["in"] == "path":
                        value = hostile if target == "path" else call_id
                        url = url.replace("{" + param["name"] + "}", quote(value, safe="", errors="surrogatepass"))
                query = [
                    f"{p['name']}={quote(hostile, safe='', errors='surrogatepass')}"
                    for p in params
                    if p["in"] == "query" and target == "query"
                ]
                if query:
                    url += "?" + "&".join(query)
                body = None
                content = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if content is not None:
                    value = _value(content["schema"], spec, hostile if target == "body" else "ok")
                    body = json.dumps(value).encode()
                found.append((method.upper(), url, body))
    return found


async def test_hostile_strings_on_every_api_route_get_a_4xx_with_a_message_never_a_5xx(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call_id = held(runtime).id
    spec = app.openapi()
    failures = []
    tried = 0
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers=auth(tokens.ada)) as client,
    ):
        for hostile in HOSTILE:
            for method, url, body in _requests(spec, hostile, call_id):
                headers = {"Content-Type": "application/json"} if body is not None else {}
                response = await client.request(method, url, content=body, headers=headers)
                tried += 1
                if response.status_code >= 500:
                    failures.append((method, url[:80], repr(hostile)[:20], response.status_code))
                elif response.status_code >= 400:
                    assert response.json()["detail"], (method, url)
    assert tried > 50
    assert failures == [], "\n".join(map(str, failures))


async def test_the_docs_page_lists_every_api_route_without_loading_anything_from_elsewhere(
    app: FastAPI, runtime: Runtime
) -> None:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL) as client:
        page = await client.get("/docs")
        schema = (await client.get("/openapi.json")).json()
    assert page.status_code == 200
    for path in schema["paths"]:
        assert f"<code>{path}</code>" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert "nonce-" in page.headers["content-security-policy"]
