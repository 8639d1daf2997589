"""The shipped mapping files on real and fixture messages.

For every mapping file covered here and every valid message of its id (the
project's fixtures under ``tests/fixtures/mx/<id>/valid`` and the third-party
samples under ``../shared/samples/mx/<id>``):

* the message is not rejected and yields one event per ``CdtTrfTxInf``;
* every event validates as :class:`PaymentEvent`;
* key values are the ones the XML carries, read independently with lxml
  (end-to-end id, amounts, parties, accounts, dates inherited from ``PmtInf``);
* every ``mapping.unmapped`` finding names an element the canonical model has
  no field for (any other unmapped element is a mapping gap).

A few values read from the fixtures by hand, and two small inline messages that
exercise the block/transaction precedence of pain.001, complete the picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.events import PaymentEvent
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Outcome

REPO = Path(__file__).resolve().parents[1]
MAPPINGS = REPO / "mappings"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mx"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"

MESSAGE_IDS = ("pacs.008.001.12", "pain.001.001.09", "pain.001.001.03", "pacs.009.001.08")

# Elements the canonical PaymentEvent v1 has no field for (substrings of the
# unmapped xpath). Anything else reported as unmapped is a mapping gap.
_CANONICAL_GAPS_COMMON = (
    "/SplmtryData/",
    "/Tax/",
    "/RltdRmtInf/",
    "/BrnchId/LEI",
    "/BrnchId/PstlAdr/",
    "/CtctDtls/Othr/ChanlTp",
    "/CtctDtls/URLAdr",
    "/CtctDtls/EmailPurp",
    "/CtctDtls/JobTitl",
    "/CtctDtls/Rspnsblty",
    "/CtctDtls/Dept",
    "/CtctDtls/PrefrdMtd",
    "/AdrTp/Prtry/Issr",
    "/AdrTp/Prtry/SchmeNm",
    "/RmtInf/Strd/TaxRmt/",
    "/RmtInf/Strd/GrnshmtRmt/",
    "/RfrdDocInf/LineDtls/",
    "/RfrdDocAmt/DscntApldAmt",
    "/RfrdDocAmt/CdtNoteAmt",
    "/RfrdDocAmt/TaxAmt",
    "/RfrdDocAmt/AdjstmntAmtAndRsn/",
    "/SttlmTmIndctn/",
    "/SttlmTmReq/",
)
_CANONICAL_GAPS = {
    "pacs.008.001.12": (
        "/PstlAdr/CareOf",
        "/PstlAdr/UnitNb",
        "/RfrdDocAmt/RmtAmtAndTp/",  # typed amounts: no canonical list of (type, amount)
        "/RfrdDocInf/RltdDt/Tp/",
        "/MndtRltdInf/",
        "/ChrgsInf/Tp/",
    ),
    "pain.001.001.09": (
        "/GrpHdr/Authstn/",
        "/GrpHdr/FwdgAgt/",
        "/PmtInf/ChrgsAcct/",
        "/PmtInf/ChrgsAcctAgt/",
        "/Amt/EqvtAmt/CcyOfTrf",
        "/XchgRateInf/UnitCcy",
        "/XchgRateInf/RateTp",
        "/XchgRateInf/CtrctId",
        "/ChqInstr/",
    ),
    "pain.001.001.03": (
        "/GrpHdr/Authstn/",
        "/GrpHdr/FwdgAgt/",
        "/PmtInf/ChrgsAcct/",
        "/PmtInf/ChrgsAcctAgt/",
        "/Amt/EqvtAmt/CcyOfTrf",
        "/XchgRateInf/RateTp",
        "/XchgRateInf/CtrctId",
        "/ChqInstr/",
    ),
    "pacs.009.001.08": (
        "/UndrlygCstmrCdtTrf/PrvsInstgAgt1Acct/",
        "/UndrlygCstmrCdtTrf/PrvsInstgAgt2Acct/",
        "/UndrlygCstmrCdtTrf/PrvsInstgAgt3Acct/",
        "/UndrlygCstmrCdtTrf/IntrmyAgt1Acct/",
        "/UndrlygCstmrCdtTrf/IntrmyAgt2Acct/",
        "/UndrlygCstmrCdtTrf/IntrmyAgt3Acct/",
    ),
}


# --- collecting the messages ---------------------------------------------------------


def _messages() -> Iterator[Any]:
    for message_id in MESSAGE_IDS:
        paths = sorted((FIXTURES / message_id / "valid").glob("*.xml"))
        paths += sorted((SAMPLES / "mx" / message_id).glob("*.xml"))
        if not paths:
            yield pytest.param(
                message_id,
                None,
                id=f"{message_id}-none",
                marks=pytest.mark.skip(reason=f"no valid fixture or sample for {message_id}"),
            )
        for path in paths:
            origin = "fixture" if path.is_relative_to(FIXTURES) else "sample"
            yield pytest.param(message_id, path, id=f"{message_id}-{origin}-{path.stem}")


def _need(gateway: Gateway, message_id: str) -> None:
    if not (MAPPINGS / f"{message_id}.yaml").is_file():
        pytest.skip(f"no mapping file for {message_id}")
    if gateway.schemas.get(message_id) is None:
        pytest.skip(f"no XSD installed for {message_id}")


def _run(gateway: Gateway, message_id: str, payload: bytes) -> InboundResult:
    _need(gateway, message_id)
    result = gateway.inbound(payload, rules=None)  # the mapping under test, not the rules
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    assert result.report.message_id == message_id
    for event in result.events:
        PaymentEvent.model_validate(event)
    return result


# --- reading the XML independently ----------------------------------------------------


def _q(path: str) -> str:
    return "/".join(f"*[local-name()='{step}']" for step in path.split("/"))


def _all(element: etree._Element, path: str) -> list[etree._Element]:
    found: list[etree._Element] = element.xpath(_q(path))
    return found


def _text(element: etree._Element, path: str) -> str | None:
    found = _all(element, path)
    return found[0].text.strip() if found and found[0].text else None


def _amount(element: etree._Element, path: str) -> dict[str, str] | None:
    found = _all(element, path)
    if not found:
        return None
    assert found[0].text is not None
    return {"value": found[0].text.strip(), "currency": found[0].get("Ccy")}


def _get(event: dict[str, Any], dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _document_child(payload: bytes) -> etree._Element:
    root = etree.fromstring(payload)
    (document,) = root.xpath("//*[local-name()='Document']")
    (top,) = [child for child in document if isinstance(child.tag, str)]
    return top


def _transactions(top: etree._Element) -> list[tuple[etree._Element | None, etree._Element]]:
    """(PmtInf or None, CdtTrfTxInf) in document order: the order of the events."""
    if top.xpath("*[local-name()='PmtInf']"):
        return [(block, tx) for block in _all(top, "PmtInf") for tx in _all(block, "CdtTrfTxInf")]
    return [(None, tx) for tx in _all(top, "CdtTrfTxInf")]


def _expected(message_id: str, group: etree._Element, block: Any, tx: Any) -> dict[str, Any]:
    """Canonical values the XML carries for one transaction (None: absent)."""
    expected: dict[str, Any] = {
        "group.message_id": _text(group, "MsgId"),
        "group.creation_datetime": _text(group, "CreDtTm"),
        "group.number_of_transactions": _text(group, "NbOfTxs"),
        "ids.message_id": _text(group, "MsgId"),
        "ids.end_to_end_id": _text(tx, "PmtId/EndToEndId"),
        "ids.instruction_id": _text(tx, "PmtId/InstrId"),
        "creditor_account.iban": _text(tx, "CdtrAcct/Id/IBAN"),
    }
    if message_id.startswith("pain.001"):
        date_path = "ReqdExctnDt" if message_id == "pain.001.001.03" else "ReqdExctnDt/Dt"
        bic = "BIC" if message_id == "pain.001.001.03" else "BICFI"
        expected |= {
            "ids.payment_information_id": _text(block, "PmtInfId"),
            "payment_information.id": _text(block, "PmtInfId"),
            "payment_information.number_of_transactions": _text(block, "NbOfTxs"),
            "payment_method": _text(block, "PmtMtd"),
            "dates.requested_execution": _text(block, date_path),
            "debtor.name": _text(block, "Dbtr/Nm"),
            "debtor_account.iban": _text(block, "DbtrAcct/Id/IBAN"),
            "debtor_agent.bic": _text(block, f"DbtrAgt/FinInstnId/{bic}"),
            "initiating_party.name": _text(group, "InitgPty/Nm"),
            "amounts.instructed": _amount(tx, "Amt/InstdAmt"),
            "charge_bearer": _text(tx, "ChrgBr") or _text(block, "ChrgBr"),
            "creditor.name": _text(tx, "Cdtr/Nm"),
            "creditor_agent.bic": _text(tx, f"CdtrAgt/FinInstnId/{bic}"),
        }
    else:
        expected |= {
            "ids.uetr": _text(tx, "PmtId/UETR"),
            "ids.transaction_id": _text(tx, "PmtId/TxId"),
            "amounts.interbank_settlement": _amount(tx, "IntrBkSttlmAmt"),
            "dates.interbank_settlement": _text(tx, "IntrBkSttlmDt")
            or _text(group, "IntrBkSttlmDt"),
            "settlement.method": _text(group, "SttlmInf/SttlmMtd"),
        }
    if message_id.startswith("pacs.008"):
        expected |= {
            "debtor.name": _text(tx, "Dbtr/Nm"),
            "creditor.name": _text(tx, "Cdtr/Nm"),
            "debtor_agent.bic": _text(tx, "DbtrAgt/FinInstnId/BICFI"),
            "creditor_agent.bic": _text(tx, "CdtrAgt/FinInstnId/BICFI"),
            "charge_bearer": _text(tx, "ChrgBr"),
        }
    if message_id.startswith("pacs.009"):
        expected |= {
            "underlying_customer_transfer.debtor.name": _text(tx, "UndrlygCstmrCdtTrf/Dbtr/Nm"),
            "underlying_customer_transfer.creditor.name": _text(tx, "UndrlygCstmrCdtTrf/Cdtr/Nm"),
            "underlying_customer_transfer.instructed_amount": _amount(
                tx, "UndrlygCstmrCdtTrf/InstdAmt"
            ),
        }
    return expected


# --- every valid message ---------------------------------------------------------------


@pytest.mark.parametrize(("message_id", "path"), list(_messages()))
def test_valid_message_maps_to_one_event_per_transaction(
    gateway: Gateway, message_id: str, path: Path
) -> None:
    payload = path.read_bytes()
    result = _run(gateway, message_id, payload)

    top = _document_child(payload)
    transactions = _transactions(top)
    assert len(transactions) == len(top.xpath("//*[local-name()='CdtTrfTxInf']"))
    assert len(result.events) == len(transactions)
    assert result.report.transaction_count == len(transactions)

    (group,) = _all(top, "GrpHdr")
    for index, (event, (block, tx)) in enumerate(zip(result.events, transactions, strict=True)):
        assert event["source"]["transaction_index"] == index
        for dotted, value in _expected(message_id, group, block, tx).items():
            assert _get(event, dotted) == value, f"event {index}: {dotted}"


@pytest.mark.parametrize(("message_id", "path"), list(_messages()))
def test_only_elements_without_a_canonical_field_are_unmapped(
    gateway: Gateway, message_id: str, path: Path
) -> None:
    result = _run(gateway, message_id, path.read_bytes())
    known = _CANONICAL_GAPS_COMMON + _CANONICAL_GAPS[message_id]
    gaps = [
        f.location.xpath
        for f in result.report.findings
        if f.code == "mapping.unmapped" and not any(k in (f.location.xpath or "") for k in known)
    ]
    assert gaps == [], "mapping gaps (the canonical model has a field for these)"
    other = [f for f in result.report.findings if f.code.startswith("mapping.")]
    assert all(f.code == "mapping.unmapped" for f in other), other


# --- values read by hand ---------------------------------------------------------------


def _fixture(gateway: Gateway, message_id: str, name: str) -> list[dict[str, Any]]:
    path = FIXTURES / message_id / "valid" / name
    if not path.is_file():
        pytest.skip(f"fixture {message_id}/valid/{name} is absent")
    return _run(gateway, message_id, path.read_bytes()).events


def test_pain001_v09_two_blocks_inherit_their_own_block_values(gateway: Gateway) -> None:
    events = _fixture(gateway, "pain.001.001.09", "two_pmtinf_3tx.xml")
    assert [e["ids"]["end_to_end_id"] for e in events] == [
        "NLM-A-20240618-001",
        "NLM-A-20240618-002",
        "NLH-B-20240620-001",
    ]
    first, _, last = events
    assert first["dates"] == {"requested_execution": "2024-06-18"}
    assert first["debtor"]["name"] == "Nordlicht Maschinenbau GmbH"
    assert first["payment_type"]["category_purpose"] == {"code": "SUPP"}
    # second block: a date-time requested execution, another debtor and debtor agent
    assert last["dates"] == {"requested_execution_datetime": "2024-06-20T09:00:00+02:00"}
    assert last["debtor"]["name"] == "Nordlicht Holding AG"
    assert last["debtor_agent"] == {"bic": "BELADEBEXXX"}
    assert last["payment_information"] == {
        "id": "NHG-PAY-20240617-02-B",
        "number_of_transactions": "1",
        "control_sum": "13350.00",
    }
    assert last["amounts"] == {"instructed": {"value": "13350.00", "currency": "EUR"}}
    assert last["creditor_account"] == {"iban": "FR7630003036200005027481548"}
    assert last["initiating_party"]["identification"] == {"any_bic": "NRDLDEF1XXX"}


def test_pain001_v09_structured_remittance(gateway: Gateway) -> None:
    (event,) = _fixture(gateway, "pain.001.001.09", "rich_structured_remittance.xml")
    assert event["ids"]["uetr"] == "b3a0f6d2-5c41-4e8a-9d27-61c9e8f04a15"
    assert event["batch_booking"] is False
    assert event["group"]["control_sum"] == "18240.50"
    assert event["ultimate_debtor"] == {"name": "Wolff Medical Devices Europe GmbH"}
    assert event["ultimate_creditor"]["identification"] == {"lei": "969500T3MBS4SQAMHJ98"}
    assert event["purpose"] == {"code": "GDDS"}
    (structured,) = event["remittance"]["structured"]
    assert [d["number"] for d in structured["referred_documents"]] == ["INV-24117", "CN-24009"]
    assert structured["referred_documents"][1]["type"] == {"code": "CREN"}
    assert structured["due_payable"] == {"value": "19000.00", "currency": "EUR"}
    assert structured["remitted"] == {"value": "18240.50", "currency": "EUR"}
    assert structured["creditor_reference"] == {
        "type": {"code": "SCOR"},
        "issuer": "ISO",
        "reference": "RF86SR20240417",
    }
    assert structured["invoicer"] == {"name": "Jansen Medical Supplies B.V."}


def test_pain001_v03_sepa_batch(gateway: Gateway) -> None:
    first, second = _fixture(gateway, "pain.001.001.03", "sepa_single_pmtinf_2tx.xml")
    for event in (first, second):
        assert event["event_type"] == "payment.credit_transfer.initiation"
        assert event["batch_booking"] is True
        assert event["dates"] == {"requested_execution": "2024-04-11"}
        assert event["debtor"]["postal_address"] == {
            "country": "DE",
            "address_lines": ["Industriestrasse 14", "50735 Koeln"],
        }
        assert event["debtor_account"] == {"iban": "DE81370400440218455600", "currency": "EUR"}
        assert event["debtor_agent"] == {"bic": "COBADEFFXXX"}
        assert event["charge_bearer"] == "SLEV"
        assert event["payment_type"] == {"service_level": [{"code": "SEPA"}]}
        assert event["initiating_party"]["identification"]["organisation_other"] == [
            {"id": "DE287451936", "scheme": {"code": "TXID"}}
        ]
    assert first["ids"]["instruction_id"] == "KLG-20240410-0001"
    assert first["amounts"]["instructed"] == {"value": "2870.00", "currency": "EUR"}
    assert first["creditor_agent"] == {"bic": "BNPAFRPPXXX"}
    assert first["remittance"] == {"unstructured": ["Facture TG-2024-0331 transport Lyon-Koeln"]}
    assert second["creditor"]["name"] == "Van der Berg Transport B.V."
    assert second["creditor_account"] == {"iban": "NL38INGB0006482913"}
    assert second["remittance"]["structured"][0]["creditor_reference"]["reference"] == (
        "RF09NLM24Q10553"
    )


def test_pacs008_v12_rich(gateway: Gateway) -> None:
    (event,) = _fixture(gateway, "pacs.008.001.12", "rich.xml")
    assert event["event_type"] == "payment.credit_transfer.fi_to_fi"
    assert event["ids"]["uetr"] == "3dfd6c49-dcbd-4195-b820-cabce6726488"
    assert event["amounts"]["interbank_settlement"] == {"value": "48210.00", "currency": "USD"}
    assert event["amounts"]["instructed"] == {"value": "48235.00", "currency": "USD"}
    assert event["amounts"]["charges"] == [
        {"amount": {"value": "25.00", "currency": "USD"}, "agent": {"bic": "BKAUATWWXXX"}}
    ]
    # PostalAddress27: CareOf and UnitNb have no canonical field; the rest is carried
    assert event["debtor"]["postal_address"] == {
        "street_name": "Mariahilfer Strasse",
        "building_number": "88",
        "floor": "3",
        "post_code": "1070",
        "town_name": "Wien",
        "country": "AT",
    }
    assert event["debtor"]["identification"]["any_bic"] == "ALPGATW1XXX"
    assert event["creditor_agent"]["clearing_member"] == {
        "clearing_system": {"code": "USABA"},
        "member_id": "121003588",
    }
    assert event["creditor_account"]["other"] == {"id": "6021847735", "scheme": {"code": "BBAN"}}
    (document,) = event["remittance"]["structured"][0]["referred_documents"]
    assert document == {
        "type": {"code": "CINV"},
        "number": "SLT-INV-77310",
        "related_date": "2024-04-19",
    }
    unmapped = {
        f.location.xpath.rsplit("/CdtTrfTxInf/", 1)[1]
        for f in gateway.inbound(
            (FIXTURES / "pacs.008.001.12/valid/rich.xml").read_bytes()
        ).report.findings
        if f.code == "mapping.unmapped" and f.location.xpath
    }
    assert unmapped == {
        "Dbtr/PstlAdr/CareOf",
        "Dbtr/PstlAdr/UnitNb",
        "Cdtr/PstlAdr/UnitNb",
        "RmtInf/Strd/RfrdDocInf/RltdDt/Tp/Prtry",
        "RmtInf/Strd/RfrdDocAmt/RmtAmtAndTp/Tp/Cd",
        "RmtInf/Strd/RfrdDocAmt/RmtAmtAndTp/Amt",
    }


def test_pacs009_cover_carries_the_underlying_customer_transfer(gateway: Gateway) -> None:
    (event,) = _fixture(gateway, "pacs.009.001.08", "cover_cov.xml")
    assert event["event_type"] == "payment.fi_credit_transfer"
    underlying = event["underlying_customer_transfer"]
    assert underlying["debtor"]["name"] == "Kessler Logistik KG"
    assert underlying["debtor_account"] == {"iban": "DE81370400440218455600"}
    assert underlying["creditor"]["postal_address"]["town_name"] == "Boston"
    assert underlying["creditor_account"] == {"other": {"id": "771904368215"}}
    assert underlying["instructed_amount"] == {"value": "18750.00", "currency": "USD"}
    assert underlying["remittance"] == {
        "unstructured": ["Invoice HD-90455 cold-chain transport sensors"]
    }


# --- pain.001: block values, transaction values ----------------------------------------

_PAIN001_V09_PRECEDENCE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>PREC-09-0001</MsgId>
      <CreDtTm>2024-09-02T10:15:00+02:00</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <InitgPty><Nm>Halvorsen Treasury AS</Nm></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>PREC-09-0001-A</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <PmtTpInf><InstrPrty>NORM</InstrPrty></PmtTpInf>
      <ReqdExctnDt><DtTm>2024-09-03T09:30:00+02:00</DtTm></ReqdExctnDt>
      <Dbtr><Nm>Halvorsen Shipping AS</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>NO9386011117947</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>DNBANOKKXXX</BICFI></FinInstnId></DbtrAgt>
      <InstrForDbtrAgt>Block instruction</InstrForDbtrAgt>
      <UltmtDbtr><Nm>Halvorsen Group</Nm></UltmtDbtr>
      <ChrgBr>SLEV</ChrgBr>
      <CdtTrfTxInf>
        <PmtId><EndToEndId>PREC-E2E-1</EndToEndId></PmtId>
        <PmtTpInf><InstrPrty>HIGH</InstrPrty></PmtTpInf>
        <Amt><EqvtAmt><Amt Ccy="NOK">10850.00</Amt><CcyOfTrf>USD</CcyOfTrf></EqvtAmt></Amt>
        <XchgRateInf><XchgRate>10.85</XchgRate></XchgRateInf>
        <ChrgBr>SHAR</ChrgBr>
        <UltmtDbtr><Nm>Halvorsen Tankers AS</Nm></UltmtDbtr>
        <IntrmyAgt1><FinInstnId><BICFI>CHASUS33XXX</BICFI></FinInstnId></IntrmyAgt1>
        <CdtrAgt><FinInstnId><BICFI>BOFAUS3NXXX</BICFI></FinInstnId></CdtrAgt>
        <Cdtr><Nm>Gulf Marine Supply LLC</Nm></Cdtr>
        <CdtrAcct><Id><Othr><Id>004471928833</Id></Othr></Id></CdtrAcct>
        <InstrForCdtrAgt><Cd>PHOB</Cd></InstrForCdtrAgt>
        <InstrForDbtrAgt>Transaction instruction</InstrForDbtrAgt>
        <RgltryRptg>
          <DbtCdtRptgInd>DEBT</DbtCdtRptgInd>
          <Dtls><Cd>14</Cd><Amt Ccy="NOK">10850.00</Amt></Dtls>
        </RgltryRptg>
      </CdtTrfTxInf>
      <CdtTrfTxInf>
        <PmtId><EndToEndId>PREC-E2E-2</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="NOK">2500.00</InstdAmt></Amt>
        <Cdtr><Nm>Bergen Havnevesen</Nm></Cdtr>
        <CdtrAcct><Id><IBAN>NO8330001234567</IBAN></Id></CdtrAcct>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"""


def test_pain001_v09_transaction_values_win_over_block_values(gateway: Gateway) -> None:
    # ISO usage rules normally keep these at one level; the schema allows both,
    # and the mapping must then prefer the transaction's own value.
    result = _run(gateway, "pain.001.001.09", _PAIN001_V09_PRECEDENCE)
    overriding, inheriting = result.events

    assert overriding["payment_type"] == {"instruction_priority": "HIGH"}
    assert overriding["charge_bearer"] == "SHAR"
    assert overriding["ultimate_debtor"] == {"name": "Halvorsen Tankers AS"}
    assert overriding["instruction_for_debtor_agent"] == "Transaction instruction"
    assert overriding["amounts"] == {
        "equivalent": {"value": "10850.00", "currency": "NOK"},
        "exchange_rate": "10.85",
    }
    assert overriding["intermediary_agent_1"] == {"bic": "CHASUS33XXX"}
    assert overriding["instructions_for_creditor_agent"] == [{"code": "PHOB"}]
    assert overriding["regulatory_reporting"] == [
        {
            "debit_credit_indicator": "DEBT",
            "details": [{"code": "14", "amount": {"value": "10850.00", "currency": "NOK"}}],
        }
    ]

    assert inheriting["payment_type"] == {"instruction_priority": "NORM"}
    assert inheriting["charge_bearer"] == "SLEV"
    assert inheriting["ultimate_debtor"] == {"name": "Halvorsen Group"}
    assert inheriting["instruction_for_debtor_agent"] == "Block instruction"
    assert inheriting["amounts"] == {"instructed": {"value": "2500.00", "currency": "NOK"}}

    for event in (overriding, inheriting):
        assert event["dates"] == {"requested_execution_datetime": "2024-09-03T09:30:00+02:00"}
        assert event["debtor"] == {"name": "Halvorsen Shipping AS"}
        assert event["initiating_party"] == {"name": "Halvorsen Treasury AS"}

    unmapped = [f.location.xpath for f in result.report.findings if f.code == "mapping.unmapped"]
    assert unmapped == ["/Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/Amt/EqvtAmt/CcyOfTrf"]


_PAIN001_V03_DETAILS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>DET-03-0001</MsgId>
      <CreDtTm>2024-09-02T10:15:00</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <InitgPty>
        <Nm>Ostrava Steel a.s.</Nm>
        <Id><OrgId><BICOrBEI>OSTLCZPPXXX</BICOrBEI></OrgId></Id>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>DET-03-0001-A</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <ReqdExctnDt>2024-09-04</ReqdExctnDt>
      <Dbtr>
        <Nm>Ostrava Steel a.s.</Nm>
        <PstlAdr>
          <AdrTp>BIZZ</AdrTp><StrtNm>Vitkovicka</StrtNm><TwnNm>Ostrava</TwnNm><Ctry>CZ</Ctry>
        </PstlAdr>
        <CtctDtls><Nm>Treasury desk</Nm><Othr>desk-7</Othr></CtctDtls>
      </Dbtr>
      <DbtrAcct><Id><IBAN>CZ6508000000192000145399</IBAN></Id><Tp><Cd>CACC</Cd></Tp></DbtrAcct>
      <DbtrAgt><FinInstnId><BIC>GIBACZPX</BIC></FinInstnId></DbtrAgt>
      <CdtTrfTxInf>
        <PmtId><InstrId>DET-I-1</InstrId><EndToEndId>DET-E2E-1</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="EUR">1200.00</InstdAmt></Amt>
        <ChrgBr>SHAR</ChrgBr>
        <CdtrAgt>
          <FinInstnId>
            <ClrSysMmbId><ClrSysId><Cd>DEBLZ</Cd></ClrSysId><MmbId>50070010</MmbId></ClrSysMmbId>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr><Nm>Rhein Metall Handel GmbH</Nm></Cdtr>
        <CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>
        <InstrForDbtrAgt>Call before release</InstrForDbtrAgt>
        <Purp><Cd>SUPP</Cd></Purp>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"""


def test_pain001_v03_2009_building_blocks(gateway: Gateway) -> None:
    result = _run(gateway, "pain.001.001.03", _PAIN001_V03_DETAILS)
    assert result.report.outcome is Outcome.ACCEPTED, result.report.findings
    (event,) = result.events
    assert event["initiating_party"]["identification"] == {"any_bic": "OSTLCZPPXXX"}
    assert event["debtor"]["postal_address"]["address_type"] == {"code": "BIZZ"}
    assert event["debtor"]["contact"] == {"name": "Treasury desk", "other": ["desk-7"]}
    assert event["debtor_account"] == {"iban": "CZ6508000000192000145399", "type": {"code": "CACC"}}
    assert event["debtor_agent"] == {"bic": "GIBACZPX"}
    assert event["creditor_agent"] == {
        "clearing_member": {"clearing_system": {"code": "DEBLZ"}, "member_id": "50070010"}
    }
    assert event["dates"] == {"requested_execution": "2024-09-04"}
    assert event["charge_bearer"] == "SHAR"
    assert event["instruction_for_debtor_agent"] == "Call before release"
    assert event["purpose"] == {"code": "SUPP"}
