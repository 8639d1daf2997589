"""Compliance UI users: the ``compliance_users:`` section of a tenant file.

Each user has a ``username``, a ``role`` - ``compliance`` (sees and reviews only
the tenant's reports) or ``admin`` (every tenant's) - and a password stored as a
salted scrypt hash (RFC 7914, :func:`hashlib.scrypt`) with its parameters, so they
can be raised later without invalidating older hashes::

    compliance_users:
      - username: alice
        role: compliance
        password: {scheme: scrypt, n: 32768, r: 8, p: 1, salt: <base64>, hash: <base64>}

``isogw tenants add-user`` writes entries; the clear password is never stored.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MIN_PASSWORD",
    "USERNAME",
    "ComplianceUser",
    "PasswordHash",
    "Role",
    "hash_password",
    "verify_password",
]

Role = Literal["compliance", "admin"]

#: scrypt cost: N=2^15, r=8, p=1 (~32 MiB, tens of ms per check), OWASP's minimum.
DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**15, 8, 1
_MAXMEM = 256 * 1024 * 1024
MIN_PASSWORD = 12
USERNAME = r"^[a-z0-9][a-z0-9._@-]{1,63}$"


class PasswordHash(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Literal["scrypt"] = "scrypt"
    n: int = Field(ge=2**10, le=2**20)
    r: int = Field(ge=1, le=32)
    p: int = Field(ge=1, le=16)
    salt: str = Field(min_length=16)
    hash: str = Field(min_length=32)

    def matches(self, password: str) -> bool:
        derived = _derive(password, base64.b64decode(self.salt), self.n, self.r, self.p)
        return hmac.compare_digest(derived, base64.b64decode(self.hash))


class ComplianceUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(pattern=USERNAME)
    role: Role = "compliance"
    password: PasswordHash
    created: datetime | None = None


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_password(
    password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
) -> PasswordHash:
    """A fresh 16-byte salt and the scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    return PasswordHash(
        n=n,
        r=r,
        p=p,
        salt=base64.b64encode(salt).decode(),
        hash=base64.b64encode(_derive(password, salt, n, r, p)).decode(),
    )


@functools.cache
def _dummy() -> PasswordHash:
    """Checked for unknown usernames so that a miss costs what a wrong password costs."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(user: ComplianceUser | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s (always one scrypt, even for no user)."""
    if user is None:
        _dummy().matches(password)
        return False
    return user.password.matches(password)
