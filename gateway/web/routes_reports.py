"""Report list, report detail, review actions and exports of the compliance UI.

* ``GET /ui/reports``: the filtered list (:mod:`gateway.web.filters`), 50 a page,
  newest first, keyset pages (``cursor``);
* ``GET /ui/reports/{id}``: findings grouped by layer (rule id, severity, ISO reason,
  location), their review history and forms, the masked message with the lines the
  findings point at highlighted (when the tenant stores payloads), what judged it
  (``judged_by``), the events it emitted and the outbound messages sent for its
  payments; another tenant's report answers exactly like a missing one (404);
* ``POST /ui/reports/{id}/reviews``: acknowledge, waive (reason required) or annotate
  one finding (``finding`` = its index) or the whole report (``finding`` empty);
* ``GET /ui/reports/export.csv`` / ``export.jsonl``: the filtered list, streamed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from gateway.report import Layer
from gateway.store.dashboard import report_lifecycle
from gateway.store.reviews import ACTIONS, Review, ReviewRefused
from gateway.store.search import find_report, search_reports
from gateway.web.context import SessionDep, WebContext, WebDep
from gateway.web.export import csv_rows, jsonl_lines
from gateway.web.filters import OUTCOMES, parse_filter
from gateway.web.payload_view import payload_lines
from gateway.web.sessions import Session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PAGE = 50
_LAYERS = [layer.value for layer in Layer]


@router.get("/ui/reports")
def report_list(request: Request, web: WebDep, session: SessionDep) -> Response:
    tenants = [t.id for t in web.tenants.all()]
    form = parse_filter(request.query_params, session, tenants)
    items: list[dict[str, Any]] = []
    next_cursor = None
    if not form.errors:
        engine, flt = web.store.engine, form.filter
        try:
            page = search_reports(engine, flt, cursor=form.cursor, limit=PAGE, tenants=tenants)
        except ValueError:
            form.errors.append("The page link is no longer valid; showing the newest reports.")
            page = search_reports(engine, flt, limit=PAGE, tenants=tenants)
        items, next_cursor = page.items, page.next_cursor
    reviews = web.reviews.for_reports(form.filter.tenant, [i["report_id"] for i in items])
    rows = []
    for item in items:
        severities = [f.get("severity") for f in item.get("findings") or []]
        rows.append(
            {
                **item,
                "errors": severities.count("error"),
                "warnings": severities.count("warning"),
                "reviewed": len(reviews.get(item["report_id"], [])),
            }
        )
    return web.render(
        request,
        "reports.html",
        session=session,
        form=form,
        rows=rows,
        next_cursor=next_cursor,
        outcomes=OUTCOMES,
    )


def _latest(actions: list[Review]) -> dict[int | None, Review]:
    out: dict[int | None, Review] = {}
    for action in actions:
        out[action.finding_index] = action
    return out


def _detail(
    web: WebContext,
    request: Request,
    session: Session,
    report_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    found = find_report(web.store.engine, report_id, web.visible_tenant(session, None))
    if found is None:
        return web.not_found(request, session, f"report {report_id}")
    report, payload = found
    tenant = report["tenant"]
    findings = list(report.get("findings") or [])
    by_layer: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, item in enumerate(findings):
        by_layer.setdefault(str(item.get("layer")), []).append((index, item))
    layers = sorted(by_layer.items(), key=lambda kv: _order(kv[0]))
    actions = web.reviews.for_report(tenant, report_id)
    lines = payload_lines(payload, findings) if payload is not None else None
    return web.render(
        request,
        "report.html",
        session=session,
        status=status,
        report=report,
        layers=layers,
        actions=actions,
        latest=_latest(actions),
        lines=lines,
        lifecycle=report_lifecycle(web.store.engine, tenant, report_id),
        review_actions=ACTIONS,
        error=error,
        form=form or {},
    )


def _order(layer: str) -> int:
    return _LAYERS.index(layer) if layer in _LAYERS else len(_LAYERS)


@router.get("/ui/reports/export.csv")
def export_csv(request: Request, web: WebDep, session: SessionDep) -> Response:
    return _export(request, web, session, "csv")


@router.get("/ui/reports/export.jsonl")
def export_jsonl(request: Request, web: WebDep, session: SessionDep) -> Response:
    return _export(request, web, session, "jsonl")


def _export(request: Request, web: WebContext, session: Session, kind: str) -> Response:
    tenants = [t.id for t in web.tenants.all()]
    form = parse_filter(request.query_params, session, tenants)
    if form.errors:
        return web.render(
            request, "reports.html", session=session, status=400, form=form, rows=[],
            next_cursor=None, outcomes=OUTCOMES,
        )  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = form.filter.tenant or "all"
    if kind == "csv":
        body, media = csv_rows(web.store, form.filter, tenants), "text/csv; charset=utf-8"
    else:
        body, media = jsonl_lines(web.store, form.filter, tenants), "application/x-ndjson"
    name = f"reports-{scope}-{stamp}.{kind}"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/ui/reports/{report_id}")
def report_detail(report_id: str, request: Request, web: WebDep, session: SessionDep) -> Response:
    return _detail(web, request, session, report_id)


@router.post("/ui/reports/{report_id}/reviews")
def review(
    report_id: str,
    request: Request,
    web: WebDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    finding: Annotated[str, Form(max_length=8)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    web.check_csrf(session, csrf_token)
    found = find_report(web.store.engine, report_id, web.visible_tenant(session, None))
    if found is None:
        return web.not_found(request, session, f"report {report_id}")
    tenant = found[0]["tenant"]
    form = {"action": action, "finding": finding, "text": text}
    try:
        index = int(finding) if finding.strip() else None
        recorded = web.reviews.record(
            tenant=tenant,
            report_id=report_id,
            finding_index=index,
            action=action,
            text=text,
            reviewer=session.username,
            reviewer_tenant=session.tenant,
            reviewer_role=session.role,
        )
    except ValueError:
        return _detail(
            web, request, session, report_id, status=400, error="Unknown finding.", form=form
        )
    except ReviewRefused as exc:
        return _detail(web, request, session, report_id, status=400, error=exc.message, form=form)
    anchor = f"#finding-{recorded.finding_index}" if recorded.finding_index is not None else ""
    return RedirectResponse(f"/ui/reports/{report_id}{anchor or '#reviews'}", 303)
