"""Sign-in and sign-out of the compliance UI (``/ui/login``, ``/ui/logout``).

A user signs in with the tenant, username and password of a ``compliance_users``
entry of that tenant's file (:mod:`gateway.web.users`). An unknown tenant or user
costs one scrypt like a wrong password and gets the same answer. Failed attempts are
throttled per tenant/username and per client address
(:class:`gateway.web.sessions.LoginThrottle`): at the limit the answer is 429 with
``Retry-After`` and the password is not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from gateway.web.context import SessionDep, WebContext, WebDep
from gateway.web.sessions import COOKIE, LOGIN_COOKIE
from gateway.web.users import verify_password

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a UI path of this site only (no open redirect)."""
    if (
        target
        and target.startswith("/ui/")
        and not target.startswith("/ui/login")
        and "//" not in target
        and "\\" not in target
    ):
        return target
    return "/ui/reports"


def _login_page(
    web: WebContext,
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    tenant: str = "",
    username: str = "",
    next_url: str = "",
    headers: Mapping[str, str] | None = None,
) -> Response:
    cookie, token = web.sessions.login_nonce()
    response = web.render(
        request,
        "login.html",
        status=status,
        headers=dict(headers or {}),
        error=error,
        login_token=token,
        tenant=tenant,
        username=username,
        next_url=safe_next(next_url),
    )
    web.set_cookie(response, request, LOGIN_COOKIE, cookie)
    return response


@router.get("/ui")
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/reports", 303)


@router.get("/ui/login")
def login_form(
    request: Request, web: WebDep, next_url: Annotated[str, Query(alias="next")] = ""
) -> Response:
    if web.sessions.load(request.cookies.get(COOKIE)) is not None:
        return RedirectResponse(safe_next(next_url), 303)
    return _login_page(web, request, next_url=next_url)


@router.post("/ui/login")
async def login(
    request: Request,
    web: WebDep,
    tenant: Annotated[str, Form(max_length=32)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    login_token: Annotated[str, Form(max_length=128)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2048)] = "",
) -> Response:
    tenant, username = tenant.strip().upper(), username.strip().lower()

    def again(status: int, error: str, headers: Mapping[str, str] | None = None) -> Response:
        return _login_page(
            web, request, status=status, error=error, tenant=tenant, username=username,
            next_url=next_url, headers=headers,
        )  # fmt: skip

    if not web.sessions.login_form_valid(request.cookies.get(LOGIN_COOKIE), login_token):
        return again(403, "The form expired; please sign in again.")
    client = request.client.host if request.client else "-"
    keys = [f"user:{tenant}/{username}", f"ip:{client}"]
    wait = web.throttle.retry_after(keys)
    if wait:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed sign-ins. Try again in about {minutes} minute(s)."
        return again(429, error, {"Retry-After": str(wait)})
    found = web.tenants.get(tenant)
    users = found.compliance_users if found is not None else ()
    user = next((u for u in users if u.username == username), None)
    if not await run_in_threadpool(verify_password, user, password) or user is None:
        web.throttle.failed(keys)
        return again(401, "Unknown user or wrong password.")
    web.throttle.succeeded(keys[0])
    old = request.cookies.get(COOKIE)
    cookie = await run_in_threadpool(web.sessions.create, tenant, user.username, user.role)
    if old:
        await run_in_threadpool(web.sessions.delete, old)
    response = RedirectResponse(safe_next(next_url), 303)
    web.set_cookie(response, request, COOKIE, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/ui/logout")
def logout(
    request: Request,
    web: WebDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    web.check_csrf(session, csrf_token)
    web.sessions.delete(request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/login", 303)
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
    return response
