"""Compliance UI sign-in, sessions, CSRF and throttling (real store on SQLite and
PostgreSQL, the app in process); ``isogw tenants add-user``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from gateway.cli import app as cli_app
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.store.tables import reviews, ui_sessions
from gateway.tenants import TenantRegistry, load_tenant
from gateway.web.routes_auth import safe_next
from gateway.web.sessions import COOKIE, LoginThrottle, SessionStore
from gateway.web.settings import ComplianceSettings
from gateway.web.users import verify_password
from tests.web_fixtures import WebEnv, csrf_of, web_env


@pytest.fixture
def web(tmp_path: Path, store: Store, gateway: Gateway, settings: Settings) -> Iterator[WebEnv]:
    """On SQLite and PostgreSQL: for what the database keeps (sessions, reviews)."""
    yield from web_env(tmp_path, store, gateway, settings)


@pytest.fixture
def web1(tmp_path: Path, gateway: Gateway, settings: Settings) -> Iterator[WebEnv]:
    """On SQLite only: for what does not depend on the database."""
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    try:
        yield from web_env(tmp_path, store, gateway, settings)
    finally:
        store.close()


def set_cookie_header(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, headers
    return str(found[0])


def test_pages_need_a_session(web1: WebEnv) -> None:
    response = web1.client.get("/ui/reports?outcome=rejected", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Freports%3Foutcome%3Drejected"
    for path in (
        "/ui/dashboard",
        "/ui/reports/export.csv",
        f"/ui/reports/{web1.reports['EMEA'][0]}",
    ):
        assert web1.client.get(path, follow_redirects=False).status_code == 303
    posted = web1.client.post(f"/ui/reports/{web1.reports['EMEA'][0]}/reviews", data={})
    assert posted.status_code == 401


def test_sign_in_sets_a_hardened_session_cookie_and_follows_next(web1: WebEnv) -> None:
    page = web1.client.get("/ui/login?next=/ui/dashboard")
    assert 'name="next" value="/ui/dashboard"' in page.text
    response = web1.login("EMEA", "alice", "alice-password-1")
    assert response.status_code == 303
    cookie = set_cookie_header(response, COOKIE)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # secure_cookies="never": plain-http loopback tests
    listing = web1.client.get("/ui/reports")
    assert listing.status_code == 200
    assert "alice · EMEA · compliance" in listing.text
    headers = listing.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"


@pytest.mark.parametrize("mode", ["always", "auto"])
def test_cookie_is_secure_over_https(web1: WebEnv, mode: str) -> None:
    app = web1.client.app
    app.state.web.settings = ComplianceSettings(secure_cookies=mode)  # type: ignore[attr-defined]
    with TestClient(app, base_url="https://testserver") as client:
        response = web1.login("EMEA", "alice", "alice-password-1", client=client)
        assert "Secure" in set_cookie_header(response, COOKIE)


def test_wrong_password_unknown_user_and_other_tenant_get_the_same_answer(web1: WebEnv) -> None:
    answers = [
        web1.login("EMEA", "alice", "not-the-password"),
        web1.login("EMEA", "nobody", "alice-password-1"),
        web1.login("NA", "alice", "alice-password-1"),  # alice is an EMEA user
        web1.login("MOON", "alice", "alice-password-1"),
    ]
    for response in answers:
        assert response.status_code == 401
        assert "Unknown user or wrong password." in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")
    assert web1.client.get("/ui/reports", follow_redirects=False).status_code == 303


def test_sign_in_form_needs_its_signed_nonce(web1: WebEnv) -> None:
    web1.client.get("/ui/login")
    forged = web1.client.post(
        "/ui/login",
        data={"tenant": "EMEA", "username": "alice", "password": "alice-password-1",
              "login_token": "forged"},
        follow_redirects=False,
    )  # fmt: skip
    assert forged.status_code == 403
    web1.client.cookies.clear()
    token = web1.client.get("/ui/login").text.split('name="login_token" value="')[1].split('"')[0]
    web1.client.cookies.clear()  # a cross-site post carries no nonce cookie
    no_cookie = web1.client.post(
        "/ui/login",
        data={"tenant": "EMEA", "username": "alice", "password": "alice-password-1",
              "login_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert no_cookie.status_code == 403


def test_failed_sign_ins_lock_the_username_then_the_address(web1: WebEnv) -> None:
    for _ in range(5):
        assert web1.login("EMEA", "alice", "wrong-password!").status_code == 401
    locked = web1.login("EMEA", "alice", "alice-password-1")  # right password, still refused
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 800
    assert web1.login("NA", "bob", "bob-password-123").status_code == 303  # others still can
    web1.client.cookies.clear()
    for n in range(15):  # the address: four times the per-user limit
        web1.login("NA", f"guess{n}", "whatever-password")
    assert web1.login("EMEA", "root", "root-password-12").status_code == 429


def test_throttle_window_passes() -> None:
    throttle = LoginThrottle(2, timedelta(minutes=15))
    now = datetime.now(UTC)
    keys = ["user:EMEA/alice", "ip:1.2.3.4"]
    throttle.failed(keys, now)
    assert throttle.retry_after(keys, now) == 0
    throttle.failed(keys, now)
    assert throttle.retry_after(keys, now) == 900
    assert throttle.retry_after(keys, now + timedelta(minutes=15)) == 0


def test_sessions_expire_server_side_and_sign_out_ends_them(web: WebEnv) -> None:
    web.login_as("alice")
    cookie = web.client.cookies.get(COOKIE)
    assert web.client.get("/ui/reports").status_code == 200
    with web.store.engine.begin() as connection:  # idle timeout passed
        connection.execute(
            update(ui_sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert web.client.get("/ui/reports", follow_redirects=False).status_code == 303
    with web.store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ui_sessions)).scalar() == 0
    web.login_as("alice")
    csrf = web.csrf()
    assert web.client.post("/ui/logout", data={"csrf_token": "nope"}).status_code == 403
    out = web.client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    web.client.cookies.set(COOKIE, cookie or "", path="/ui")  # replay an ended session
    assert web.client.get("/ui/reports", follow_redirects=False).status_code == 303


def test_session_store_idle_and_absolute_expiry(web: WebEnv) -> None:
    settings = ComplianceSettings(
        session_idle=timedelta(minutes=30), session_max=timedelta(hours=1)
    )
    sessions = SessionStore(web.store.engine, settings)
    start = datetime.now(UTC)
    cookie = sessions.create("EMEA", "alice", "compliance", now=start)
    assert sessions.load(cookie, now=start + timedelta(minutes=29)) is not None
    # activity moved the idle deadline; the absolute one stays
    assert sessions.load(cookie, now=start + timedelta(minutes=55)) is not None
    assert sessions.load(cookie, now=start + timedelta(minutes=61)) is None
    other = sessions.create("EMEA", "alice", "compliance", now=start)
    assert sessions.load(other, now=start + timedelta(minutes=31)) is None  # idle
    token, _, mac = other.rpartition(".")
    assert sessions.load(f"{token}.{'0' * len(mac)}") is None  # bad signature
    stranger = SessionStore(web.store.engine, ComplianceSettings())  # another secret key
    fresh = sessions.create("EMEA", "alice", "compliance")
    assert sessions.load(fresh) is not None and stranger.load(fresh) is None


def test_every_post_needs_the_sessions_csrf_token(web: WebEnv) -> None:
    report_id = web.reports["EMEA"][1]
    web.login_as("alice")
    own = web.csrf()
    other_client = TestClient(web.client.app)
    web.login_as("root", client=other_client)
    foreign = csrf_of(other_client.get("/ui/reports").text)
    for token in ("", "x" * 43, foreign):
        response = web.client.post(
            f"/ui/reports/{report_id}/reviews",
            data={"csrf_token": token, "action": "acknowledge", "finding": "0", "text": ""},
        )
        assert response.status_code == 403
    with web.store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(reviews)).scalar() == 0
    done = web.client.post(
        f"/ui/reports/{report_id}/reviews",
        data={"csrf_token": own, "action": "acknowledge", "finding": "0", "text": ""},
        follow_redirects=False,
    )
    assert done.status_code == 303
    other_client.close()


def test_next_is_never_an_open_redirect() -> None:
    assert safe_next("/ui/reports/abc?x=1") == "/ui/reports/abc?x=1"
    for bad in ("https://evil.example/", "//evil.example", "/ui//evil", "/v1/reports", "", None):
        assert safe_next(bad) == "/ui/reports"


def test_add_user_stores_only_a_scrypt_hash(web1: WebEnv) -> None:
    runner = CliRunner()
    env = {"GATEWAY_TENANTS_DIR": str(web1.tenants_dir)}
    secret = "carol-long-password"
    result = runner.invoke(
        cli_app, ["tenants", "add-user", "NA", "carol", "--password-stdin"], input=secret + "\n",
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    path = web1.tenants_dir / "NA.yaml"
    assert secret not in path.read_text()
    stored = yaml.safe_load(path.read_text())["compliance_users"]
    carol = next(u for u in stored if u["username"] == "carol")
    assert carol["role"] == "compliance" and carol["password"]["scheme"] == "scrypt"
    assert carol["password"]["n"] == 2**15 and len(carol["password"]["salt"]) >= 16
    user = next(u for u in load_tenant(path).compliance_users if u.username == "carol")
    assert verify_password(user, secret) and not verify_password(user, secret + "x")
    assert TenantRegistry.load(web1.tenants_dir).get("NA") is not None
    again = runner.invoke(
        cli_app, ["tenants", "add-user", "NA", "carol", "--role", "admin", "--password-stdin"],
        input="another-long-password\n", env=env,
    )  # fmt: skip
    assert again.exit_code == 0
    users = load_tenant(path).compliance_users
    assert [u.role for u in users if u.username == "carol"] == ["admin"]  # replaced, not doubled
    for args, stdin, code in (
        (["NA", "dave", "--password-stdin"], "short\n", 2),
        (["NA", "Dave Smith", "--password-stdin"], "long-enough-password\n", 2),
        (["NA", "dave", "--role", "owner", "--password-stdin"], "long-enough-password\n", 2),
        (["MOON", "dave", "--password-stdin"], "long-enough-password\n", 2),
    ):
        failed = runner.invoke(cli_app, ["tenants", "add-user", *args], input=stdin, env=env)
        assert failed.exit_code == code, (args, failed.output)
