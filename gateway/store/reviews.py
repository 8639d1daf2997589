"""Review actions of compliance officers on stored reports (append-only).

A review action acknowledges, waives (with a mandatory reason) or annotates one
finding of a report (``finding_index``, 0-based in the report's ``findings``) or the
whole report (``finding_index`` None). It is inserted and appended to the report
tenant's hash chain (:func:`gateway.store.chain.append_review`) in one transaction,
and never changed afterwards: this module has no update or delete path, the database
refuses both (triggers of migration 0004) and the chain would show an edit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, get_args

from sqlalchemy import select

from gateway.errors import GatewayError
from gateway.store.chain import append_review
from gateway.store.tables import reports, reviews

if TYPE_CHECKING:
    from gateway.store.store import Store

__all__ = ["ACTIONS", "Review", "ReviewAction", "ReviewRefused", "Reviews"]

ReviewAction = Literal["acknowledge", "waive", "annotate"]
ACTIONS: tuple[str, ...] = get_args(ReviewAction)
MAX_TEXT = 2000


class ReviewRefused(GatewayError):
    """The action cannot be recorded (unknown report or finding, missing reason)."""


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    tenant: str
    report_id: str
    finding_index: int | None
    finding_code: str | None
    action: str
    text: str
    reviewer: str
    reviewer_tenant: str
    reviewer_role: str
    created_at: datetime


def _review(row: object) -> Review:
    return Review(**{name: getattr(row, name) for name in Review.__slots__})


class Reviews:
    """Records and reads review actions in one :class:`~gateway.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(
        self,
        *,
        tenant: str,
        report_id: str,
        finding_index: int | None,
        action: str,
        text: str,
        reviewer: str,
        reviewer_tenant: str,
        reviewer_role: str,
        now: datetime | None = None,
    ) -> Review:
        """Insert and chain one action; :class:`ReviewRefused` when it makes no sense."""
        if action not in ACTIONS:
            raise ReviewRefused(f"unknown review action {action!r}")
        text = text.strip()
        if action in ("waive", "annotate") and not text:
            what = "a reason" if action == "waive" else "a note"
            raise ReviewRefused(f"{action} needs {what}")
        if len(text) > MAX_TEXT:
            raise ReviewRefused(f"the text is longer than {MAX_TEXT} characters")
        review_id = str(uuid.uuid4())
        created = (now or datetime.now(UTC)).astimezone(UTC)
        with self.store._begin() as connection:
            stored = connection.execute(
                select(reports.c.report).where(
                    reports.c.tenant == tenant, reports.c.id == report_id
                )
            ).scalar_one_or_none()
            if stored is None:
                raise ReviewRefused(f"no report {report_id}")
            code = None
            if finding_index is not None:
                findings = json.loads(stored).get("findings") or []
                if not 0 <= finding_index < len(findings):
                    raise ReviewRefused(f"report {report_id} has no finding {finding_index}")
                code = str(findings[finding_index].get("code"))
            connection.execute(
                reviews.insert().values(
                    id=review_id,
                    tenant=tenant,
                    report_id=report_id,
                    finding_index=finding_index,
                    finding_code=code,
                    action=action,
                    text=text,
                    reviewer=reviewer,
                    reviewer_tenant=reviewer_tenant,
                    reviewer_role=reviewer_role,
                    created_at=created,
                )
            )
            append_review(connection, tenant, review_id, self.store.chain_signer)
        return Review(
            review_id,
            tenant,
            report_id,
            finding_index,
            code,
            action,
            text,
            reviewer,
            reviewer_tenant,
            reviewer_role,
            created,
        )

    def for_report(self, tenant: str, report_id: str) -> list[Review]:
        """The report's actions, oldest first."""
        return self.for_reports(tenant, [report_id]).get(report_id, [])

    def for_reports(self, tenant: str | None, report_ids: Iterable[str]) -> dict[str, list[Review]]:
        """Actions of several reports (``tenant`` None: any tenant), oldest first."""
        ids = list(dict.fromkeys(report_ids))
        if not ids:
            return {}
        query = select(reviews).where(reviews.c.report_id.in_(ids))
        if tenant is not None:
            query = query.where(reviews.c.tenant == tenant)
        with self.store.engine.connect() as connection:
            rows = connection.execute(query.order_by(reviews.c.created_at, reviews.c.id)).all()
        out: dict[str, list[Review]] = {}
        for row in rows:
            out.setdefault(row.report_id, []).append(_review(row))
        return out
