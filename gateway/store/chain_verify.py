"""Recompute a tenant's hash chain (:mod:`gateway.store.chain`) and find the first break.

:func:`verify` walks ``chain_entries`` in ``seq`` order, a page at a time, and for each
entry checks that

1. ``seq`` follows the previous one (no entry removed) and ``prev_hash`` is the
   previous entry's hash;
2. the record it covers still exists for this tenant and its canonical bytes still
   hash to ``record_sha256`` (the report or review row was not edited);
3. the entry's own hash recomputes (the entry was not edited);
4. for a report, the findings index rows agree with the report's findings.

Then that the head (``chain_heads``) names the last entry, that no report or review of
the tenant is missing from the chain (a row inserted behind the gateway's back), and,
with a public key, that the head's Ed25519 signature is valid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, select

from gateway.store.chain import (
    GENESIS,
    entry_hash,
    head_message,
    key_id,
    record_sha256,
    report_record,
    review_record,
    signature_valid,
)
from gateway.store.findings_index import finding_terms
from gateway.store.tables import chain_entries, chain_heads, report_findings, reports, reviews

__all__ = ["Break", "Verification", "verify"]

SignatureState = Literal["valid", "invalid", "unsigned", "not_checked", "other_key"]


@dataclass(frozen=True, slots=True)
class Break:
    """The first record where the chain does not hold."""

    seq: int | None
    kind: str
    record_id: str | None
    reason: str

    def describe(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "outside the chain"
        record = f"{self.kind} {self.record_id}" if self.record_id else self.kind
        return f"{where}: {record}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Verification:
    tenant: str
    count: int
    head_seq: int
    head_hash: str
    signature: SignatureState
    key_id: str | None
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None and self.signature not in ("invalid", "unsigned", "other_key")


def _records(
    connection: Connection, tenant: str, entries: Sequence[Any]
) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for kind, table in (("report", reports), ("review", reviews)):
        ids = [e.record_id for e in entries if e.kind == kind]
        if ids:
            rows = connection.execute(
                select(table).where(table.c.tenant == tenant, table.c.id.in_(ids))
            ).all()
            found.update({(kind, row.id): row for row in rows})
    return found


def _index(connection: Connection, tenant: str, report_ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {report_id: {} for report_id in report_ids}
    if report_ids:
        rows = connection.execute(
            select(
                report_findings.c.report_id, report_findings.c.term, report_findings.c.severity
            ).where(report_findings.c.tenant == tenant, report_findings.c.report_id.in_(report_ids))
        ).all()
        for row in rows:
            out.setdefault(row.report_id, {})[row.term] = row.severity
    return out


def _check_entry(
    entry: Any, expected_seq: int, prev: str, record: Any, index: dict[str, dict[str, str]]
) -> Break | None:
    def broken(reason: str) -> Break:
        return Break(int(entry.seq), entry.kind, entry.record_id, reason)

    if int(entry.seq) != expected_seq:
        return Break(expected_seq, "entry", None, f"missing (the next entry is {entry.seq})")
    if entry.prev_hash != prev:
        return broken("prev_hash is not the previous entry's hash")
    if record is None:
        return broken("the record is missing (deleted, or moved to another tenant)")
    as_dict = report_record(record) if entry.kind == "report" else review_record(record)
    digest = record_sha256(as_dict)
    if digest != entry.record_sha256:
        return broken("the record was changed after it was chained")
    tenant = entry.tenant
    if entry_hash(tenant, expected_seq, entry.kind, entry.record_id, digest, prev) != entry.hash:
        return broken("the chain entry was altered")
    if entry.kind == "report":
        terms = finding_terms(json.loads(record.report).get("findings") or [])
        if index.get(entry.record_id, {}) != terms:
            return broken("the findings index differs from the report's findings")
    return None


def _unchained(connection: Connection, tenant: str) -> Break | None:
    for kind, table in (("report", reports), ("review", reviews)):
        chained = select(chain_entries.c.record_id).where(
            chain_entries.c.tenant == tenant, chain_entries.c.kind == kind
        )
        order = table.c.received_at if kind == "report" else table.c.created_at
        found = connection.execute(
            select(table.c.id)
            .where(table.c.tenant == tenant, table.c.id.not_in(chained))
            .order_by(order, table.c.id)
            .limit(1)
        ).scalar_one_or_none()
        if found is not None:
            return Break(None, kind, str(found), "stored but not in the chain (added outside it)")
    return None


def verify(
    engine: Engine,
    tenant: str,
    *,
    public_key: Ed25519PublicKey | None = None,
    page_size: int = 1000,
) -> Verification:
    """Recompute ``tenant``'s chain; :attr:`Verification.broken` names the first break."""
    prev, seq, broken = GENESIS, 0, None
    with engine.connect() as connection:
        while broken is None:
            entries = connection.execute(
                select(chain_entries)
                .where(chain_entries.c.tenant == tenant, chain_entries.c.seq > seq)
                .order_by(chain_entries.c.seq)
                .limit(page_size)
            ).all()
            if not entries:
                break
            records = _records(connection, tenant, entries)
            index = _index(connection, tenant, [e.record_id for e in entries if e.kind == "report"])
            for entry in entries:
                record = records.get((entry.kind, entry.record_id))
                broken = _check_entry(entry, seq + 1, prev, record, index)
                if broken is not None:
                    break
                prev, seq = entry.hash, int(entry.seq)
        head = connection.execute(select(chain_heads).where(chain_heads.c.tenant == tenant)).first()
        if broken is None and (
            (head is None and seq) or (head is not None and (head.seq, head.hash) != (seq, prev))
        ):
            broken = Break(seq or None, "head", None, "the chain head does not name the last entry")
        if broken is None:
            broken = _unchained(connection, tenant)
    signature: SignatureState = "not_checked"
    head_key = head.key_id if head is not None else None
    if public_key is not None and head is not None:
        if not head.signature:
            signature = "unsigned"
        elif head_key != key_id(public_key):
            signature = "other_key"
        else:
            message = head_message(tenant, int(head.seq), head.hash)
            signature = (
                "valid" if signature_valid(public_key, message, head.signature) else "invalid"
            )
    return Verification(
        tenant=tenant,
        count=seq,
        head_seq=int(head.seq) if head is not None else 0,
        head_hash=head.hash if head is not None else GENESIS,
        signature=signature,
        key_id=head_key,
        broken=broken,
    )
