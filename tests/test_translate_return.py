"""Payment returns (pacs.004): the mapping files (pacs.004.001.09 and .10) on the
fixtures and the real sample, the outbound round trip, and the translation
pacs.004.001.09 -> MT 103 RETN / MT 202 RETN (gateway.translate_return): the exact
fields, the translation report, the output's validity and the ``isogw translate``
exit codes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from gateway.cli_translate import translate
from gateway.events import PaymentEvent
from gateway.mapping import map_outbound, render_xml
from gateway.mapping.render import IDENTITY, Placement
from gateway.mt import parse_mt
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Outcome, Severity
from gateway.translate import TranslationResult, TranslationUnsupported, Translator
from gateway.xsdmodel import XsdModel
from tests.conftest import FIXTURES, SAMPLES

V09 = FIXTURES / "mx" / "pacs.004.001.09" / "valid"
V10 = FIXTURES / "mx" / "pacs.004.001.10" / "valid"
SAMPLE_DIR = SAMPLES / "mx" / "pacs.004.001.10"
NOW = datetime(2025, 6, 12, 9, 30, tzinfo=UTC)
TX = "/Document/PmtRtr/TxInf"

CUSTOMER_103 = """\
{1:F01BNPAFRPPAXXX0000000000}{2:I103DEUTDEFFXXXXN}{3:{121:15803007-084c-4f7f-a368-f7626b68bde5}}{4:
:20:RTN2506120001
:23B:CRED
:32A:250612EUR24985,00
:33B:EUR25000,00
:50K:Atelier Perrin et Fils SARL
Lyon
FR
:59F:1/Hanseatische Werkzeug GmbH
2/Grosse Elbstrasse 145
3/DE/Hamburg 22767
:71A:BEN
:71F:EUR15,00
:72:/RETN/99
/AC04/ACCOUNT CLOSED ON 2025-05-31
/MREF/HTG-INSTR-0042
/TREF/INV-2025-00917
/TEXT/AT THE REQUEST OF ITS HOLDER
-}"""

FI_202 = """\
{1:F01BARCGB22AXXX0000000000}{2:I202DEUTDEFFXXXXN}{3:{121:2f6c0f6e-9b1d-4c55-8a3e-5d7e91b04c21}}{4:
:20:RTN-FI-20250612+
:21:TREASURY-SWAP-2+
:32A:250612GBP999975,00
:57A:DEUTDEFFXXX
:58A:COBADEFFXXX
:72:/RETN/99
/MS03/DUPL Duplicate of
/MREF/FICT-0610-88
/TREF/TREASURY-SWAP-2+
/CHGS/GBP25,00
/TEXT/FICT-0609-87
-}"""


def needs_schema(gateway: Gateway, *message_ids: str) -> None:
    for message_id in message_ids:
        if gateway.schemas.get(message_id) is None:
            pytest.skip(f"the {message_id} schema is not installed")


@pytest.fixture(scope="module")
def translator(gateway: Gateway) -> Translator:
    needs_schema(gateway, "pacs.004.001.09")
    return Translator(gateway)


def inbound(gateway: Gateway, message_id: str, payload: bytes) -> InboundResult:
    needs_schema(gateway, message_id)
    result = gateway.inbound(payload, rules=None)  # the mapping under test, not the rules
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    assert result.report.message_id == message_id
    for event in result.events:
        PaymentEvent.model_validate(event)
    return result


def unmapped(result: InboundResult) -> list[str]:
    return sorted(
        f.location.xpath or "" for f in result.report.findings if f.code == "mapping.unmapped"
    )


def text_of(result: TranslationResult) -> str:
    assert result.output is not None
    return result.output.decode().replace("\r\n", "\n")


def findings_of(result: TranslationResult, code: str) -> dict[str, Any]:
    """field (or location) -> the finding's value (defaulted) or MT tag."""
    out: dict[str, Any] = {}
    for f in result.findings:
        if f.code == code:
            key = f.context.get("field") or f.location.xpath or ""
            out[key] = f.context.get("value", f.location.mt_tag)
    return out


def translate_fixture(translator: Translator, name: str, to: str) -> TranslationResult:
    return translator.translate((V09 / name).read_bytes(), to, now=NOW)


def variant(name: str, *replacements: tuple[bytes, bytes]) -> bytes:
    payload = (V09 / name).read_bytes()
    for old, new in replacements:
        assert old in payload, old
        payload = payload.replace(old, new, 1)
    return payload


def without(payload: bytes, element: bytes) -> bytes:
    start = payload.index(b"<" + element + b">")
    end = payload.index(b"</" + element + b">") + len(element) + 3
    return payload[:start] + payload[end:]


# ------------------------------------------------------------------ inbound mapping


def test_customer_return_maps_the_return_chain_and_the_original(gateway: Gateway) -> None:
    result = inbound(gateway, "pacs.004.001.09", (V09 / "customer_return.xml").read_bytes())
    (event,) = result.events
    assert event["event_type"] == "payment.return"
    assert result.stage == "execution"
    assert event["group"] == {
        "message_id": "BNPRTN-20250612-0007",
        "creation_datetime": "2025-06-12T08:15:00+02:00",
        "number_of_transactions": "1",
    }
    assert event["ids"] == {"message_id": "BNPRTN-20250612-0007", "return_id": "RTN2506120001"}
    assert event["original"] == {
        "message_id": "HTG-PCS8-20250610-42",
        "message_name_id": "pacs.008.001.08",
        "creation_datetime": "2025-06-10T10:02:00+02:00",
        "instruction_id": "HTG-INSTR-0042",
        "end_to_end_id": "INV-2025-00917",
        "uetr": "15803007-084c-4f7f-a368-f7626b68bde5",
        "interbank_settlement_amount": {"value": "25000.00", "currency": "EUR"},
        "interbank_settlement_date": "2025-06-10",
    }
    assert event["amounts"] == {
        "returned_interbank_settlement": {"value": "24985.00", "currency": "EUR"},
        "returned_instructed": {"value": "25000.00", "currency": "EUR"},
        "charges": [
            {"amount": {"value": "15.00", "currency": "EUR"}, "agent": {"bic": "BNPAFRPPXXX"}}
        ],
    }
    assert event["dates"] == {"interbank_settlement": "2025-06-12"}
    assert event["settlement"] == {"method": "INDA"}
    assert event["charge_bearer"] == "CRED"
    assert event["instructing_agent"] == {"bic": "BNPAFRPPXXX"}
    assert event["instructed_agent"] == {"bic": "DEUTDEFFXXX"}
    assert event["debtor"] == {
        "name": "Atelier Perrin et Fils SARL",
        "postal_address": {"town_name": "Lyon", "country": "FR"},
    }
    assert event["debtor_agent"] == {"bic": "BNPAFRPPXXX"}
    assert event["creditor_agent"] == {"bic": "DEUTDEFFXXX"}
    assert event["creditor"]["name"] == "Hanseatische Werkzeug GmbH"
    assert event["creditor"]["postal_address"]["post_code"] == "22767"
    assert event["reasons"] == [
        {
            "originator": {"name": "BNP Paribas Lyon Part-Dieu"},
            "reason": {"code": "AC04"},
            "additional_info": ["ACCOUNT CLOSED ON 2025-05-31 AT THE REQUEST OF ITS HOLDER"],
        }
    ]
    for absent in ("debtor_account", "creditor_account", "debtor_institution", "payment_type"):
        assert absent not in event
    # the original transaction's parties and accounts have no canonical field
    assert unmapped(result) == [
        f"{TX}/OrgnlTxRef/Cdtr/Pty/Nm",
        f"{TX}/OrgnlTxRef/CdtrAcct/Id/IBAN",
        f"{TX}/OrgnlTxRef/Dbtr/Pty/Nm",
        f"{TX}/OrgnlTxRef/DbtrAcct/Id/IBAN",
    ]


def test_fi_return_maps_institutions_and_group_values(gateway: Gateway) -> None:
    result = inbound(gateway, "pacs.004.001.09", (V09 / "fi_return.xml").read_bytes())
    (event,) = result.events
    assert event["debtor_institution"] == {"bic": "BARCGB22XXX"}
    assert event["creditor_institution"] == {"bic": "COBADEFFXXX"}
    assert "debtor" not in event and "creditor" not in event
    assert event["group"]["total_interbank_settlement_amount"] == {
        "value": "999975.00",
        "currency": "GBP",
    }
    # group values every transaction inherits
    assert event["dates"] == {"interbank_settlement": "2025-06-12"}
    assert event["instructing_agent"] == {"bic": "BARCGB22XXX"}
    assert event["instructed_agent"] == {"bic": "DEUTDEFFXXX"}
    assert event["original"]["message_name_id"] == "pacs.009.001.08"
    assert event["reasons"] == [
        {"reason": {"code": "DUPL"}, "additional_info": ["Duplicate of FICT-0609-87"]}
    ]
    assert unmapped(result) == []


def test_v10_return_chain_carries_the_accounts(gateway: Gateway) -> None:
    result = inbound(gateway, "pacs.004.001.10", (V10 / "customer_return.xml").read_bytes())
    (event,) = result.events
    assert event["debtor_account"] == {"iban": "FR7630004028370001049283711"}
    assert event["creditor_account"] == {"iban": "DE09200700000473859201"}
    assert event["ids"]["return_id"] == "RTN2506120002"
    assert event["source"]["mapping"] == "pacs.004.001.10@1"
    assert unmapped(result) == [f"{TX}/OrgnlTxRef/PmtTpInf/SvcLvl/Cd"]


@pytest.mark.skipif(not SAMPLE_DIR.is_dir(), reason="../shared/samples/mx is absent")
@pytest.mark.parametrize("path", sorted(SAMPLE_DIR.glob("*.xml")), ids=lambda p: p.stem)
def test_real_pacs004_v10_sample_maps(gateway: Gateway, path: Path) -> None:
    result = inbound(gateway, "pacs.004.001.10", path.read_bytes())
    (event,) = result.events
    assert event["event_type"] == "payment.return"
    assert event["group"]["message_id"] == "20250310ISOTEST1000912"
    assert event["original"]["uetr"] == "8a562c67-ca16-48ba-b074-65581be6f011"
    assert event["original"]["message_name_id"] == "pacs.008.001.08"
    assert event["amounts"]["returned_interbank_settlement"] == {
        "value": "151000.74",
        "currency": "USD",
    }
    assert event["reasons"][0]["reason"] == {"code": "DUPL"}
    assert event["debtor"]["name"] == "Corporation B"
    assert event["debtor_account"] == {"other": {"id": "567876543"}}
    assert event["creditor"]["name"] == "Corporation A"
    assert event["creditor_account"] == {"other": {"id": "5647772655"}}
    assert event["instructing_agent"]["clearing_member"]["member_id"] == "021040078"
    assert event["settlement"] == {"method": "CLRG", "clearing_system": {"code": "FDW"}}
    assert all("/OrgnlTxRef/" in xpath for xpath in unmapped(result))


# ------------------------------------------------------------------ outbound round trip


def _round_trip_inputs() -> list[Any]:
    paths = [*sorted(V09.glob("*.xml")), *sorted(V10.glob("*.xml"))]
    paths += sorted(SAMPLE_DIR.glob("*.xml")) if SAMPLE_DIR.is_dir() else []
    return [pytest.param(p, id=f"{p.parent.parent.name}-{p.stem}") for p in paths]


@pytest.mark.parametrize("placement", ["innermost", "outermost"])
@pytest.mark.parametrize("path", _round_trip_inputs())
def test_round_trip_through_map_outbound(
    gateway: Gateway, path: Path, placement: Placement
) -> None:
    message_id = path.parent.name if path.parent.name != "valid" else path.parent.parent.name
    events = inbound(gateway, message_id, path.read_bytes()).events
    entry = gateway.schemas.get(message_id)
    mapping = gateway.mappings.get(message_id)
    assert entry is not None and mapping is not None
    result = map_outbound(events, mapping, XsdModel.load(entry.path), placement=placement)
    assert result.findings == []
    assert gateway.schemas.validate(result.document, entry) == []
    again = inbound(gateway, message_id, render_xml(result.document)).events

    def payload(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in IDENTITY} for e in items]

    assert payload(again) == payload(events)


# ------------------------------------------------------------------ translation


def test_customer_return_is_an_mt103_retn(translator: Translator, gateway: Gateway) -> None:
    result = translate_fixture(translator, "customer_return.xml", "fin.103")
    assert result.target == "fin.103"
    assert text_of(result) == CUSTOMER_103
    assert result.valid and result.outcome == "translated_with_loss"
    assert not [f for f in result.findings if f.severity is Severity.ERROR]
    assert findings_of(result, "translate.defaulted") == {"23B": "CRED", "/RETN/": "99"}
    dropped = findings_of(result, "translate.dropped")
    assert set(dropped) == {
        f"{TX}/OrgnlTxRef/Cdtr/Pty/Nm",
        f"{TX}/OrgnlTxRef/CdtrAcct/Id/IBAN",
        f"{TX}/OrgnlTxRef/Dbtr/Pty/Nm",
        f"{TX}/OrgnlTxRef/DbtrAcct/Id/IBAN",
        "reasons[0].originator.name",
        "original.message_id",
        "original.message_name_id",
        "original.creation_datetime",
        "original.interbank_settlement_amount.value",
        "original.interbank_settlement_amount.currency",
        "original.interbank_settlement_date",
    }
    assert findings_of(result, "translate.truncated") == {}
    origin = next(f for f in result.findings if f.context.get("field") == "original.message_id")
    assert origin.location.xpath == f"{TX}/OrgnlGrpInf/OrgnlMsgId"
    # what isogw translate writes, the gateway reads as an MT 103 (a return: field 72)
    checked = gateway.inbound(result.output or b"", rules=None)
    assert checked.accepted and checked.report.message_id == "fin.103"
    message = parse_mt(result.output or b"").user_message
    assert message is not None and message.uetr == "15803007-084c-4f7f-a368-f7626b68bde5"


@pytest.mark.parametrize("to", ["fin.202", "fin.103"])
def test_fi_return_is_an_mt202_retn_whichever_family_is_asked(
    translator: Translator, gateway: Gateway, to: str
) -> None:
    result = translate_fixture(translator, "fi_return.xml", to)
    assert result.target == "fin.202" and result.requested == to
    assert text_of(result) == FI_202
    assert result.valid and result.outcome == "translated_with_loss"
    defaulted = findings_of(result, "translate.defaulted")
    expected = {"/RETN/": "99", "reasons[0].reason": "MS03"}
    if to == "fin.103":
        expected["{2:}"] = "202"
    assert defaulted == expected
    truncated = [(f.context["field"], f.location.mt_tag) for f in result.findings
                 if f.code == "translate.truncated"]  # fmt: skip
    assert truncated == [
        ("ids.return_id", ":20:"),
        ("original.end_to_end_id", ":21:"),
        ("original.end_to_end_id", ":72:"),
    ]
    assert set(findings_of(result, "translate.dropped")) == {
        "original.message_id",
        "original.message_name_id",
    }
    assert gateway.inbound(result.output or b"", rules=None).accepted


def test_customer_return_asked_as_202_is_an_mt103(translator: Translator) -> None:
    result = translate_fixture(translator, "customer_return.xml", "fin.202")
    assert result.target == "fin.103"
    assert findings_of(result, "translate.defaulted")["{2:}"] == "103"
    assert text_of(result) == CUSTOMER_103


def test_the_mt_return_is_not_translated_back_into_a_credit_transfer(
    translator: Translator,
) -> None:
    there = translate_fixture(translator, "customer_return.xml", "fin.103")
    back = translator.translate(there.output or b"", "pacs.008.001.08", now=NOW)
    assert back.output is None and back.outcome == "invalid"
    error = next(f for f in back.findings if f.severity is Severity.ERROR)
    assert error.context == {"rule": "PREC002", "swift_error": "T20063"}


def test_charges_with_71a_our(translator: Translator) -> None:
    """OUR: the receiver's charge is 71G, the sender's goes to 72 /CHGS/ (E13: no 71F)."""
    receiver_charge = b"""<ChrgsInf>
        <Amt Ccy="EUR">20.00</Amt>
        <Agt><FinInstnId><BICFI>DEUTDEFFXXX</BICFI></FinInstnId></Agt>
      </ChrgsInf>
      <InstgAgt>"""
    payload = variant(
        "customer_return.xml",
        (b"<ChrgBr>CRED</ChrgBr>", b"<ChrgBr>DEBT</ChrgBr>"),
        (b"<InstgAgt>", receiver_charge),
    )
    result = translator.translate(payload, "fin.103", now=NOW)
    assert result.valid
    text = text_of(result)
    assert ":71A:OUR\n:71G:EUR20,00\n:72:" in text and ":71F:" not in text
    assert "/TREF/INV-2025-00917\n/CHGS/EUR15,00\n/TEXT/" in text
    dropped = findings_of(result, "translate.dropped")
    assert not [f for f in dropped if f.startswith("amounts.charges")]  # both agents said


def test_missing_return_id_reason_and_instructed_amount(translator: Translator) -> None:
    payload = variant(
        "customer_return.xml",
        (b"<RtrId>RTN2506120001</RtrId>", b""),
        (b'<RtrdInstdAmt Ccy="EUR">25000.00</RtrdInstdAmt>', b""),
    )
    result = translator.translate(without(payload, b"RtrRsnInf"), "fin.103", now=NOW)
    assert result.valid
    text = text_of(result)
    assert ":20:BNPRTN-20250612+\n" in text
    assert ":33B:EUR25000,00\n" in text  # C2 (FR and DE) and C15 (71F): 32A + 71F
    assert ":72:/RETN/99\n/MS03/\n/MREF/HTG-INSTR-0042\n/TREF/INV-2025-00917\n-}" in text
    defaulted = findings_of(result, "translate.defaulted")
    assert defaulted["ids.return_id"] == "BNPRTN-20250612+"
    assert defaulted["amounts.returned_instructed"] == "EUR25000,00"
    assert defaulted["reasons[0].reason"] == "MS03"
    truncated = next(f for f in result.findings if f.code == "translate.truncated")
    assert truncated.context["field"] == "ids.message_id"
    assert truncated.location.xpath == "/Document/PmtRtr/GrpHdr/MsgId"


def test_further_reasons_go_to_text_and_72_is_cut_at_six_lines(
    translator: Translator,
) -> None:
    second = b"""<RtrRsnInf>
        <Rsn><Prtry>BANK-POLICY</Prtry></Rsn>
        <AddtlInf>SECOND REASON, TOLD AT LENGTH SO THAT IT CANNOT FIT IN THE LINE LEFT</AddtlInf>
      </RtrRsnInf>
      <OrgnlTxRef>"""
    payload = variant("customer_return.xml", (b"<OrgnlTxRef>", second))
    result = translator.translate(payload, "fin.103", now=NOW)
    assert result.valid
    lines = text_of(result).split(":72:")[1].split("\n-}")[0].split("\n")
    assert len(lines) == 6
    assert lines[5] == "/TEXT/BANK-POLICY SECOND REASON, T+"
    cut = next(f for f in result.findings if f.code == "translate.truncated")
    assert cut.context["field"] == "reasons[1]" and cut.location.mt_tag == ":72:"


def test_an_institution_as_return_debtor_is_50a(translator: Translator) -> None:
    """A customer creditor makes it an MT 103; the debtor institution is 50A (its BIC)."""
    debtor = b"""<Dbtr>
          <Agt><FinInstnId><BICFI>BNPAFRPPLYO</BICFI></FinInstnId></Agt>
        </Dbtr>"""
    payload = (V09 / "customer_return.xml").read_bytes()
    start, end = payload.index(b"<Dbtr>"), payload.index(b"</Dbtr>") + len(b"</Dbtr>")
    result = translator.translate(payload[:start] + debtor + payload[end:], "fin.103", now=NOW)
    assert result.target == "fin.103" and result.valid
    assert ":33B:EUR25000,00\n:50A:BNPAFRPPLYO\n:59F:" in text_of(result)


def test_a_return_without_its_chain_cannot_be_written(translator: Translator) -> None:
    """No RtrChain: no party (so MT 202) and no beneficiary institution for 58a."""
    payload = without((V09 / "fi_return.xml").read_bytes(), b"RtrChain")
    result = translator.translate(payload, "fin.202", now=NOW)
    assert result.output is None and result.outcome == "invalid"
    error = result.findings[-1]
    assert error.code == "mapping.missing_mandatory"
    assert error.context["fields"] == ["creditor_institution (58a)"]


@pytest.mark.parametrize(
    ("path", "to"),
    [(V09 / "customer_return.xml", "fin.103.STP"), (V10 / "customer_return.xml", "fin.103")],
    ids=["09-to-103STP", "10-to-103"],
)
def test_unsupported_return_pairs(translator: Translator, path: Path, to: str) -> None:
    with pytest.raises(TranslationUnsupported, match="translates"):
        translator.translate(path.read_bytes(), to, now=NOW)


# ------------------------------------------------------------------ isogw translate

_app = typer.Typer()
_app.command("translate")(translate)


@_app.callback()
def _root() -> None:
    """A group, like ``isogw``: the command is invoked by name."""


def test_cli_exit_codes_with_and_without_allow_loss(
    translator: Translator, test_env: dict[str, str], tmp_path: Path
) -> None:
    source = str(V09 / "customer_return.xml")
    runner = CliRunner()
    lossy = runner.invoke(_app, ["translate", source, "--to", "fin.103"], env=test_env)
    assert lossy.exit_code == 1, lossy.stderr
    assert lossy.stdout.replace("\r\n", "\n") == CUSTOMER_103  # valid output, still written
    assert "translated_with_loss" in lossy.stderr and "translate.dropped" in lossy.stderr
    out = tmp_path / "return.txt"
    args = ["translate", source, "--to", "fin.202", "--allow-loss", "-o", str(out)]
    allowed = runner.invoke(_app, args, env=test_env)
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.stdout == ""
    assert out.read_bytes().decode().replace("\r\n", "\n") == CUSTOMER_103
    assert allowed.stderr.startswith("pacs.004.001.09 -> fin.103: translated_with_loss")
