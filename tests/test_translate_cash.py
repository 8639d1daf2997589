"""MT -> MX for statements, notifications and investigations: MT 940/950 -> camt.053,
MT 900/910 -> camt.054, MT 192 -> camt.056, MT 196 -> camt.029 (through the canonical
event; AppHdr + Document, validated; every loss and translator-written value reported)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.pipeline import Gateway
from gateway.translate import PAIRS, Translator
from gateway.translate_mx import BUSINESS_SERVICES
from tests.conftest import FIXTURES

MT = FIXTURES / "mt"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
CASES = [
    (path, PAIRS[folder][0])
    for folder in ("fin.940", "fin.950", "fin.900", "fin.910", "fin.192", "fin.196")
    for path in sorted((MT / folder / "valid").glob("*.txt"))
]


@pytest.fixture(scope="module")
def translator(gateway: Gateway) -> Translator:
    return Translator(gateway)


def need(gateway: Gateway, target: str) -> None:
    if gateway.schemas.get(target) is None:
        pytest.skip(f"no XSD installed for {target} (../shared/samples absent)")


def document(xml: bytes) -> tuple[etree._Element, etree._Element]:
    root = etree.fromstring(xml)
    apphdr, doc = list(root)
    return apphdr, doc


def first(doc: etree._Element, path: str) -> str:
    ns = {"d": etree.QName(doc).namespace}
    return str(doc.xpath(f"string({path})", namespaces=ns))


def remove(event: dict[str, Any], path: str) -> None:
    """Remove the value at ``statement.entries[0].status.code`` (and empty parents)."""
    node: Any = event
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    trail: list[tuple[Any, Any]] = []
    for part in parts[:-1]:
        key: Any = int(part) if part.isdigit() else part
        try:
            trail.append((node, key))
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    for parent, key in reversed(trail):
        if isinstance(parent[key], dict) and not parent[key]:
            del parent[key]


@pytest.mark.parametrize(("path", "target"), CASES, ids=lambda v: getattr(v, "name", v))
def test_every_fixture_translates_validly_and_maps_back(
    gateway: Gateway, translator: Translator, path: Path, target: str
) -> None:
    need(gateway, target)
    result = translator.translate(path.read_bytes(), target, now=NOW)
    assert result.valid, [(f.code, f.message) for f in result.findings]
    assert result.outcome in ("translated", "translated_with_loss")
    assert result.output is not None
    apphdr, _ = document(result.output)
    source = result.source.message_id
    assert source is not None
    assert first(apphdr, "d:BizSvc") == BUSINESS_SERVICES[source]
    assert first(apphdr, "d:MsgDefIdr") == target
    # what the MT said survives the way back: the MX maps to the same statement / case
    back = gateway.inbound(result.output)
    assert back.accepted, [(f.code, f.message) for f in back.report.findings]
    (mt_event,) = result.events
    (mx_event,) = back.events
    for item in result.findings:  # what the translator wrote (or dropped) is not the MT's
        if item.code in ("translate.defaulted", "translate.dropped"):
            for event in (mx_event, mt_event):
                remove(event, str(item.context.get("field", "")))
    for part in ("statement", "case"):
        if part in mt_event:
            assert {k: mx_event[part].get(k) for k in mt_event[part]} == mt_event[part]
    if "original" in mt_event and mt_event["original"].get("message_id"):
        assert mx_event["original"] == mt_event["original"]


def test_mt940_statement_fields(gateway: Gateway, translator: Translator) -> None:
    need(gateway, "camt.053.001.08")
    path = MT / "fin.940/valid/statement.txt"
    result = translator.translate(path.read_bytes(), "camt.053.001.08", now=NOW)
    assert result.outcome == "translated"
    _, doc = document(result.output or b"")
    (event,) = result.events
    statement = event["statement"]
    assert first(doc, "//d:Stmt/d:Id") == statement["id"]
    assert first(doc, "//d:GrpHdr/d:CreDtTm") == "2026-11-26T09:30:00+00:00"
    assert len(doc.xpath("//d:Ntry", namespaces={"d": etree.QName(doc).namespace})) == len(
        statement["entries"]
    )
    assert first(doc, "//d:Ntry[1]/d:Sts/d:Cd") == "BOOK"
    assert first(doc, "//d:Bal[1]/d:Tp/d:CdOrPrtry/d:Cd") == "OPBD"
    defaulted = {f.context.get("field") for f in result.findings if f.code == "translate.defaulted"}
    assert "group.creation_datetime" in defaulted


def test_single_page_statement_gets_page_one_and_intermediate_pages_lose_nothing_silently(
    gateway: Gateway, translator: Translator
) -> None:
    need(gateway, "camt.053.001.08")
    text = (MT / "fin.940/valid/statement.txt").read_text()
    assert ":62F:" in text
    no_sequence = text.replace(":28C:" + text.split(":28C:")[1].split("\n")[0], ":28C:00062")
    result = translator.translate(no_sequence.encode(), "camt.053.001.08", now=NOW)
    assert result.valid, [(f.code, f.message) for f in result.findings]
    _, doc = document(result.output or b"")
    assert first(doc, "//d:StmtPgntn/d:PgNb") == "1"
    assert first(doc, "//d:StmtPgntn/d:LastPgInd") == "true"
    fields = {f.context.get("field"): f.code for f in result.findings}
    assert fields.get("statement.page_number") == "translate.defaulted"
    intermediate = no_sequence.replace(":62F:", ":62M:")
    result = translator.translate(intermediate.encode(), "camt.053.001.08", now=NOW)
    assert result.valid, [(f.code, f.message) for f in result.findings]
    _, doc = document(result.output or b"")
    assert first(doc, "//d:StmtPgntn") == ""
    fields = {f.context.get("field"): f.code for f in result.findings}
    assert fields.get("statement.last_page") == "translate.dropped"


@pytest.mark.parametrize(("name", "mark"), [("fin.900", "DBIT"), ("fin.910", "CRDT")])
def test_confirmations_become_notifications(
    gateway: Gateway, translator: Translator, name: str, mark: str
) -> None:
    need(gateway, "camt.054.001.08")
    path = sorted((MT / name / "valid").glob("*.txt"))[0]
    result = translator.translate(path.read_bytes(), "camt.054.001.08", now=NOW)
    assert result.valid
    _, doc = document(result.output or b"")
    assert first(doc, "//d:Ntry/d:CdtDbtInd") == mark
    assert first(doc, "//d:Ntry/d:Sts/d:Cd") == "BOOK"
    (event,) = result.events
    detail = event["statement"]["entries"][0]["details"][0]
    assert first(doc, "//d:TxDtls/d:Refs/d:InstrId") == detail["ids"]["instruction_id"]


def test_cancellation_request_names_the_case_creator(
    gateway: Gateway, translator: Translator
) -> None:
    need(gateway, "camt.056.001.08")
    path = MT / "fin.192/valid/with_copy.txt"
    result = translator.translate(path.read_bytes(), "camt.056.001.08", now=NOW)
    assert result.valid
    _, doc = document(result.output or b"")
    sender = first(doc, "//d:Assgnmt/d:Assgnr/d:Agt/d:FinInstnId/d:BICFI")
    assert first(doc, "//d:Case/d:Cretr/d:Agt/d:FinInstnId/d:BICFI") == sender
    assert first(doc, "//d:Assgnmt/d:CreDtTm") == "2026-11-26T09:30:00+00:00"
    assert first(doc, "//d:OrgnlGrpInf/d:OrgnlMsgNmId") == "MT103"
    defaulted = {f.context.get("field") for f in result.findings if f.code == "translate.defaulted"}
    assert {"case.case_creator", "case.assignment_datetime"} <= defaulted


def test_resolution_without_the_original_reference_drops_its_name(
    gateway: Gateway, translator: Translator
) -> None:
    need(gateway, "camt.029.001.09")
    path = MT / "fin.196/valid/pending.txt"
    result = translator.translate(path.read_bytes(), "camt.029.001.09", now=NOW)
    assert result.valid, [(f.code, f.message) for f in result.findings]
    assert result.outcome == "translated_with_loss"
    _, doc = document(result.output or b"")
    assert first(doc, "//d:OrgnlGrpInf") == ""
    dropped = {f.context.get("field") for f in result.lost}
    assert "original.message_name_id" in dropped
    assert first(doc, "//d:Sts/d:Conf") == result.events[0]["case"]["confirmation"]
