"""The per-tenant hash chain over stored reports and review actions (tamper evidence).

Every report (:meth:`gateway.store.Store.commit_inbound`, digest made by
:func:`report_record` from the values written) and every review action
(:mod:`gateway.store.reviews`) appends one entry to its tenant's chain **in the same
transaction** as the record itself. Format ``isogw-chain-v1``:

* ``record_sha256`` = SHA-256 of the record's canonical bytes (:func:`canonical`):
  the stored row (every column, as the verifier reads it back), as a JSON object with sorted
  keys, no whitespace, UTF-8; timestamps as ISO 8601 in UTC; a stored payload by its
  SHA-256 (``payload``), the report JSON as the exact stored text (``report``);
* ``hash`` = SHA-256 of ``isogw-chain-v1|<tenant>|<seq>|<kind>|<record id>|
  <record_sha256>|<prev_hash>`` (hex digests, ``seq`` from 1, ``kind`` ``report`` or
  ``review``); the first entry's ``prev_hash`` is 64 zeros (:data:`GENESIS`).

``chain_heads`` holds each tenant's last ``seq`` and ``hash``. An append locks that row
(PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serializes
writers), so concurrent commits of one tenant take consecutive ``seq`` values. With a
signing key configured (:class:`ChainSigner`, ``GATEWAY_CHAIN_SIGNING_KEY_FILE``) the
head also carries an Ed25519 signature over :func:`head_message`; a head written
without a key has none.

:func:`gateway.store.chain_verify.verify` recomputes the chain.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.errors import ConfigError
from gateway.store.bulk import insert_rows
from gateway.store.tables import chain_entries, chain_heads, reviews

__all__ = [
    "FORMAT",
    "GENESIS",
    "ChainEntry",
    "ChainKind",
    "ChainSigner",
    "append",
    "append_many",
    "append_review",
    "canonical",
    "entry_hash",
    "head_message",
    "key_id",
    "load_public_key",
    "record_sha256",
    "report_record",
    "review_record",
    "signature_valid",
]

FORMAT = "isogw-chain-v1"
GENESIS = "0" * 64
ChainKind = Literal["report", "review"]


@dataclass(frozen=True, slots=True)
class ChainEntry:
    tenant: str
    seq: int
    kind: str
    record_id: str
    record_sha256: str
    prev_hash: str
    hash: str


# -- canonical bytes -------------------------------------------------------------------


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def report_record(row: Any) -> dict[str, Any]:
    """What the chain covers of a ``reports`` row (every column)."""
    payload = row.payload
    return {
        "id": row.id,
        "tenant": row.tenant,
        "received_at": _stamp(row.received_at),
        "channel": row.channel,
        "correlation_id": row.correlation_id,
        "message_id": row.message_id,
        "business_message_id": row.business_message_id,
        "outcome": row.outcome,
        "payload_sha256": row.payload_sha256,
        "payload_size": int(row.payload_size),
        "report": row.report,
        "payload": hashlib.sha256(bytes(payload)).hexdigest() if payload is not None else None,
    }


def review_record(row: Any) -> dict[str, Any]:
    """What the chain covers of a ``reviews`` row (every column)."""
    return {
        "id": row.id,
        "tenant": row.tenant,
        "report_id": row.report_id,
        "finding_index": row.finding_index,
        "finding_code": row.finding_code,
        "action": row.action,
        "text": row.text,
        "reviewer": row.reviewer,
        "reviewer_tenant": row.reviewer_tenant,
        "reviewer_role": row.reviewer_role,
        "created_at": _stamp(row.created_at),
    }


def canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_sha256(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def entry_hash(
    tenant: str, seq: int, kind: str, record_id: str, record_digest: str, prev_hash: str
) -> str:
    text = f"{FORMAT}|{tenant}|{seq}|{kind}|{record_id}|{record_digest}|{prev_hash}"
    return hashlib.sha256(text.encode()).hexdigest()


def head_message(tenant: str, seq: int, head_hash: str) -> bytes:
    """The bytes a head signature covers."""
    return f"{FORMAT}-head|{tenant}|{seq}|{head_hash}".encode()


# -- signing ---------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class ChainSigner:
    """Signs chain heads with an Ed25519 private key (PEM, PKCS#8, unencrypted)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_file(cls, path: Path, setting: str = "GATEWAY_CHAIN_SIGNING_KEY_FILE") -> ChainSigner:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"{setting}: cannot read an Ed25519 private key from {path}: {exc}"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{setting}: {path} holds a {type(key).__name__}, not Ed25519")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode()


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a public key, or the private key itself)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read public key {path}: {exc.strerror or exc}") from exc
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if isinstance(private, Ed25519PrivateKey):
                return private.public_key()
            raise ConfigError(f"{path} holds a {type(private).__name__}, not Ed25519")
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a PEM Ed25519 key: {exc}") from exc
    if not isinstance(public, Ed25519PublicKey):
        raise ConfigError(f"{path} holds a {type(public).__name__}, not Ed25519")
    return public


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


# -- appending -------------------------------------------------------------------------

_MOVE_HEAD = (
    update(chain_heads)
    .where(chain_heads.c.tenant == bindparam("k_tenant"))
    .values(
        seq=bindparam("seq"),
        hash=bindparam("hash"),
        signature=bindparam("signature"),
        key_id=bindparam("key_id"),
        updated_at=bindparam("updated_at"),
    )
)
_HEAD = (
    select(chain_heads.c.seq, chain_heads.c.hash)
    .where(chain_heads.c.tenant == bindparam("tenant"))
    .with_for_update()
)


def append(
    connection: Connection,
    tenant: str,
    kind: ChainKind,
    record_id: str,
    record_digest: str,
    *,
    signer: ChainSigner | None = None,
    now: datetime | None = None,
) -> ChainEntry:
    """Append one entry inside the caller's transaction, holding the tenant's head lock."""
    return append_many(
        connection, tenant, [(kind, record_id, record_digest)], signer=signer, now=now
    )[0]


def append_many(
    connection: Connection,
    tenant: str,
    records: Sequence[tuple[ChainKind, str, str]],
    *,
    signer: ChainSigner | None = None,
    now: datetime | None = None,
) -> list[ChainEntry]:
    """Append ``(kind, record id, record digest)`` entries in order inside the caller's
    transaction, holding the tenant's head lock; the head moves (and is signed) once."""
    if not records:
        return []
    now = now or datetime.now(UTC)
    head = connection.execute(_HEAD, {"tenant": tenant}).first()
    if head is None:  # the tenant's first entry: create the head, then lock it
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            insert(chain_heads)
            .values(tenant=tenant, seq=0, hash=GENESIS, updated_at=now)
            .on_conflict_do_nothing()
        )
        head = connection.execute(_HEAD, {"tenant": tenant}).one()
    seq, previous = int(head.seq), str(head.hash)
    entries = []
    for kind, record_id, record_digest in records:
        seq += 1
        digest = entry_hash(tenant, seq, kind, record_id, record_digest, previous)
        entries.append(ChainEntry(tenant, seq, kind, record_id, record_digest, previous, digest))
        previous = digest
    insert_rows(
        connection,
        chain_entries,
        [
            {
                "tenant": tenant,
                "seq": entry.seq,
                "kind": entry.kind,
                "record_id": entry.record_id,
                "record_sha256": entry.record_sha256,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
                "created_at": now,
            }
            for entry in entries
        ],
    )
    connection.execute(
        _MOVE_HEAD,
        {
            "k_tenant": tenant,
            "seq": seq,
            "hash": previous,
            "signature": signer.sign(head_message(tenant, seq, previous)) if signer else None,
            "key_id": signer.key_id if signer else None,
            "updated_at": now,
        },
    )
    return entries


def append_review(
    connection: Connection, tenant: str, review_id: str, signer: ChainSigner | None = None
) -> ChainEntry:
    """Chain the review action just inserted."""
    row = connection.execute(
        select(reviews).where(reviews.c.tenant == tenant, reviews.c.id == review_id)
    ).one()
    digest = record_sha256(review_record(row))
    return append(connection, tenant, "review", review_id, digest, signer=signer)
