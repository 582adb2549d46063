"""Operations endpoints: `/livez`, `/readyz` and `/metrics`. The checks live in server/ (health.py, observability/)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from server.health import readiness
from server.observability import metrics
from server.runtime import Runtime
from web.mcp_http import bearer_token


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
router = APIRouter(tags=["health"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """200 while the process serves requests. Touches nothing else: a slow database must not restart us."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready; `reasons` says why"}})
async def readyz(runtime: RuntimeDep) -> Any:
    """200 when the database takes a write within the deadline, the schema is current, a policy is loaded,
    required upstreams are connected and the journal writes; 503 with the reasons otherwise."""
    result = await anyio.to_thread.run_sync(readiness, runtime)
    return JSONResponse(result.as_body(), status_code=200 if result.ready else 503)


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics, only with ``COUNTERSIGN_METRICS_TOKEN`` as bearer token (404 when no token is set)."""
    expected = runtime.settings.metrics_token
    if not expected:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    given = bearer_token(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return JSONResponse({"detail": "a valid metrics token is required"}, status_code=401)
    body = await anyio.to_thread.run_sync(metrics.exposition, runtime)
    return Response(body, media_type=metrics.CONTENT_TYPE)
