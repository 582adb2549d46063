"""``/docs``: the JSON API's routes, read from the app's own OpenAPI schema (``/openapi.json``).

Server-rendered, so it works offline and under the pages' CSP (FastAPI's Swagger UI loads scripts
from a CDN, which neither allows). Anyone may read it: it lists routes, not data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.pages.deps import Pages, render

router = APIRouter()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    parameters: list[str]
    body: str
    answers: list[str]


def operations(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            body = content.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] if content else ""
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=operation.get("summary", ""),
                    parameters=[f"{p['name']} ({p['in']})" for p in operation.get("parameters", [])],
                    body=body or ("JSON" if content else ""),
                    answers=sorted(operation.get("responses", {})),
                )
            )
    return found


@router.get("/docs")
def api_docs(request: Request, pages: Pages) -> Response:
    schema = request.app.openapi()
    return render(pages, request, "api_docs.html", {"operations": operations(schema), "info": schema["info"]})
