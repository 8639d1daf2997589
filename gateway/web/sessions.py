"""Compliance UI sessions, CSRF tokens and sign-in throttling.

* **Sessions** live server side (``ui_sessions``): the cookie carries a random
  256-bit token and its HMAC-SHA256 under the UI secret key (``<token>.<mac>``); the
  table holds only the token's SHA-256, the user, the role, the session's CSRF token
  and its expiry (idle and absolute, :class:`~gateway.web.settings.ComplianceSettings`).
  Signing out or expiry deletes the row, whatever the browser keeps. The cookie is
  ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui`` and ``Secure`` over https.
* **CSRF** (synchronizer token): every form carries the session's ``csrf_token``;
  every POST compares it in constant time. The sign-in form, before any session, is
  bound to a signed nonce cookie (:meth:`SessionStore.login_nonce`).
* **Throttling** (:class:`LoginThrottle`): failed sign-ins are counted per tenant and
  username and per client address; at the limit further attempts are refused, even
  with the right password, until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update

from gateway.store.tables import ui_sessions
from gateway.web.settings import ComplianceSettings

__all__ = ["COOKIE", "LOGIN_COOKIE", "LoginThrottle", "Session", "SessionStore"]

COOKIE = "isogw_session"
LOGIN_COOKIE = "isogw_login"
#: last_seen is written at most this often (one UPDATE per minute of activity, not per page)
_TOUCH = timedelta(seconds=60)
_MAX_KEYS = 10_000
IP_FACTOR = 4


@dataclass(frozen=True, slots=True)
class Session:
    tenant: str
    username: str
    role: str
    csrf_token: str
    expires_at: datetime

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def reviewer(self) -> str:
        return f"{self.username}@{self.tenant}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, settings: ComplianceSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._key = settings.secret_key.get_secret_value().encode()

    # -- signed values -----------------------------------------------------------------

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    def _sign(self, purpose: str, value: str) -> str:
        return f"{value}.{self._mac(purpose, value)}"

    def _unsign(self, purpose: str, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        return value if hmac.compare_digest(mac, self._mac(purpose, value)) else None

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form token) binding a sign-in form to this browser."""
        nonce = secrets.token_urlsafe(24)
        return self._sign("login-cookie", nonce), self._mac("login-form", nonce)

    def login_form_valid(self, cookie: str | None, token: str | None) -> bool:
        nonce = self._unsign("login-cookie", cookie)
        return (
            nonce is not None
            and token is not None
            and hmac.compare_digest(token, self._mac("login-form", nonce))
        )

    # -- sessions ----------------------------------------------------------------------

    def create(self, tenant: str, username: str, role: str, now: datetime | None = None) -> str:
        """A new session; returns the cookie value."""
        now = now or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(delete(ui_sessions).where(ui_sessions.c.expires_at <= now))
            connection.execute(
                ui_sessions.insert().values(
                    token_sha256=_sha256(token),
                    tenant=tenant,
                    username=username,
                    role=role,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen=now,
                    expires_at=min(
                        now + self.settings.session_idle, now + self.settings.session_max
                    ),
                )
            )
        return self._sign("session", token)

    def load(self, cookie: str | None, now: datetime | None = None) -> Session | None:
        """The live session of a cookie (None: unsigned, unknown or expired)."""
        token = self._unsign("session", cookie)
        if token is None:
            return None
        now = now or datetime.now(UTC)
        key = _sha256(token)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ui_sessions).where(ui_sessions.c.token_sha256 == key)
            ).first()
        if row is None:
            return None
        if now >= row.expires_at:
            self._delete(key)
            return None
        expires = row.expires_at
        if now - row.last_seen >= _TOUCH:
            expires = min(
                now + self.settings.session_idle, row.created_at + self.settings.session_max
            )
            with self.engine.begin() as connection:
                connection.execute(
                    update(ui_sessions)
                    .where(ui_sessions.c.token_sha256 == key)
                    .values(last_seen=now, expires_at=expires)
                )
        return Session(row.tenant, row.username, row.role, row.csrf_token, expires)

    def delete(self, cookie: str | None) -> None:
        token = self._unsign("session", cookie)
        if token is not None:
            self._delete(_sha256(token))

    def _delete(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(ui_sessions).where(ui_sessions.c.token_sha256 == key))

    @staticmethod
    def csrf_valid(session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, session.csrf_token)


class LoginThrottle:
    """Failed sign-ins per key in a sliding window: a ``user:<tenant>/<username>`` key
    is refused after ``max_failures``, an ``ip:<address>`` key (several users may share
    an address) after :data:`IP_FACTOR` times as many."""

    def __init__(self, max_failures: int, window: timedelta) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        found = self._failures.setdefault(key, deque())
        while found and now - found[0] >= self.window:
            found.popleft()
        return found

    def retry_after(self, keys: list[str], now: datetime | None = None) -> int:
        """Seconds until any of ``keys`` may try again (0: now)."""
        now = now or datetime.now(UTC)
        wait = 0.0
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                limit = self.max_failures * (IP_FACTOR if key.startswith("ip:") else 1)
                if len(recent) >= limit:
                    wait = max(wait, (recent[0] + self.window - now).total_seconds())
                if not recent:
                    self._failures.pop(key, None)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: list[str], now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        with self._lock:
            if len(self._failures) > _MAX_KEYS:  # bounded memory under a spray of names
                for stale in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[stale]
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
