"""The admins' side: tool risk levels, the policy (dry-run, replay), the audit trail and insights.

    app.include_router(web.admin.router)      # needs web.pages.install(app, runtime) for sessions

Every route is for admins only: pages redirect anonymous visitors to sign-in and answer reviewers
with 403; form posts need a live session and pass the CSRF checks (web/csrf.py); the JSON API
answers 401 without a person's credentials and 403 to agents and reviewers. See web/admin/deps.py.

Pages::

    GET  /admin                        -> /admin/tools
    GET  /admin/tools                  every tool: policy default, override, calls in 7/30 days; kill switch
    GET  /admin/tools/{name}           one tool: change its level (reason required) and its history
    POST /admin/tools/{name}/level     set risk and action (audited; governs the next call everywhere)
    POST /admin/tools/{name}/clear     remove the override
    POST /admin/kill-switch            block every act tool at once, or undo it
    GET  /admin/policy                 the loaded policy, its version and load error; dry-run and replay forms
    POST /admin/policy/dry-run         the verdict one call would get now
    GET  /admin/policy/replay          the stored history classified with a candidate policy
    GET  /admin/audit                  search the audit trail (call, tool, actor, type, dates)
    GET  /admin/audit/verify           verify the hash chain (same answer as `countersign audit verify`)
    GET  /admin/audit/export.csv       the whole trail, streamed
    GET  /admin/audit/export.jsonl     the whole trail, streamed, verifiable offline
    GET  /admin/insights               exceptions, automation candidates, ROI for a period
    POST /admin/insights/roi           the minutes used by the ROI figures
    GET  /admin/notifications          notification deliveries (pending, sent, dead)
    POST /admin/notifications/{id}/retry  send a failed or dead delivery again (audited)
    GET  /admin/upstreams              upstream tools' pins; changed definitions with their diff
    POST /admin/upstreams/accept       accept a changed upstream definition (audited, as `upstream accept`)

JSON API (``/api/admin``): GET tools, PUT tools/{name}/level, PUT kill-switch, POST dry-run,
GET insights, GET audit/verify.
"""

from fastapi import APIRouter

from web.admin import api, audit, insights, notify, policy, tools, upstreams

# Each family's own router, for whoever needs the flat list of admin routes (the access tests do).
ROUTERS = (
    tools.router,
    policy.router,
    audit.router,
    insights.router,
    notify.router,
    upstreams.router,
    api.router,
)

router = APIRouter()
for _family in ROUTERS:
    router.include_router(_family)

__all__ = ["ROUTERS", "router"]
