"""ISO 20022 status reports from validation reports: module, CLI and HTTP API."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from lxml import etree

from gateway.pipeline import Gateway, InboundResult
from gateway.report import Outcome
from gateway.status_message import (
    MAX_REASONS,
    StatusMessageUnavailable,
    default_status_message,
    render_status_message,
    status_message,
)
from tests.api_fixtures import ApiEnv
from tests.conftest import FIXTURES, REPO

PACS = FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml"
PAIN = FIXTURES / "mx/pain.001.001.09/valid/two_pmtinf_3tx.xml"
INVALID = FIXTURES / "mx/pacs.008.001.08/invalid/bad_bicfi_pattern.xml"
MT103 = FIXTURES / "mt/mapping/fin.103.equivalent.txt"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def ns(as_id: str) -> dict[str, str]:
    return {"s": f"urn:iso:std:iso:20022:tech:xsd:{as_id}"}


def texts(doc: etree._Element, path: str, as_id: str) -> list[str]:
    return [str(e.text) for e in doc.xpath(path, namespaces=ns(as_id))]


def inbound(gateway: Gateway, path: object) -> InboundResult:
    return gateway.inbound(path.read_bytes())  # type: ignore[attr-defined]


def test_accepted_pacs008_gets_actc_with_every_transaction(gateway: Gateway) -> None:
    result = inbound(gateway, PACS)
    assert result.accepted and len(result.events) == 3
    doc = status_message(result.report, result.events, "pacs.002.001.10", now=NOW)
    as_id = "pacs.002.001.10"
    root = "/s:Document/s:FIToFIPmtStsRpt"
    assert texts(doc, f"{root}/s:GrpHdr/s:MsgId", as_id) == [
        result.report.report_id.replace("-", "")
    ]
    assert texts(doc, f"{root}/s:GrpHdr/s:CreDtTm", as_id) == ["2026-11-26T12:00:00+00:00"]
    group = f"{root}/s:OrgnlGrpInfAndSts"
    assert texts(doc, f"{group}/s:OrgnlMsgId", as_id) == [result.report.business_message_id]
    assert texts(doc, f"{group}/s:OrgnlMsgNmId", as_id) == ["pacs.008.001.08"]
    assert texts(doc, f"{group}/s:OrgnlNbOfTxs", as_id) == ["3"]
    assert texts(doc, f"{group}/s:GrpSts", as_id) == ["ACTC"]
    assert not doc.xpath(f"{group}/s:StsRsnInf", namespaces=ns(as_id))
    e2e = [e["ids"]["end_to_end_id"] for e in result.events]
    assert texts(doc, f"{root}/s:TxInfAndSts/s:OrgnlEndToEndId", as_id) == e2e
    uetrs = [e["ids"]["uetr"] for e in result.events]
    assert texts(doc, f"{root}/s:TxInfAndSts/s:OrgnlUETR", as_id) == uetrs
    assert set(texts(doc, f"{root}/s:TxInfAndSts/s:TxSts", as_id)) == {"ACTC"}


def test_rejected_message_gets_rjct_with_the_iso_reasons(gateway: Gateway) -> None:
    result = inbound(gateway, INVALID)
    assert result.report.outcome is Outcome.REJECTED
    errors = [f for f in result.report.findings if f.severity.value == "error"]
    as_id = "pacs.002.001.10"
    doc = status_message(result.report, result.events, as_id, now=NOW)
    group = "/s:Document/s:FIToFIPmtStsRpt/s:OrgnlGrpInfAndSts"
    assert texts(doc, f"{group}/s:GrpSts", as_id) == ["RJCT"]
    codes = texts(doc, f"{group}/s:StsRsnInf/s:Rsn/s:Cd", as_id)
    assert codes == [f.iso_reason for f in errors if f.iso_reason]
    assert "FF01" in codes  # the XSD pattern error
    first = texts(doc, f"{group}/s:StsRsnInf[1]/s:AddtlInf", as_id)
    assert first[0].startswith(f"report {result.report.report_id}: {errors[0].code}")
    assert all(len(line) <= 105 for line in texts(doc, f"{group}//s:AddtlInf", as_id))
    assert not doc.xpath("//s:TxInfAndSts", namespaces=ns(as_id))


def test_reasons_are_capped_and_the_rest_counted(gateway: Gateway) -> None:
    result = inbound(gateway, INVALID)
    error = next(f for f in result.report.findings if f.severity.value == "error")
    report = result.report.model_copy(update={"findings": [error] * (MAX_REASONS + 7)})
    doc = status_message(report, [], "pacs.002.001.10", now=NOW)
    reasons = doc.xpath("//s:StsRsnInf", namespaces=ns("pacs.002.001.10"))
    assert len(reasons) == MAX_REASONS
    last = " ".join(texts(reasons[-1], "s:AddtlInf", "pacs.002.001.10"))
    assert "and 7 more in the report" in last


def test_pain001_gets_pain002_grouped_by_payment_information(gateway: Gateway) -> None:
    result = inbound(gateway, PAIN)
    assert result.accepted
    assert default_status_message(result.report) == "pain.002.001.10"
    as_id = "pain.002.001.10"
    doc = status_message(result.report, result.events, as_id, now=NOW)
    blocks = doc.xpath("//s:OrgnlPmtInfAndSts", namespaces=ns(as_id))
    expected: dict[str, list[str]] = {}
    for event in result.events:
        ids = event["ids"]
        expected.setdefault(ids["payment_information_id"], []).append(ids["end_to_end_id"])
    assert len(blocks) == len(expected) == 2
    for block in blocks:
        block_id = texts(block, "s:OrgnlPmtInfId", as_id)[0]
        assert texts(block, "s:TxInfAndSts/s:OrgnlEndToEndId", as_id) == expected[block_id]
        assert texts(block, "s:PmtInfSts", as_id) == ["ACTC"]
    # pain.002 transactions have no OrgnlTxId element
    assert not doc.xpath("//s:OrgnlTxId", namespaces=ns(as_id))


def test_mt_message_is_named_by_its_mt_number(gateway: Gateway) -> None:
    result = inbound(gateway, MT103)
    assert result.accepted, [(f.code, f.message) for f in result.report.findings]
    assert default_status_message(result.report) == "pacs.002.001.10"
    doc = status_message(result.report, result.events, "pacs.002.001.10", now=NOW)
    assert texts(doc, "//s:OrgnlMsgNmId", "pacs.002.001.10") == ["MT103"]
    assert texts(doc, "//s:OrgnlMsgId", "pacs.002.001.10") == [result.report.business_message_id]


def test_no_status_report_without_the_original_message_id(gateway: Gateway) -> None:
    result = gateway.inbound(b"<not-xml")
    assert result.report.message_id is None
    with pytest.raises(StatusMessageUnavailable, match="not known"):
        status_message(result.report, [], "pacs.002.001.10", now=NOW)


@pytest.mark.parametrize(
    ("path", "as_id"),
    [(PACS, "pacs.002.001.10"), (INVALID, "pacs.002.001.10"), (PAIN, "pain.002.001.10")],
)
def test_status_reports_validate_against_their_xsd(
    gateway: Gateway, path: object, as_id: str
) -> None:
    if gateway.schemas.get(as_id) is None:
        pytest.skip(f"{as_id} XSD not installed (needs ../shared/samples/xsd)")
    result = inbound(gateway, path)
    rendered = render_status_message(
        gateway.schemas,
        result.report,
        result.events,
        as_id,  # type: ignore[arg-type]
        now=NOW,
    )
    assert rendered.validated and rendered.valid, rendered.findings


# ------------------------------------------------------------------ CLI


def isogw(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        check=False,
        capture_output=True,
        env=env,
        cwd=REPO,
    )


@pytest.fixture
def cli_env(test_env: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, **test_env}


def test_cli_prints_the_status_report_and_exits_by_outcome(cli_env: dict[str, str]) -> None:
    ok = isogw("status-message", str(PACS), env=cli_env)
    assert ok.returncode == 0, ok.stderr
    doc = etree.fromstring(ok.stdout)
    assert texts(doc, "//s:GrpSts", "pacs.002.001.10") == ["ACTC"]
    bad = isogw("status-message", str(INVALID), "--as", "pacs.002.001.10", env=cli_env)
    assert bad.returncode == 1, bad.stderr
    assert texts(etree.fromstring(bad.stdout), "//s:GrpSts", "pacs.002.001.10") == ["RJCT"]
    pain = isogw("status-message", str(PAIN), env=cli_env)
    assert pain.returncode == 0
    assert etree.fromstring(pain.stdout).tag.endswith("pain.002.001.10}Document")


def test_cli_usage_errors(cli_env: dict[str, str], tmp_path: object) -> None:
    assert isogw("status-message", "no-such-file.xml", env=cli_env).returncode == 2
    junk = tmp_path / "junk.xml"  # type: ignore[operator]
    junk.write_bytes(b"<not-xml")
    unavailable = isogw("status-message", str(junk), env=cli_env)
    assert unavailable.returncode == 2
    assert b"not known" in unavailable.stderr
    wrong = isogw("status-message", str(PACS), "--as", "pacs.002.001.12", env=cli_env)
    assert wrong.returncode == 2


# ------------------------------------------------------------------ HTTP API


def key() -> str:
    return str(uuid.uuid4())


def test_post_with_accept_xml_answers_the_status_report(api: ApiEnv) -> None:
    headers = api.headers(key=key(), Accept="application/xml")
    response = api.client.post("/v1/messages", content=PACS.read_bytes(), headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["X-Status-Message"] == "pacs.002.001.10"
    report_id = response.headers["X-Report-ID"]
    assert response.headers["Location"] == f"/v1/reports/{report_id}"
    doc = etree.fromstring(response.content)
    assert texts(doc, "//s:GrpSts", "pacs.002.001.10") == ["ACTC"]
    assert len(texts(doc, "//s:TxInfAndSts/s:TxSts", "pacs.002.001.10")) == 3
    # later, from the store: the same content (events read back from the outbox)
    later = api.client.get(f"/v1/reports/{report_id}/status-message", headers=api.headers())
    assert later.status_code == 200
    again = etree.fromstring(later.content)
    for path in ("//s:OrgnlMsgId", "//s:GrpSts", "//s:OrgnlEndToEndId", "//s:MsgId"):
        assert texts(again, path, "pacs.002.001.10") == texts(doc, path, "pacs.002.001.10")


def test_rejection_as_status_report_and_replay(api: ApiEnv) -> None:
    idem = key()
    headers = api.headers(key=idem)
    url = "/v1/messages?status_message=pacs.002.001.10"
    first = api.client.post(url, content=INVALID.read_bytes(), headers=headers)
    assert first.status_code == 422
    assert texts(etree.fromstring(first.content), "//s:GrpSts", "pacs.002.001.10") == ["RJCT"]
    replay = api.client.post(url, content=INVALID.read_bytes(), headers=headers)
    assert replay.status_code == 422
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["X-Report-ID"] == first.headers["X-Report-ID"]
    reasons = "//s:StsRsnInf/s:Rsn/s:Cd"
    assert texts(etree.fromstring(replay.content), reasons, "pacs.002.001.10") == texts(
        etree.fromstring(first.content), reasons, "pacs.002.001.10"
    )
    # JSON stays the default, and JSON first in Accept wins
    plain = api.client.post(
        "/v1/messages",
        content=PACS.read_bytes(),
        headers=api.headers(key=key(), Accept="application/json, application/xml"),
    )
    assert plain.headers["content-type"].startswith("application/json")


def test_status_message_endpoint_is_tenant_scoped(api: ApiEnv) -> None:
    response = api.client.post(
        "/v1/messages", content=PAIN.read_bytes(), headers=api.headers(key=key())
    )
    assert response.status_code == 202
    report_id = response.json()["report_id"]
    url = f"/v1/reports/{report_id}/status-message"
    mine = api.client.get(url, headers=api.headers())
    assert mine.status_code == 200
    assert mine.headers["X-Status-Message"] == "pain.002.001.10"
    chosen = api.client.get(url + "?as=pacs.002.001.10", headers=api.headers())
    assert chosen.headers["X-Status-Message"] == "pacs.002.001.10"
    junk = api.client.post(
        "/v1/messages", content=b"<not-xml", headers=api.headers(key=key(), Accept="text/xml")
    )
    assert junk.status_code == 422
    assert junk.json()["type"] == "/problems/status-message-unavailable"
    assert junk.headers["Location"] == f"/v1/reports/{junk.headers['X-Report-ID']}"
    stored = api.client.get(junk.headers["Location"], headers=api.headers())
    assert stored.json()["outcome"] == "rejected"
    theirs = api.client.get(url, headers=api.headers("NA"))
    missing = api.client.get(
        f"/v1/reports/{uuid.uuid4()}/status-message", headers=api.headers("NA")
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["type"] == missing.json()["type"]


# ------------------------------------------------------------------ MT 199 for MT channels

MT_INVALID = FIXTURES / "mt/invalid/mt.text_charset.txt"


def test_mt_message_gets_an_mt199_back_to_its_sender(gateway: Gateway) -> None:
    from gateway.fin import validate_fin
    from gateway.mt import parse_mt
    from gateway.status_message import render_mt_status

    for path, status in ((MT103, "/ACTC/"), (MT_INVALID, "/RJCT/")):
        payload = path.read_bytes()
        result = gateway.inbound(payload)
        text, findings = render_mt_status(result.report, payload)
        assert not [f for f in findings if f.severity.value == "error"], findings
        parsed = parse_mt(text)
        assert parsed.user_message is not None
        assert validate_fin(parsed.user_message) == []
        original = parse_mt(payload.decode()).user_message
        assert original is not None and original.basic_header and original.app_header
        # from the original's receiver back to its sender
        assert text.startswith("{1:F01" + original.app_header.receiver[:8])
        assert "{2:I199" + original.basic_header.lt_address[:8] in text
        assert f":21:{result.report.business_message_id}" in text
        assert f":79:{status}" in text
    rejected = gateway.inbound(MT_INVALID.read_bytes())
    text, _ = render_mt_status(rejected.report, MT_INVALID.read_bytes())
    assert "/FF01/" in text  # the ISO reason of the charset finding
    with pytest.raises(StatusMessageUnavailable, match="not stored"):
        render_mt_status(rejected.report, None)


def test_cli_writes_the_mt199(cli_env: dict[str, str]) -> None:
    ok = isogw("status-message", str(MT103), "--as", "fin.199", env=cli_env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(b"{1:F01") and b"/ACTC/" in ok.stdout
    bad = isogw("status-message", str(MT_INVALID), "--as", "fin.199", env=cli_env)
    assert bad.returncode == 1 and b"/RJCT/" in bad.stdout


def test_fin_channel_asking_for_text_gets_an_mt199(api: ApiEnv) -> None:
    headers = api.headers(key=key(), **{"Content-Type": "text/plain", "Accept": "text/plain"})
    response = api.client.post("/v1/messages", content=MT103.read_bytes(), headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["X-Status-Message"] == "fin.199"
    assert response.content.startswith(b"{1:F01") and b"/ACTC/" in response.content
    # later, the MT 199 needs the original's headers: this tenant does not store payloads
    url = f"/v1/reports/{response.headers['X-Report-ID']}/status-message?as=fin.199"
    later = api.client.get(url, headers=api.headers())
    assert later.status_code == 422
    assert later.json()["type"] == "/problems/status-message-unavailable"
    # an XML status report for the same MT message stays available
    xml = api.client.get(url.replace("fin.199", "pacs.002.001.10"), headers=api.headers())
    assert xml.status_code == 200
    assert texts(etree.fromstring(xml.content), "//s:OrgnlMsgNmId", "pacs.002.001.10") == ["MT103"]
