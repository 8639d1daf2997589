"""Compliance UI exports (CSV, JSON Lines: streamed over keyset pages) and dashboard,
over reports from real submissions (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import insert

from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.store.findings_index import index_rows
from gateway.store.tables import report_findings, reports
from gateway.web.export import CSV_COLUMNS, _cell
from tests.web_fixtures import WebEnv, web_env


@pytest.fixture
def web(tmp_path: Path, store: Store, gateway: Gateway, settings: Settings) -> Iterator[WebEnv]:
    yield from web_env(tmp_path, store, gateway, settings)


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body[3:].decode())))


def test_csv_export_has_one_row_per_finding_with_reviews(web: WebEnv) -> None:
    valid, bad_bic, minimal, bad_enum = web.reports["EMEA"]
    web.login_as("alice")
    csrf = web.csrf()
    web.client.post(
        f"/ui/reports/{bad_bic}/reviews",
        data={"csrf_token": csrf, "action": "waive", "finding": "1", "text": "=cmd|' /C calc'!A0"},
    )
    response = web.client.get("/ui/reports/export.csv?outcome=rejected")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="reports-EMEA-')
    rows = read_csv(response.content)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["report_id"], r["code"]) for r in rows] == [
        (bad_enum, "schema.enumeration"),
        (bad_bic, "schema.pattern"),
        (bad_bic, "business.bic"),
    ]
    waived = rows[2]
    assert waived["review_action"] == "waive" and waived["reviewer"] == "alice@EMEA"
    assert waived["review_text"].startswith("'=")  # no formula for the spreadsheet
    assert rows[1]["review_action"] == "" and rows[1]["line"] == "41"
    everything = read_csv(web.client.get("/ui/reports/export.csv").content)
    assert {r["report_id"] for r in everything} == set(web.reports["EMEA"])
    clean = [r for r in everything if r["report_id"] == minimal]
    assert len(clean) == 1 and clean[0]["finding_index"] == "" and clean[0]["event_count"] == "1"
    assert valid in {r["report_id"] for r in everything}


def test_jsonl_export_has_reports_with_findings_and_reviews(web: WebEnv) -> None:
    bad_bic = web.reports["EMEA"][1]
    web.login_as("alice")
    web.client.post(
        f"/ui/reports/{bad_bic}/reviews",
        data={"csrf_token": web.csrf(), "action": "annotate", "finding": "", "text": "seen"},
    )
    response = web.client.get("/ui/reports/export.jsonl?code=business.bic")
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 1
    report = lines[0]
    assert report["report_id"] == bad_bic and report["tenant"] == "EMEA"
    assert [f["code"] for f in report["findings"]] == ["schema.pattern", "business.bic"]
    assert report["reviews"][0]["action"] == "annotate" and report["reviews"][0]["text"] == "seen"
    assert "judged_by" in report
    bad = web.client.get("/ui/reports/export.jsonl?from=never")
    assert bad.status_code == 400


def test_large_exports_stream_every_page(web: WebEnv) -> None:
    """1,234 reports (three 500-report pages) inserted in bulk; both exports hold them all."""
    start = datetime.now(UTC) - timedelta(days=3)
    rows, terms = [], []
    for n in range(1234):
        report_id = str(uuid.uuid4())
        at = start + timedelta(seconds=n)
        findings = [{"code": "schema.pattern", "severity": "error", "layer": "schema"}]
        body = {
            "report_id": report_id, "tenant": "EMEA", "received_at": at.isoformat(),
            "message_id": "pacs.008.001.08", "payload_sha256": "0" * 64, "payload_size": 1,
            "outcome": "rejected", "findings": findings,
        }  # fmt: skip
        rows.append(
            {
                "id": report_id, "tenant": "EMEA", "received_at": at, "outcome": "rejected",
                "message_id": "pacs.008.001.08", "payload_sha256": "0" * 64, "payload_size": 1,
                "report": json.dumps(body),
            }
        )  # fmt: skip
        terms += index_rows("EMEA", report_id, at, findings)
    with web.store.engine.begin() as connection:
        connection.execute(insert(reports), rows)
        connection.execute(insert(report_findings), terms)
    web.login_as("alice")
    csv_rows = read_csv(web.client.get("/ui/reports/export.csv?code=schema.pattern").content)
    assert len({r["report_id"] for r in csv_rows}) == 1234 + 1  # and the fixture's bad BIC
    with web.client.stream("GET", "/ui/reports/export.jsonl") as response:
        chunks = list(response.iter_bytes())
    lines = b"".join(chunks).splitlines()
    assert len(lines) == 1234 + 4
    assert len(chunks) >= 3  # a chunk per page, not one buffered body


def test_csv_cells_never_start_a_formula() -> None:
    assert [_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\tx", "plain", None, 5)] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "plain", "", "5",
    ]  # fmt: skip


def test_dashboard_rates_top_rules_and_svg_chart(web: WebEnv) -> None:
    web.login_as("alice")
    page = web.client.get("/ui/dashboard")
    assert page.status_code == 200
    text = page.text
    assert '<span class="big">4</span> reports' in text
    assert '<span class="big">50.0%</span> accepted' in text
    assert '<span class="big">50.0%</span> rejected' in text
    charts = [m for m in text.split("<svg")[1:]]
    assert len(charts) == 2
    for chart in charts:
        svg = "<svg" + chart.split("</svg>")[0] + "</svg>"
        etree.fromstring(svg.encode())  # well-formed SVG
    assert "Reports per day (UTC) by outcome" in text and "acceptance rate" in text
    for code in ("schema.pattern", "business.bic", "schema.enumeration"):
        assert f"<code>{code}</code>" in text
    assert "pacs.008.001.08</a>" in text
    bad = web.client.get("/ui/dashboard?from=2026-13-01")
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.text
    web.client.cookies.clear()
    web.login_as("root")
    every = web.client.get("/ui/dashboard").text
    assert '<span class="big">5</span> reports' in every
    only_na = web.client.get("/ui/dashboard?tenant=NA").text
    assert '<span class="big">1</span> reports' in only_na
