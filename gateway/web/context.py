"""What every UI route shares: the services, the templates, the session dependency,
CSRF checks, cookies and the tenant a user may see.

A ``compliance`` user sees their own tenant only: every query is filtered by it and
another tenant's report answers exactly like a missing one (404). An ``admin`` sees
every tenant (``tenant`` chooses one, empty: all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from starlette.responses import HTMLResponse, Response

from gateway.store import Store
from gateway.store.reviews import Reviews
from gateway.tenants import TenantRegistry
from gateway.web.sessions import COOKIE, LoginThrottle, Session, SessionStore
from gateway.web.settings import ComplianceSettings

__all__ = [
    "CsrfRejected",
    "LoginRequired",
    "SessionDep",
    "WebContext",
    "WebDep",
    "current_session",
    "web_context",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"


class LoginRequired(Exception):
    """No live session: GET pages redirect to the sign-in page, other methods get 401."""


class CsrfRejected(Exception):
    """A POST without the session's CSRF token (403)."""


def _stamp(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


@dataclass
class WebContext:
    store: Store
    tenants: TenantRegistry
    settings: ComplianceSettings
    sessions: SessionStore
    throttle: LoginThrottle
    reviews: Reviews
    env: jinja2.Environment

    @classmethod
    def build(
        cls, store: Store, tenants: TenantRegistry, settings: ComplianceSettings
    ) -> WebContext:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["stamp"] = _stamp
        env.filters["percent"] = _percent
        env.filters["qs"] = lambda params: urlencode({k: v for k, v in params.items() if v})
        return cls(
            store=store,
            tenants=tenants,
            settings=settings,
            sessions=SessionStore(store.engine, settings),
            throttle=LoginThrottle(settings.login_max_failures, settings.login_window),
            reviews=Reviews(store),
            env=env,
        )

    def secure(self, request: Request) -> bool:
        if self.settings.secure_cookies == "auto":
            return request.url.scheme == "https"
        return self.settings.secure_cookies == "always"

    def set_cookie(self, response: Response, request: Request, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="strict",
            secure=self.secure(request),
            path="/ui",
        )

    def render(
        self,
        request: Request,
        template: str,
        *,
        session: Session | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        page = self.env.get_template(template).render(
            session=session,
            csrf_token=session.csrf_token if session is not None else "",
            path=request.url.path,
            tenant_ids=[t.id for t in self.tenants.all()],
            **context,
        )
        return HTMLResponse(page, status, headers)

    def not_found(self, request: Request, session: Session, what: str) -> HTMLResponse:
        return self.render(request, "not_found.html", session=session, status=404, what=what)

    def check_csrf(self, session: Session, token: str | None) -> None:
        if not self.sessions.csrf_valid(session, token):
            raise CsrfRejected

    @staticmethod
    def visible_tenant(session: Session, requested: str | None) -> str | None:
        """The tenant whose data a request may read: the user's own, or for an admin
        the requested one (None: every tenant)."""
        if not session.admin:
            return session.tenant
        return requested or None


def web_context(request: Request) -> WebContext:
    found: WebContext = request.app.state.web
    return found


WebDep = Annotated[WebContext, Depends(web_context)]


def current_session(request: Request, web: WebDep) -> Session:
    session = web.sessions.load(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired
    request.state.tenant = session.tenant
    return session


SessionDep = Annotated[Session, Depends(current_session)]
