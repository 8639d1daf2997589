"""The findings index: which finding codes and rule ids each report carries.

One ``report_findings`` row per distinct *term* of a report - a finding ``code``
(``schema.pattern``) or a rule id (``business.bic``, ``cbpr.…``) - with the worst
severity under it and the report's receipt time, written in the report's own
transaction (:meth:`gateway.store.Store.commit_inbound`). It serves the compliance
UI's "rule code" filter as a keyset walk over ``(tenant, term, received_at,
report_id)`` and the dashboard's top failing rules; the report JSON stays the source
of truth (:func:`gateway.store.chain_verify.verify` checks the index against it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from gateway.store.tables import report_findings

__all__ = ["finding_terms", "index_rows", "insert_finding_terms"]

_RANK = {"info": 0, "warning": 1, "error": 2}


def finding_terms(findings: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """term -> worst severity, over the findings' codes and rule ids."""
    terms: dict[str, str] = {}
    for item in findings:
        severity = str(item.get("severity") or "info")
        for raw in (item.get("code"), item.get("rule")):
            if not isinstance(raw, str) or not raw:
                continue
            term = raw[:128]
            known = terms.get(term)
            if known is None or _RANK.get(severity, 0) > _RANK.get(known, 0):
                terms[term] = severity
    return terms


def index_rows(
    tenant: str, report_id: str, received_at: datetime, findings: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "tenant": tenant,
            "report_id": report_id,
            "received_at": received_at,
            "term": term,
            "severity": severity,
        }
        for term, severity in sorted(finding_terms(findings).items())
    ]


def insert_finding_terms(
    connection: Connection,
    tenant: str,
    report_id: str,
    received_at: datetime,
    findings: Iterable[Mapping[str, Any]],
) -> None:
    """Index one report's findings inside the caller's transaction."""
    rows = index_rows(tenant, report_id, received_at, findings)
    if rows:
        connection.execute(report_findings.insert(), rows)
