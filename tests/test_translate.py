"""Translation (gateway.translate and its parts): fixture pairs (input + expected output
and report), the CBPR+ defaults and their reporting, loss reporting, refusal, invalid
output, unsupported pairs, the gateway's own acceptance of translated messages, the
helpers (truncation, coverage reader, code maps), and the real samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.errors import ConfigError
from gateway.mt import parse_mt
from gateway.pipeline import Gateway, RuleSelection
from gateway.report import CATALOGUE, Severity
from gateway.settings import Settings
from gateway.translate import PAIRS, TranslationResult, TranslationUnsupported, Translator
from gateway.translate_mx import BUSINESS_SERVICES, ENVELOPE, element_path
from gateway.translate_report import (
    LOSS_CODES,
    TRANSLATE_CODES,
    EventReader,
    Ledger,
    truncate,
)
from gateway.translate_text import Context, narrative_lines, same_bic, wrap, x_text
from tests.conftest import FIXTURES, REPO, SAMPLES

HERE = FIXTURES / "translate"
NOW = datetime(2025, 6, 12, 9, 30, tzinfo=UTC)
#: input file -> target message id: expected output <stem>.<target>.<ext> and the
#: expected report <stem>.<target>.report.json ([code, field or location] per finding)
EXPECTED = [
    ("fin.103.options.txt", "pacs.008.001.08"),
    ("fin.103.STP.cover.txt", "pacs.008.001.08"),
    ("fin.202.treasury.txt", "pacs.009.001.08"),
    ("pacs.008.001.08.lossy.xml", "fin.103"),
    ("pacs.009.001.08.cover.xml", "fin.202"),
    ("fin.103.returned.txt", "pacs.008.001.08"),
]
MT_SAMPLES = sorted(
    p
    for folder in ("MT103", "MT103STP", "MT202")
    for p in (SAMPLES / "mt" / folder).glob("*.txt")
    if (SAMPLES / "mt").is_dir()
)
MX_SAMPLES = sorted(
    p
    for folder in ("pacs.008.001.08", "pacs.009.001.08")
    for p in (SAMPLES / "mx" / folder).glob("*.xml")
    if (SAMPLES / "mx").is_dir()
)


@pytest.fixture(scope="module")
def translator(gateway: Gateway) -> Translator:
    return Translator(gateway)


def needs_schema(gateway: Gateway, *message_ids: str) -> None:
    for message_id in message_ids:
        if gateway.schemas.get(message_id) is None:
            pytest.skip(f"the {message_id} schema is not installed")


def run(translator: Translator, name: str, to: str) -> TranslationResult:
    return translator.translate((HERE / name).read_bytes(), to, now=NOW)


def summary(result: TranslationResult) -> list[list[str]]:
    out = []
    for f in result.findings:
        where = f.context.get("field") or f.location.mt_tag or f.location.xpath or ""
        out.append([f.code, str(where)])
    return out


def expected_name(name: str, to: str, suffix: str) -> Path:
    stem = name.rsplit(".", 1)[0]
    return HERE / f"{stem}.{to}.{suffix}"


# ------------------------------------------------------------------ fixture pairs


@pytest.mark.parametrize(("name", "to"), EXPECTED, ids=[f"{n}->{t}" for n, t in EXPECTED])
def test_fixture_pairs(translator: Translator, gateway: Gateway, name: str, to: str) -> None:
    if "009" in name + to or "202" in name:
        needs_schema(gateway, "pacs.009.001.08")
    result = run(translator, name, to)
    expected = json.loads(expected_name(name, to, "report.json").read_text())
    assert summary(result) == expected["findings"]
    assert result.outcome == expected["outcome"]
    suffix = "xml" if to.startswith("pacs") else "txt"
    output = expected_name(name, to, suffix)
    if result.output is None:
        assert not output.exists()
    else:
        assert result.output == output.read_bytes()


@pytest.mark.parametrize(("name", "to"), [p for p in EXPECTED if "returned" not in p[0]])
def test_translated_output_is_accepted_by_the_gateway(
    translator: Translator, gateway: Gateway, name: str, to: str
) -> None:
    """What isogw translate writes, isogw validate accepts (envelope, XSDs, MT rules,
    business pack) and maps to the same payment."""
    if "009" in name + to or "202" in name:
        needs_schema(gateway, "pacs.009.001.08")
    result = run(translator, name, to)
    assert result.valid and result.output is not None
    checked = gateway.inbound(result.output, rules=RuleSelection(packs=("cbpr-plus",)))
    errors = [(f.code, f.message) for f in checked.report.findings if f.severity is Severity.ERROR]
    assert errors == []
    if to.startswith("pacs"):
        assert checked.report.envelope == f"{ENVELOPE}/AppHdr+Document"


@pytest.mark.parametrize(
    "name",
    [
        "fin.103.options.txt",
        "fin.103.STP.cover.txt",
        "fin.202.treasury.txt",
        *(
            f"../mt/mapping/{p.name}"
            for p in sorted((FIXTURES / "mt" / "mapping").glob("*.equivalent.txt"))
        ),
    ],
)
def test_mt_to_mx_to_mt_gives_the_message_back(
    translator: Translator, gateway: Gateway, name: str
) -> None:
    """Fixtures written the way the translator writes MT come back field for field."""
    payload = (HERE / name).read_bytes()
    source = parse_mt(payload).user_message
    assert source is not None and source.text is not None
    mx_id = PAIRS[str(source.message_id)][0]
    needs_schema(gateway, mx_id)
    there = translator.translate(payload, mx_id, now=NOW)
    assert there.valid and there.output is not None
    back = translator.translate(there.output, str(source.message_id), now=NOW)
    assert back.valid and not back.lost, [(f.code, f.message) for f in back.lost]
    again = parse_mt(back.output or b"").user_message
    assert again is not None and again.text is not None
    assert [(f.tag, f.value) for f in again.text.fields] == [
        (f.tag, f.value) for f in source.text.fields
    ]
    assert again.uetr == source.uetr


# ------------------------------------------------------------------ CBPR+ values


def test_mt_to_mx_defaults_are_reported_as_the_translators_own(translator: Translator) -> None:
    result = run(translator, "fin.103.options.txt", "pacs.008.001.08")
    defaulted = {
        f.context["field"]: f.context["value"]
        for f in result.findings
        if f.code == "translate.defaulted"
    }
    assert defaulted == {
        "group.creation_datetime": "2025-06-12T09:30:00+00:00",
        "group.number_of_transactions": "1",
        "ids.end_to_end_id": "NOTPROVIDED",
        "settlement.method": "INDA",
        "amounts.charges[0].agent": "NOTPROVIDED (name and address line)",
        "previous_instructing_agent_1.postal_address.address_lines": "NOTPROVIDED",
    }
    assert all(f.severity is Severity.INFO for f in result.findings)
    xml = (result.output or b"").decode()
    assert "<BizSvc>swift.cbprplus.03</BizSvc>" in xml
    assert "<CreDt>2025-06-12T09:30:00+00:00</CreDt>" in xml


def test_settlement_method_cove_with_a_reimbursement_agent(translator: Translator) -> None:
    result = run(translator, "fin.103.STP.cover.txt", "pacs.008.001.08")
    xml = (result.output or b"").decode()
    assert "<SttlmMtd>COVE</SttlmMtd>" in xml
    assert "<BizSvc>swift.cbprplus.stp.03</BizSvc>" in xml
    assert "<InstgRmbrsmntAgt>" in xml


def test_business_services_are_those_of_the_cbpr_pack() -> None:
    pack = yaml.safe_load((REPO / "packs" / "cbpr-plus" / "sr2025.yaml").read_text())
    rule = next(r for r in pack["rules"] if r["id"] == "cbpr.business_service_version")
    allowed = rule["params"]["allowed"]
    assert set(BUSINESS_SERVICES) == {s for s in PAIRS if s.startswith("fin.")}
    for source, service in BUSINESS_SERVICES.items():
        target = PAIRS[source][0]
        # the pack judges pacs.008/009 and camt.054; the other camt guidelines: prefix only
        assert service in allowed.get(target, [service])
        assert service.startswith(pack["match"]["business_service"][0])


# ------------------------------------------------------------------ loss


def test_mx_to_mt_reports_every_loss(translator: Translator) -> None:
    result = run(translator, "pacs.008.001.08.lossy.xml", "fin.103")
    assert result.outcome == "translated_with_loss"
    lost = {f.context["field"]: f for f in result.lost}
    truncated = lost["ids.instruction_id"]
    assert truncated.code == "translate.truncated"
    assert truncated.location.mt_tag == ":20:"
    assert truncated.location.xpath == "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/PmtId/InstrId"
    assert truncated.context["original_length"] == 22
    assert truncated.context["kept_length"] == 16
    assert lost["ultimate_debtor.name"].code == "translate.dropped"
    assert lost["intermediary_agent_2.bic"].location.xpath.endswith("IntrmyAgt2/FinInstnId/BICFI")
    assert lost["debtor.name"].code == "translate.replaced"
    text = (result.output or b"").decode()
    assert ":20:LOSSY-INSTRUCTI+" in text
    assert text.split(":70:")[1].split(":71A:")[0].rstrip().endswith("+")


def test_source_data_the_event_lacks_is_reported_dropped(translator: Translator) -> None:
    payload = (FIXTURES / "mt" / "mapping" / "fin.103.options.txt").read_bytes()
    result = translator.translate(payload, "pacs.008.001.08", now=NOW)
    dropped = [f.location.mt_tag for f in result.findings if f.code == "translate.dropped"]
    assert dropped == [":13C:", ":52D:", ":53B:", "{3:108}"]
    assert result.outcome == "translated_with_loss"


def test_a_value_no_field_takes_is_reported(translator: Translator) -> None:
    """Coverage by set difference: a canonical value the renderer leaves is reported."""
    reader = EventReader({"event_id": "x", "debtor": {"name": "A", "contact": {"email": "e"}}})
    assert reader.get("debtor.name") == "A"
    assert reader.leftovers() == [("debtor.contact.email", "e")]
    reader.take("debtor.contact")
    assert reader.leftovers() == []


def test_truncation_follows_the_swift_convention() -> None:
    assert truncate("ABCDEFGHIJ", 5) == ("ABCD+", True)
    assert truncate("ABCDE", 5) == ("ABCDE", False)


def test_narrative_lines_cut_and_drop_word_by_word() -> None:
    ledger = Ledger()
    ctx = Context(EventReader({}), ledger, {}, lambda path: None)
    words: list[tuple[str, str | None, str]] = [
        ("a", "ACC", "X" * 100),
        ("b", "REC", "Y" * 10),
    ]
    lines = narrative_lines(ctx, words, 3, ":72:")
    assert lines == ["/ACC/" + "X" * 30, "//" + "X" * 33, "//" + "X" * 32 + "+"]
    assert [f.code for f in ledger.findings] == ["translate.truncated", "translate.dropped"]


def test_text_outside_the_x_set_is_replaced_and_reported() -> None:
    ledger = Ledger()
    ctx = Context(EventReader({}), ledger, {}, lambda path: None)
    assert x_text(ctx, "Müller & Söhne", "debtor.name", ":50K:") == "Muller . Sohne"
    assert [f.code for f in ledger.findings] == ["translate.replaced"]
    assert x_text(ctx, "PLAIN TEXT", "debtor.name", ":50K:") == "PLAIN TEXT"


def test_wrap_and_bic_helpers() -> None:
    assert wrap("AAA BBB CCC", 7) == ["AAA BBB", "CCC"]
    assert wrap("ABCDEFGHIJ", 4) == ["ABCD", "EFGH", "IJ"]
    assert same_bic("DEUTDEFF", "DEUTDEFFXXX")
    assert not same_bic("DEUTDEFF", "DEUTDEFF500")


# ------------------------------------------------------------------ refusal and errors


def test_a_rejected_source_is_not_translated(translator: Translator) -> None:
    result = run(translator, "fin.103.invalid_date.txt", "pacs.008.001.08")
    assert result.refused and result.output is None and result.outcome == "refused"
    report = result.report_json()
    assert report["source_report"]["outcome"] == "rejected"
    assert any(f["code"] == "mt.field_format" for f in report["source_report"]["findings"])


def test_a_return_is_not_translated_into_a_credit_transfer(translator: Translator) -> None:
    result = run(translator, "fin.103.returned.txt", "pacs.008.001.08")
    assert result.outcome == "invalid" and result.output is None
    error = next(f for f in result.findings if f.severity is Severity.ERROR)
    assert error.context == {"rule": "PREC002", "swift_error": "T20063"}


@pytest.mark.parametrize(
    ("name", "to"),
    [
        ("fin.103.options.txt", "fin.202"),
        ("fin.103.options.txt", "pacs.009.001.08"),
        ("pacs.008.001.08.lossy.xml", "pacs.008.001.12"),
        ("../mt/fin.940/valid/statement.txt", "camt.054.001.08"),
    ],
)
def test_unsupported_pairs_are_refused(translator: Translator, name: str, to: str) -> None:
    with pytest.raises(TranslationUnsupported, match="translates"):
        run(translator, name, to)


def test_a_malformed_target_is_refused(translator: Translator) -> None:
    with pytest.raises(TranslationUnsupported, match="--to"):
        run(translator, "fin.103.options.txt", "pacs.8")


def test_mx_without_sender_bic_cannot_be_written_as_mt(translator: Translator) -> None:
    xml = (HERE / "pacs.008.001.08.lossy.xml").read_bytes()
    for agent in (b"InstgAgt", b"InstdAgt"):
        start = xml.index(b"<" + agent + b">")
        xml = xml[:start] + xml[xml.index(b"</" + agent + b">") + len(agent) + 3 :]
    result = translator.translate(xml, "fin.103", now=NOW)
    assert result.outcome == "invalid" and result.output is None
    assert result.findings[-1].code == "mapping.missing_mandatory"


def test_an_invalid_output_is_kept_and_marked(translator: Translator) -> None:
    """An instructed amount in another currency without an exchange rate gives an MT
    103 that breaks rule C1 (D75): kept for inspection, never valid."""
    xml = (HERE / "pacs.008.001.08.lossy.xml").read_bytes()
    xml = xml.replace(b'<InstdAmt Ccy="EUR">', b'<InstdAmt Ccy="USD">')
    result = translator.translate(xml, "fin.103", now=NOW)
    assert result.output is not None and not result.valid and result.outcome == "invalid"
    error = next(f for f in result.findings if f.severity is Severity.ERROR)
    assert (error.code, error.context["swift_error"]) == ("mt.network_rule", "D75")


def test_what_an_mt_103_stp_option_cannot_carry_is_dropped(translator: Translator) -> None:
    """MT 103 STP allows 52A, 56A, 57A only: agents known by name or clearing code
    alone are reported dropped, the message stays valid."""
    payload = (HERE / "fin.103.options.txt").read_bytes()
    there = translator.translate(payload, "pacs.008.001.08", now=NOW)
    back = translator.translate(there.output or b"", "fin.103.STP", now=NOW)
    assert back.valid and back.outcome == "translated_with_loss"
    dropped = {f.context["field"] for f in back.lost}
    assert {
        "debtor_agent.name",
        "intermediary_agent_1.clearing_member.clearing_system.code",
        "creditor_agent.name",
        "instructions_for_creditor_agent[0].code",
    } <= dropped
    text = (back.output or b"").decode()
    assert ":52D:" not in text and ":56C:" not in text and ":23E:PHOB" not in text


def test_missing_code_maps_are_a_configuration_error(tmp_path: Path, settings: Settings) -> None:
    gateway = Gateway.from_settings(settings)
    gateway.settings = Settings.from_env({"GATEWAY_MAPPING_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"cbpr-plus\.yaml"):
        Translator(gateway)


# ------------------------------------------------------------------ report and codes


def test_translation_codes_are_in_the_catalogue() -> None:
    assert set(TRANSLATE_CODES) == {
        "translate.truncated",
        "translate.dropped",
        "translate.replaced",
        "translate.defaulted",
        "translate.regenerated",
    }
    assert set(TRANSLATE_CODES) >= LOSS_CODES
    assert set(TRANSLATE_CODES) <= set(CATALOGUE)
    assert all(TRANSLATE_CODES[c].severity is Severity.WARNING for c in LOSS_CODES)
    assert all(
        TRANSLATE_CODES[c].severity is Severity.INFO for c in set(TRANSLATE_CODES) - LOSS_CODES
    )
    # documented with the rest of the catalogue (docs/findings.md is generated from it)
    findings_doc = (Path(__file__).resolve().parents[1] / "docs" / "findings.md").read_text()
    assert all(f"`{code}`" in findings_doc for code in TRANSLATE_CODES)


def test_report_json_shape(translator: Translator) -> None:
    result = run(translator, "pacs.008.001.08.lossy.xml", "fin.103")
    report: dict[str, Any] = result.report_json()
    assert set(report) == {
        "source",
        "target",
        "translated_at",
        "outcome",
        "data_lost",
        "output_sha256",
        "findings",
    }
    assert report["source"]["message_id"] == "pacs.008.001.08"
    assert report["target"] == {"message_id": "fin.103", "requested": "fin.103"}
    assert report["data_lost"] is True
    json.dumps(report)


def test_element_path_names_the_innermost_scope(gateway: Gateway) -> None:
    mapping = gateway.mappings.get("pacs.008.001.08")
    assert mapping is not None
    root = "/Document/FIToFICstmrCdtTrf"
    assert element_path(mapping, "debtor.name") == f"{root}/CdtTrfTxInf/Dbtr/Nm"
    assert element_path(mapping, "group.creation_datetime") == f"{root}/GrpHdr/CreDtTm"
    assert element_path(mapping, "settlement.method") == f"{root}/GrpHdr/SttlmInf/SttlmMtd"
    assert element_path(mapping, "nothing.here") is None


# ------------------------------------------------------------------ real samples


@pytest.mark.skipif(not MT_SAMPLES, reason="../shared/samples/mt is absent")
@pytest.mark.parametrize("path", MT_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_real_mt_samples_translate_or_are_refused_cleanly(
    translator: Translator, gateway: Gateway, path: Path
) -> None:
    to = "pacs.009.001.08" if "202" in path.parent.name else "pacs.008.001.08"
    needs_schema(gateway, to)
    result = translator.translate(path.read_bytes(), to, now=NOW)
    if result.refused:
        assert result.output is None and result.findings == []
        return
    assert result.valid, [(f.code, f.message) for f in result.findings]
    assert gateway.inbound(result.output or b"", rules=None).accepted


@pytest.mark.skipif(not MX_SAMPLES, reason="../shared/samples/mx is absent")
@pytest.mark.parametrize("path", MX_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_real_mx_samples_translate_or_are_refused_cleanly(
    translator: Translator, gateway: Gateway, path: Path
) -> None:
    needs_schema(gateway, path.parent.name)
    to = "fin.202" if "009" in path.parent.name else "fin.103"
    result = translator.translate(path.read_bytes(), to, now=NOW)
    if result.refused or result.output is None:
        assert result.outcome in ("refused", "invalid")
        return
    assert result.valid, [(f.code, f.message) for f in result.findings]
    assert gateway.inbound(result.output, rules=None).accepted
