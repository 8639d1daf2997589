"""Mount the compliance UI on the gateway's app: :func:`install_ui`.

Routes under ``/ui`` (sign-in, reports, dashboard, exports), static files under
``/ui/static`` (from the package: the UI works offline), and for every ``/ui``
response the security headers (:mod:`gateway.web.headers`): a Content-Security-Policy
allowing this origin's scripts and styles only (no inline script or style), no framing,
no referrer, no MIME sniffing, and ``Cache-Control: no-store`` on pages.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from gateway.store import Store
from gateway.tenants import TenantRegistry
from gateway.web import routes_auth, routes_dashboard, routes_reports
from gateway.web.context import CsrfRejected, LoginRequired, WebContext
from gateway.web.headers import UiHeadersMiddleware
from gateway.web.settings import ComplianceSettings

__all__ = ["install_ui"]

STATIC = Path(__file__).resolve().parent / "static"


def install_ui(
    app: FastAPI, store: Store, tenants: TenantRegistry, settings: ComplianceSettings
) -> None:
    web = WebContext.build(store, tenants, settings)
    app.state.web = web
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(routes_auth.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_dashboard.router)

    async def login_required(request: Request, _exc: Exception) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", 303)
        return PlainTextResponse("Sign in first (the session has ended).", 401)

    async def csrf_rejected(_request: Request, _exc: Exception) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Refused</title><p>The form was not sent from this "
            "session's page (missing or wrong CSRF token). Reload the page and try again.",
            403,
        )

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRejected, csrf_rejected)

    app.add_middleware(UiHeadersMiddleware)
