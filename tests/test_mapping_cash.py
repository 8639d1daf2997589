"""The cash-management and exception mapping files: camt.052/053/054.001.08 (account
reports, statements, notifications), camt.056.001.08 (cancellation requests) and
camt.029.001.09 (resolutions of investigation).

* Every valid fixture (``tests/fixtures/mx/<id>/valid``) and third-party sample
  (``../shared/samples/mx/<id>``, skipped when absent) maps to one event per ``Stmt``,
  ``Ntfctn``, ``Rpt``, ``Undrlyg/TxInf`` or ``CxlDtls/TxInfAndSts``; the fixtures carry
  only what the canonical model holds (nothing unmapped), the samples' unmapped
  elements are the ones the model has no field for.
* Values read by hand from each fixture and sample.
* Round trip: ``map_outbound`` renders the events into an XSD-valid message that maps
  back to the same events (identity aside), with both placements, on every message and
  on events generated from the mapping files themselves.
* What is never invented (rendering) and what is reported (inbound).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from gateway.events import PaymentEvent
from gateway.mapping import map_inbound, map_outbound, render_xml
from gateway.mapping.render import IDENTITY, Placement
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Finding, Outcome
from gateway.xsdmodel import XsdModel
from tests.conftest import FIXTURES, SAMPLES
from tests.test_render_properties import setup as property_setup

#: message id -> (event type, stage, the element each event is read from)
MESSAGES = {
    "camt.052.001.08": ("account.report", "settlement", "BkToCstmrAcctRpt/Rpt"),
    "camt.053.001.08": ("account.statement", "settlement", "BkToCstmrStmt/Stmt"),
    "camt.054.001.08": ("account.notification", "settlement", "BkToCstmrDbtCdtNtfctn/Ntfctn"),
    "camt.056.001.08": (
        "payment.cancellation_request",
        "execution",
        "FIToFIPmtCxlReq/Undrlyg/TxInf",
    ),
    "camt.029.001.09": (
        "payment.investigation_resolution",
        "execution",
        "RsltnOfInvstgtn/CxlDtls/TxInfAndSts",
    ),
}
PLACEMENTS: tuple[Placement, ...] = ("innermost", "outermost")
RECEIVED = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)

#: Elements of the third-party samples that the canonical model has no field for
#: (substrings of the unmapped xpath); anything else unmapped is a mapping gap.
SAMPLE_GAPS = {
    "camt.052.001.08": ("/GrpHdr/MsgPgntn/", "/Rpt/TxsSummry/"),
    "camt.053.001.08": (
        "/GrpHdr/AddtlInf",
        "/GrpHdr/MsgPgntn/",
        "/GrpHdr/MsgRcpt/",
        "/Stmt/CpyDplctInd",
        "/TxDtls/Refs/Prtry/",
    ),
    "camt.054.001.08": (),
    "camt.056.001.08": ("/CxlRsnInf/Orgtr/CtctDtls/PrefrdMtd",),
    "camt.029.001.09": (),
}
#: The third-party sample whose values are read by hand, per message id.
SAMPLE_FILES = {
    "camt.052.001.08": "moov-wire__EndpointTotalsReport_Scenario1_Step2_camt.052_ETOT",
    "camt.053.001.08": "genkgo-camt__data_camt053.v8",
    "camt.054.001.08": "cbpr-ur__2025_CBPRplus_p.9.1.2.a_camt.054-DtoE",
    "camt.056.001.08": "moov-fednow__PaymentReturn_Scenario1_Step2_camt.056",
    "camt.029.001.09": "moov-fednow__PaymentReturn_Scenario1_Step3_camt.029",
}
#: Messages whose mapped data cannot be rendered validly, with the element that says why.
NOT_RENDERABLE: dict[str, str] = {}

_models: dict[str, XsdModel] = {}


# --- helpers ---------------------------------------------------------------------------


def _need(gateway: Gateway, message_id: str) -> None:
    if gateway.schemas.get(message_id) is None:
        pytest.skip(f"no XSD installed for {message_id} (../shared/samples absent)")


def model_for(gateway: Gateway, message_id: str) -> XsdModel:
    _need(gateway, message_id)
    if message_id not in _models:
        entry = gateway.schemas.get(message_id)
        assert entry is not None
        _models[message_id] = XsdModel.load(entry.path)
    return _models[message_id]


def inbound(gateway: Gateway, payload: bytes) -> InboundResult:
    """The mapping under test: schema and mapping only, no rule packs."""
    result = gateway.inbound(payload, rules=None)
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    for event in result.events:
        PaymentEvent.model_validate(event)
    return result


def fixture(gateway: Gateway, message_id: str, name: str) -> list[dict[str, Any]]:
    _need(gateway, message_id)
    result = inbound(gateway, (FIXTURES / "mx" / message_id / "valid" / name).read_bytes())
    assert result.report.findings == []  # the fixtures carry only what is mapped
    return result.events


def sample(gateway: Gateway, message_id: str) -> InboundResult:
    path = SAMPLES / "mx" / message_id / f"{SAMPLE_FILES[message_id]}.xml"
    if not path.is_file():
        pytest.skip(f"sample {path.name} is absent (../shared/samples)")
    _need(gateway, message_id)
    return inbound(gateway, path.read_bytes())


def payload_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in IDENTITY} for e in events]


def render(
    gateway: Gateway,
    message_id: str,
    events: list[dict[str, Any]],
    placement: Placement = "innermost",
) -> tuple[etree._Element, list[Finding], list[Finding]]:
    """(document, render findings, XSD findings)."""
    mapping = gateway.mappings.get(message_id)
    assert mapping is not None
    result = map_outbound(events, mapping, model_for(gateway, message_id), placement=placement)
    entry = gateway.schemas.get(message_id)
    assert entry is not None
    return result.document, result.findings, gateway.schemas.validate(result.document, entry)


def scope_elements(payload: bytes, message_id: str) -> list[etree._Element]:
    path = MESSAGES[message_id][2]
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    found: list[etree._Element] = etree.fromstring(payload).xpath(
        f"//*[local-name()='Document']/{steps}"
    )
    return found


def _messages() -> Iterator[Any]:
    for message_id in MESSAGES:
        for path in sorted((FIXTURES / "mx" / message_id / "valid").glob("*.xml")):
            yield pytest.param(message_id, path, id=f"{message_id}-fixture-{path.stem}")
        for path in sorted((SAMPLES / "mx" / message_id).glob("*.xml")):
            yield pytest.param(message_id, path, id=f"{message_id}-sample-{path.stem}")


# --- every fixture and sample ----------------------------------------------------------


def test_every_message_id_has_a_rich_fixture() -> None:
    for message_id in MESSAGES:
        assert list((FIXTURES / "mx" / message_id / "valid").glob("*.xml")), message_id


@pytest.mark.parametrize(("message_id", "path"), list(_messages()))
def test_one_event_per_scope_element(gateway: Gateway, message_id: str, path: Path) -> None:
    _need(gateway, message_id)
    payload = path.read_bytes()
    result = inbound(gateway, payload)
    event_type, stage, _ = MESSAGES[message_id]
    assert result.report.message_id == message_id
    assert result.stage == stage
    assert len(result.events) == len(scope_elements(payload, message_id)) >= 1
    assert result.report.transaction_count == len(result.events)
    assert [e["source"]["transaction_index"] for e in result.events] == list(
        range(len(result.events))
    )
    assert {e["event_type"] for e in result.events} == {event_type}
    mapping_findings = [f for f in result.report.findings if f.layer.value == "mapping"]
    assert all(f.code == "mapping.unmapped" for f in mapping_findings), mapping_findings
    unmapped = [f.location.xpath or "" for f in mapping_findings]
    if path.is_relative_to(FIXTURES):
        assert unmapped == []
    else:
        gaps = [x for x in unmapped if not any(k in x for k in SAMPLE_GAPS[message_id])]
        assert gaps == [], "mapping gaps (the canonical model has a field for these)"


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize(("message_id", "path"), list(_messages()))
def test_round_trip(gateway: Gateway, message_id: str, path: Path, placement: Placement) -> None:
    _need(gateway, message_id)
    events = inbound(gateway, path.read_bytes()).events
    document, findings, schema = render(gateway, message_id, events, placement)
    known = NOT_RENDERABLE.get(path.stem)
    if known is not None:  # reported, never papered over
        assert [f.code for f in findings] == ["mapping.missing_mandatory"]
        assert (findings[0].location.xpath or "").endswith(known)
        assert schema, "the XSD must reject it too"
        return
    assert findings == []
    assert schema == []
    again = inbound(gateway, render_xml(document))
    assert again.report.findings == []
    assert payload_of(again.events) == payload_of(events)


@pytest.mark.parametrize(
    "path",
    sorted(FIXTURES.glob("mx/camt.0*/valid/*.xml")),
    ids=lambda p: f"{p.parents[1].name}/{p.stem}",
)
def test_fixtures_pass_the_business_rules(gateway: Gateway, path: Path) -> None:
    _need(gateway, path.parents[1].name)
    report = gateway.inbound(path.read_bytes(), received_at=RECEIVED).report
    assert report.outcome is Outcome.ACCEPTED, report.findings


# --- camt.053 ----------------------------------------------------------------------------


def test_camt053_statements(gateway: Gateway) -> None:
    eur, usd = fixture(gateway, "camt.053.001.08", "two_statements.xml")
    for event in (eur, usd):
        assert event["group"] == {
            "message_id": "DB-STMT-20261125-0042",
            "creation_datetime": "2026-11-25T22:15:00+01:00",
        }
        assert event["ids"] == {"message_id": "DB-STMT-20261125-0042"}
    statement = eur["statement"]
    assert {k: v for k, v in statement.items() if k not in ("balances", "entries")} == {
        "id": "HFM-EUR-2026-229",
        "page_number": "1",
        "last_page": True,
        "electronic_sequence": "229",
        "legal_sequence": "229",
        "creation_datetime": "2026-11-25T22:10:00+01:00",
        "from_datetime": "2026-11-25T00:00:00+01:00",
        "to_datetime": "2026-11-25T23:59:59+01:00",
        "account": {
            "iban": "DE22500700100162042648",
            "type": {"code": "CACC"},
            "currency": "EUR",
            "name": "Halbach Betriebskonto",
        },
        "account_owner": {
            "name": "Halbach Feinmechanik GmbH",
            "postal_address": {
                "street_name": "Schleifweg",
                "building_number": "17",
                "post_code": "63067",
                "town_name": "Offenbach am Main",
                "country": "DE",
            },
            "identification": {"lei": "5299004XKTQ8RWE7M385"},
        },
        "account_servicer": {"bic": "DEUTDEFFXXX", "name": "Deutsche Bank AG"},
        "additional_info": "Statement 229 of 2026",
    }
    assert statement["balances"] == [
        {
            "type": {"code": "OPBD"},
            "amount": {"value": "125000.00", "currency": "EUR"},
            "credit_debit": "CRDT",
            "date": "2026-11-24",
        },
        {
            "type": {"code": "CLBD"},
            "amount": {"value": "160499.50", "currency": "EUR"},
            "credit_debit": "CRDT",
            "date": "2026-11-25",
        },
        {
            "type": {"code": "CLAV"},
            "amount": {"value": "158499.50", "currency": "EUR"},
            "credit_debit": "CRDT",
            "datetime": "2026-11-25T22:00:00+01:00",
        },
        {
            "type": {"proprietary": "BLOCKED-FUNDS"},
            "sub_type": "BLCK",
            "amount": {"value": "2000.00", "currency": "EUR"},
            "credit_debit": "DBIT",
            "date": "2026-11-25",
        },
    ]
    credit, batch, reversal = statement["entries"]
    assert {k: v for k, v in credit.items() if k != "details"} == {
        "reference": "HFM-229-001",
        "amount": {"value": "48250.00", "currency": "EUR"},
        "credit_debit": "CRDT",
        "status": {"code": "BOOK"},
        "booking_date": "2026-11-25",
        "value_date": "2026-11-25",
        "account_servicer_reference": "DB2611250042001",
        "bank_transaction_code": {
            "domain": "PMNT",
            "family": "RCDT",
            "sub_family": "XBCT",
            "proprietary": "NTRF",
            "proprietary_issuer": "SWIFT",
        },
    }
    (detail,) = credit["details"]
    assert detail["ids"] == {
        "message_id": "BNP-PACS8-261125-0915",
        "instruction_id": "BNP261125INS0915",
        "end_to_end_id": "LMV-INV-2026-1187",
        "uetr": "9fb93534-081c-4253-b1e2-73a87984a8ab",
        "transaction_id": "BNP261125TX0915",
        "clearing_system_reference": "T2-261125-884120",
    }
    assert detail["account_servicer_reference"] == "DB2611250042001-1"
    assert detail["amount"] == {"value": "48250.00", "currency": "EUR"}
    assert detail["credit_debit"] == "CRDT"
    assert detail["interbank_settlement_date"] == "2026-11-25"
    assert detail["debtor"] == {
        "name": "Lumivere Optique SAS",
        "postal_address": {"town_name": "Lyon", "country": "FR"},
    }
    assert detail["debtor_account"] == {"iban": "FR7630004008250001873465273"}
    assert detail["ultimate_debtor"] == {"name": "Lumivere Groupe SA"}
    assert detail["creditor"] == {"name": "Halbach Feinmechanik GmbH"}
    assert detail["creditor_account"] == {"iban": "DE22500700100162042648"}
    assert detail["ultimate_creditor"] == {"name": "Halbach Service Center"}
    assert detail["debtor_agent"] == {"bic": "BNPAFRPPXXX"}
    assert detail["creditor_agent"] == {"bic": "DEUTDEFFXXX"}
    assert detail["intermediary_agent_1"] == {
        "bic": "COBADEFFXXX",
        "clearing_member": {"clearing_system": {"code": "DEBLZ"}, "member_id": "50040000"},
    }
    assert detail["purpose"] == {"code": "GDDS"}
    assert detail["remittance"]["unstructured"] == ["Invoice 2026-1187 precision lenses"]
    (structured,) = detail["remittance"]["structured"]
    assert structured["referred_documents"] == [
        {"type": {"code": "CINV"}, "number": "2026-1187", "related_date": "2026-10-28"}
    ]
    assert structured["remitted"] == {"value": "48250.00", "currency": "EUR"}
    assert structured["creditor_reference"]["reference"] == "RF492026118700"
    assert detail["additional_info"] == "Cross-border credit, charges SHA"

    assert batch["booking_datetime"] == "2026-11-25T10:42:00+01:00"
    assert "booking_date" not in batch
    assert batch["bank_transaction_code"] == {
        "domain": "PMNT",
        "family": "ICDT",
        "sub_family": "ESCT",
    }
    assert batch["additional_info"] == "SEPA batch HFM-PAY-20261125-01, 2 transfers"
    assert [d["ids"]["end_to_end_id"] for d in batch["details"]] == [
        "HFM-SUP-7731",
        "HFM-SUP-7732",
    ]
    assert [d["ids"]["payment_information_id"] for d in batch["details"]] == [
        "HFM-PAY-20261125-01"
    ] * 2
    assert [d["amount"]["value"] for d in batch["details"]] == ["7400.50", "5000.00"]
    assert batch["details"][0]["creditor_agent"] == {"bic": "INGBNL2AXXX"}

    assert reversal == {
        "amount": {"value": "350.00", "currency": "EUR"},
        "credit_debit": "DBIT",
        "reversal": True,
        "status": {"code": "BOOK"},
        "booking_date": "2026-11-25",
        "value_datetime": "2026-11-24T16:00:00+01:00",
        "account_servicer_reference": "DB2611250042003",
        "bank_transaction_code": {"proprietary": "NCHK", "proprietary_issuer": "SWIFT"},
        "additional_info": "Cheque 000418 returned unpaid",
    }

    assert usd["statement"]["id"] == "HFM-USD-2026-229"
    assert usd["statement"]["account"] == {
        "other": {"id": "0043887712", "scheme": {"code": "BBAN"}},
        "currency": "USD",
        "name": "Halbach USD account",
    }
    assert [b["type"]["code"] for b in usd["statement"]["balances"]] == ["OPBD", "CLBD"]
    assert "entries" not in usd["statement"]


def test_camt053_sample(gateway: Gateway) -> None:
    result = sample(gateway, "camt.053.001.08")
    (event,) = result.events
    statement = event["statement"]
    assert event["group"]["message_id"] == "CAMT053RIB000000000001"
    assert statement["id"] == "253EURNL26VAYB8060476890"
    assert (statement["page_number"], statement["last_page"]) == ("2", True)
    assert statement["account"] == {"other": {"id": "NL26VAYB8060476890"}}
    assert statement["account_owner"] == {"name": "FINPETROL"}
    assert statement["account_servicer"] == {
        "name": "AAAA BANKEN",
        "postal_address": {"country": "SE"},
    }
    assert [(b["type"]["code"], b["amount"]) for b in statement["balances"]] == [
        ("OPBD", {"value": "18.15", "currency": "EUR"}),
        ("CLBD", {"value": "27.00", "currency": "SEK"}),
        ("OPAV", {"value": "35.00", "currency": "CHF"}),
        ("CLAV", {"value": "2700", "currency": "JPY"}),
    ]
    (entry,) = statement["entries"]
    assert entry["amount"] == {"value": "8.85", "currency": "EUR"}
    assert entry["booking_datetime"] == "2014-12-31T13:15:00+01:00"
    (detail,) = entry["details"]
    assert detail["ids"] == {"end_to_end_id": "MUELL/FINP/RA12345"}
    assert "account_owner_reference" not in detail  # its Refs/Prtry has no canonical field
    assert detail["creditor"]["identification"]["organisation_other"] == [
        {"id": "455454654", "issuer": "KBO-BCE"}
    ]
    assert detail["remittance"]["structured"][0]["creditor_reference"] == {
        "type": {"code": "SCOR"},
        "issuer": "BBA",
        "reference": "4654654654654654",
    }
    assert statement["additional_info"] == "Additional Information"


# --- camt.054 ----------------------------------------------------------------------------


def test_camt054_notifications(gateway: Gateway) -> None:
    gbp, usd = fixture(gateway, "camt.054.001.08", "credit_and_debit.xml")
    assert gbp["group"]["message_id"] == usd["group"]["message_id"] == "NWB-NTF-20261126-7781"
    statement = gbp["statement"]
    assert statement["id"] == "NWB-NTF-7781-GBP"
    assert (statement["page_number"], statement["last_page"]) == ("1", True)
    assert statement["electronic_sequence"] == "7781"
    assert statement["account"] == {"iban": "GB56NWBK56003162847519", "currency": "GBP"}
    assert statement["account_owner"]["name"] == "Ashcombe Marine Supplies Ltd"
    assert statement["account_servicer"] == {"bic": "NWBKGB2LXXX"}
    assert "balances" not in statement  # a notification has none
    assert statement["additional_info"] == "Intraday credit and fee advice"
    credit, fee = statement["entries"]
    assert credit["amount"] == {"value": "15250.00", "currency": "GBP"}
    assert credit["booking_datetime"] == "2026-11-26T09:30:12+00:00"
    (detail,) = credit["details"]
    assert detail["ids"] == {
        "instruction_id": "RABO2611260044",
        "end_to_end_id": "VDB-2026-0871",
        "uetr": "3994693e-a3ae-4e68-9323-451b4a95902a",
        "transaction_id": "RABO2611260044TX",
    }
    assert detail["debtor"]["identification"]["organisation_other"] == [
        {"id": "58211470", "scheme": {"proprietary": "KVK"}, "issuer": "Kamer van Koophandel"}
    ]
    assert detail["creditor_agent"]["clearing_member"] == {
        "clearing_system": {"code": "GBDSC"},
        "member_id": "560031",
    }
    assert fee["bank_transaction_code"] == {
        "domain": "ACMT",
        "family": "MDOP",
        "sub_family": "CHRG",
    }
    assert "details" not in fee
    (pending,) = usd["statement"]["entries"]
    assert pending["status"] == {"proprietary": "BOOKED-PROVISIONAL"}
    assert pending["details"][0]["creditor_account"] == {"other": {"id": "778120334"}}
    assert "amount" not in pending["details"][0]


def test_camt054_sample(gateway: Gateway) -> None:
    result = sample(gateway, "camt.054.001.08")
    assert result.report.findings == []
    (event,) = result.events
    assert event["ids"]["message_id"] == "cmt054bizmsgidr-001"
    statement = event["statement"]
    assert statement["id"] == "cmt054NtfctnId-001"
    assert statement["account"] == {"other": {"id": "E96325872"}, "currency": "CAD"}
    (entry,) = statement["entries"]
    assert entry["reference"] == "cmt054NtryRef001"
    assert entry["amount"] == {"value": "2565972", "currency": "CAD"}
    assert entry["bank_transaction_code"]["sub_family"] == "XBCT"
    (detail,) = entry["details"]
    assert detail["ids"] == {
        "instruction_id": "pacs9bizmsgidr03",
        "end_to_end_id": "pacs9bizmsgidr01",
        "uetr": "8a562c67-ca16-48ba-b074-65581be6f001",
    }
    assert detail["interbank_settlement_date"] == "2021-04-27"


# --- camt.052 ----------------------------------------------------------------------------


def test_camt052_report(gateway: Gateway) -> None:
    (event,) = fixture(gateway, "camt.052.001.08", "intraday_report.xml")
    statement = event["statement"]
    assert event["event_type"] == "account.report"
    assert statement["id"] == "VDS-IDAY-20261126-03"
    assert (statement["page_number"], statement["last_page"]) == ("3", False)
    assert (statement["from_datetime"], statement["to_datetime"]) == (
        "2026-11-26T12:00:00+01:00",
        "2026-11-26T14:00:00+01:00",
    )
    assert [(b["type"]["code"], b["datetime"]) for b in statement["balances"]] == [
        ("ITBD", "2026-11-26T14:00:00+01:00"),
        ("ITAV", "2026-11-26T14:00:00+01:00"),
    ]
    pending, held = statement["entries"]
    assert pending["status"] == {"code": "PDNG"}
    assert pending["details"][0]["debtor_agent"] == {"bic": "DEUTDEFFXXX"}
    assert held["status"] == {"code": "INFO"}
    assert held["bank_transaction_code"] == {"proprietary": "HOLD"}
    assert statement["additional_info"] == "Intraday report 3 of the day"


def test_camt052_sample(gateway: Gateway) -> None:
    (event,) = sample(gateway, "camt.052.001.08").events
    assert event["group"]["message_id"] == "ETOT"
    assert event["statement"]["id"] == "IDAY"
    assert event["statement"]["account"] == {"other": {"id": "B1QDRCQR"}}
    assert event["statement"]["additional_info"].startswith("Next IMAD sequence number: 4627.")


# --- camt.056 ----------------------------------------------------------------------------


def test_camt056_cancellation_request(gateway: Gateway) -> None:
    duplicate, wrong_account = fixture(gateway, "camt.056.001.08", "two_transactions.xml")
    case = {
        "assignment_id": "CBK-CXL-20261126-0007",
        "assigner": {"bic": "COBADEFFXXX"},
        "assignee": {"bic": "INGBNL2AXXX"},
        "assignment_datetime": "2026-11-26T10:05:00+01:00",
        "case_id": "CBK-CASE-2611-0007",
        "case_creator": {"bic": "COBADEFFXXX"},
    }
    assert duplicate["case"] == {**case, "cancellation_id": "CBK-CXL-0007-01"}
    assert wrong_account["case"] == {**case, "cancellation_id": "CBK-CXL-0007-02"}
    assert duplicate["original"] == {
        "message_id": "CBK-P8-20261125-0331",
        "message_name_id": "pacs.008.001.08",
        "creation_datetime": "2026-11-25T15:20:00+01:00",
        "instruction_id": "CBK2611250331-01",
        "end_to_end_id": "KWB-2026-11-0098",
        "transaction_id": "CBK2611250331TX01",
        "uetr": "8b3a1535-3f13-4b70-9856-c32a687b253b",
        "clearing_system_reference": "T2-261125-551903",
        "interbank_settlement_amount": {"value": "18900.00", "currency": "EUR"},
        "interbank_settlement_date": "2026-11-25",
    }
    assert duplicate["reasons"] == [
        {
            "originator": {"name": "Kornelius Werkzeugbau KG"},
            "reason": {"code": "DUPL"},
            "additional_info": [
                "Sent twice by the ordering customer",
                "First payment KWB-2026-11-0097 stands",
            ],
        }
    ]
    for event in (duplicate, wrong_account):
        assert event["group"] == {
            "message_id": "CBK-CXL-20261126-0007",
            "creation_datetime": "2026-11-26T10:05:00+01:00",
        }
        assert event["ids"] == {"message_id": "CBK-CXL-20261126-0007"}
        assert event["instructing_agent"] == {"bic": "COBADEFFXXX"}
        assert event["instructed_agent"] == {"bic": "INGBNL2AXXX"}
    # nothing of the original payment but its references: no payment fields
    assert not {"amounts", "dates", "debtor", "creditor"} & duplicate.keys()

    assert wrong_account["reasons"] == [
        {"reason": {"proprietary": "WRONG-CREDITOR-ACCOUNT"}},
        {"originator": {"identification": {"any_bic": "COBADEFFXXX"}}, "reason": {"code": "CUST"}},
    ]
    assert wrong_account["original"]["uetr"] == "a7213dfe-8932-4293-a0dd-5386c9cf0800"
    assert wrong_account["amounts"] == {
        "interbank_settlement": {"value": "4210.40", "currency": "EUR"},
        "instructed": {"value": "4210.40", "currency": "EUR"},
    }
    assert wrong_account["dates"] == {
        "interbank_settlement": "2026-11-25",
        "requested_execution": "2026-11-25",
    }
    assert wrong_account["settlement"] == {"method": "INGA"}
    assert wrong_account["payment_type"] == {
        "instruction_priority": "NORM",
        "service_level": [{"code": "SEPA"}],
        "category_purpose": {"code": "SUPP"},
    }
    assert wrong_account["payment_method"] == "TRF"
    assert wrong_account["remittance"] == {"unstructured": ["Tooling order 2026-31 balance"]}
    assert wrong_account["ultimate_debtor"] == {"name": "Kornelius Holding GmbH"}
    assert wrong_account["debtor"]["name"] == "Kornelius Werkzeugbau KG"
    assert wrong_account["debtor_account"] == {"iban": "DE89370400440532013000"}
    assert wrong_account["debtor_agent"] == {"bic": "COBADEFFXXX"}
    assert wrong_account["creditor_agent"] == {"bic": "INGBNL2AXXX"}
    assert wrong_account["creditor"] == {"name": "Vanderbeek Staalhandel B.V."}
    assert wrong_account["creditor_account"] == {"iban": "NL48INGB0007261934"}
    assert wrong_account["purpose"] == {"code": "SUPP"}


def test_camt056_case_created_by_a_party_for_an_fi_transfer(gateway: Gateway) -> None:
    (event,) = fixture(gateway, "camt.056.001.08", "fi_transfer_case_by_party.xml")
    assert event["case"] == {
        "assignment_id": "BGL-CXL-20261126-A1",
        "assigner": {"bic": "BGLLLULLXXX"},
        "assignee": {"bic": "GEBABEBBXXX"},
        "assignment_datetime": "2026-11-26T11:45:00+01:00",
        "case_id": "LTF-INV-2611-A1",
        "case_creator_party": {
            "name": "Lindqvist Treasury Services S.A.",
            "identification": {"lei": "529900HNOAA1KXQJUQ27"},
        },
    }
    assert event["original"]["message_name_id"] == "pacs.009.001.08"
    assert event["reasons"] == [
        {"reason": {"code": "AC03"}, "additional_info": ["Beneficiary institution account closed"]}
    ]
    # pacs.009 parties are financial institutions (Party40Choice/Agt)
    assert event["debtor_institution"] == {"bic": "BGLLLULLXXX"}
    assert event["creditor_institution"] == {"bic": "GEBABEBBXXX"}
    assert "debtor" not in event and "creditor" not in event
    assert event["settlement"] == {"method": "CLRG", "clearing_system": {"code": "TGT"}}


def test_camt056_sample(gateway: Gateway) -> None:
    (event,) = sample(gateway, "camt.056.001.08").events
    fed = {"clearing_system": {"code": "USABA"}}
    assert event["case"] == {
        "assignment_id": "20230604011104238Sc01RTStep2MsgId",
        "assigner": {"clearing_member": {**fed, "member_id": "011104238"}},
        "assignee": {"clearing_member": {**fed, "member_id": "021040078"}},
        "assignment_datetime": "2023-06-04T13:55:26-04:00",
        "case_id": "20230604011104238Sc01Step1MsgIdDUP",
        "case_creator": {"clearing_member": {**fed, "member_id": "011104238"}},
    }
    assert event["instructing_agent"] == event["case"]["assigner"]
    assert event["original"]["uetr"] == "8a562c67-ca16-48ba-b074-65581be6f011"
    assert event["original"]["end_to_end_id"] == "Scenario01EtoEId001"
    assert event["original"]["interbank_settlement_amount"] == {"value": "51.74", "currency": "USD"}
    (reason,) = event["reasons"]
    assert reason["reason"] == {"code": "DUPL"}
    assert reason["originator"] == {"name": "Individual A", "contact": {"mobile": "+1-6465315555"}}
    assert reason["additional_info"] == ["Already Paid. Ref 20230603011104238MsgIdFirstPayment"]


def test_camt056_group_cancellation_yields_the_case_and_reports_the_group(
    gateway: Gateway,
) -> None:
    _need(gateway, "camt.056.001.08")
    path = FIXTURES / "mx/camt.056.001.08/valid/two_transactions.xml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("<Undrlyg>"), text.index("</Undrlyg>") + len("</Undrlyg>")
    group = (
        "<Undrlyg><OrgnlGrpInfAndCxl><OrgnlMsgId>CBK-P8-20261125-0331</OrgnlMsgId>"
        "<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId><GrpCxl>true</GrpCxl>"
        "</OrgnlGrpInfAndCxl></Undrlyg>"
    )
    result = inbound(gateway, (text[:start] + group + text[end:]).encode())
    (event,) = result.events  # no TxInf: the assignment and case, without transaction data
    assert event["case"]["assignment_id"] and event["case"]["case_id"]
    assert "original" not in event
    unmapped = {f.location.xpath for f in result.report.findings if f.code == "mapping.unmapped"}
    assert unmapped == {
        f"/Document/FIToFIPmtCxlReq/Undrlyg/OrgnlGrpInfAndCxl/{name}"
        for name in ("OrgnlMsgId", "OrgnlMsgNmId", "GrpCxl")
    }


def test_camt056_assigner_address_lines_are_read_and_rendered_once(gateway: Gateway) -> None:
    """Assgnmt/Assgnr/Agt is case.assigner and the instructing agent: its repeating
    AdrLine goes to case.assigner only, so rendering both writes each line once."""
    _need(gateway, "camt.056.001.08")
    path = FIXTURES / "mx/camt.056.001.08/valid/two_transactions.xml"
    text = path.read_text(encoding="utf-8").replace(
        "<BICFI>COBADEFFXXX</BICFI>",
        "<BICFI>COBADEFFXXX</BICFI><PstlAdr><Ctry>DE</Ctry><AdrLine>Kaiserplatz</AdrLine>"
        "<AdrLine>60311 Frankfurt am Main</AdrLine></PstlAdr>",
        1,
    )
    events = inbound(gateway, text.encode()).events
    assert events[0]["case"]["assigner"]["postal_address"] == {
        "country": "DE",
        "address_lines": ["Kaiserplatz", "60311 Frankfurt am Main"],
    }
    assert events[0]["instructing_agent"] == {
        "bic": "COBADEFFXXX",
        "postal_address": {"country": "DE"},
    }
    document, findings, schema = render(gateway, "camt.056.001.08", events)
    assert findings == schema == []
    lines = document.xpath("//*[local-name()='Assgnr']//*[local-name()='AdrLine']")
    assert [line.text for line in lines] == ["Kaiserplatz", "60311 Frankfurt am Main"]
    assert payload_of(inbound(gateway, render_xml(document)).events) == payload_of(events)


# --- camt.029 ----------------------------------------------------------------------------


def test_camt029_cancellation_accepted(gateway: Gateway) -> None:
    (event,) = fixture(gateway, "camt.029.001.09", "cancellation_accepted.xml")
    assert event["case"] == {
        "assignment_id": "ING-RSL-20261126-0031",
        "assigner": {"bic": "INGBNL2AXXX"},
        "assignee": {"bic": "COBADEFFXXX"},
        "assignment_datetime": "2026-11-26T13:20:00+01:00",
        "case_id": "CBK-CASE-2611-0007",
        "case_creator": {"bic": "COBADEFFXXX"},
        "confirmation": "CNCL",
        "cancellation_status_id": "ING-CXS-0031-01",
        "transaction_status": "ACCR",
    }
    assert event["original"] == {
        "message_id": "CBK-P8-20261125-0331",
        "message_name_id": "pacs.008.001.08",
        "creation_datetime": "2026-11-25T15:20:00+01:00",
        "instruction_id": "CBK2611250331-01",
        "end_to_end_id": "KWB-2026-11-0098",
        "transaction_id": "CBK2611250331TX01",
        "clearing_system_reference": "T2-261125-551903",
        "uetr": "8b3a1535-3f13-4b70-9856-c32a687b253b",
        "interbank_settlement_amount": {"value": "18900.00", "currency": "EUR"},
        "interbank_settlement_date": "2026-11-25",
    }
    assert event["group"] == {
        "message_id": "ING-RSL-20261126-0031",
        "creation_datetime": "2026-11-26T13:20:00+01:00",
    }
    assert (event["instructing_agent"], event["instructed_agent"]) == (
        {"bic": "INGBNL2AXXX"},
        {"bic": "COBADEFFXXX"},
    )
    # the resolution's own transaction (the return of the funds)
    assert event["ids"] == {
        "message_id": "ING-RSL-20261126-0031",
        "end_to_end_id": "KWB-2026-11-0098",
        "transaction_id": "ING2611260031RT",
        "uetr": "fd95588c-5e4e-410b-b14c-f51964cd1715",
    }
    assert event["amounts"] == {
        "interbank_settlement": {"value": "18875.00", "currency": "EUR"},
        "charges": [
            {"amount": {"value": "25.00", "currency": "EUR"}, "agent": {"bic": "INGBNL2AXXX"}}
        ],
        "instructed": {"value": "18900.00", "currency": "EUR"},
    }
    assert event["dates"] == {
        "interbank_settlement": "2026-11-26",
        "requested_execution_datetime": "2026-11-25T15:00:00+01:00",
    }
    assert event["payment_type"] == {"service_level": [{"code": "SEPA"}]}
    assert event["debtor"] == {"name": "Kornelius Werkzeugbau KG"}
    assert event["creditor_account"] == {"iban": "NL48INGB0007261934"}
    assert "reasons" not in event


def test_camt029_cancellation_rejected(gateway: Gateway) -> None:
    first, second = fixture(gateway, "camt.029.001.09", "cancellation_rejected.xml")
    for event, status_id in ((first, "GEB-CXS-A1-01"), (second, "GEB-CXS-A1-02")):
        assert event["case"]["confirmation"] == "RJCR"
        assert event["case"]["transaction_status"] == "RJCR"
        assert event["case"]["cancellation_status_id"] == status_id
        assert event["case"]["case_creator_party"]["identification"] == {
            "lei": "529900HNOAA1KXQJUQ27"
        }
        assert "case_creator" not in event["case"]
    assert first["reasons"] == [
        {
            "originator": {
                "name": "BNP Paribas Fortis",
                "identification": {"any_bic": "GEBABEBBXXX"},
            },
            "reason": {"code": "ARDT"},
            "additional_info": ["Funds already credited to the beneficiary institution"],
        }
    ]
    assert first["original"]["interbank_settlement_amount"] == {
        "value": "2500000.00",
        "currency": "EUR",
    }
    assert second["reasons"] == [{"reason": {"proprietary": "NO-RESPONSE-FROM-BENEFICIARY"}}]
    assert second["original"]["end_to_end_id"] == "BGL2611260013"
    assert second["debtor_institution"] == {"bic": "BGLLLULLXXX"}
    assert second["creditor_institution"] == {"bic": "GEBABEBBXXX"}
    assert second["purpose"] == {"proprietary": "INTRA-GROUP-LIQUIDITY"}
    assert not {"amounts", "dates"} & (first.keys() | second.keys())
    assert first["ids"] == second["ids"] == {"message_id": "GEB-RSL-20261126-A1"}
    assert first["instructing_agent"] == {"bic": "GEBABEBBXXX"}


def test_camt029_sample(gateway: Gateway) -> None:
    result = sample(gateway, "camt.029.001.09")
    assert result.report.findings == []
    (event,) = result.events
    assert event["case"]["assignment_id"] == "20230604021040078Sc01RTStep3MsgId"
    assert event["case"]["case_id"] == "20230604011104238Sc01Step1MsgIdDUP"
    assert event["case"]["confirmation"] == "IPAY"
    assert event["original"]["message_id"] == "20230604011104238Sc01RTStep1MsgId"
    assert event["original"]["uetr"] == "8a562c67-ca16-48ba-b074-65581be6f011"
    assert event["ids"] == {
        "message_id": "20230604021040078Sc01RTStep3MsgId",
        "uetr": "8a562c67-ca16-48ba-b074-65581be6f011",
    }
    assert event["instructed_agent"] == event["case"]["assignee"]
    assert event["amounts"] == {"interbank_settlement": {"value": "51.74", "currency": "USD"}}
    assert event["dates"] == {"interbank_settlement": "2023-06-04"}


# --- what is reported, and never invented -------------------------------------------------


def test_elements_without_a_canonical_field_are_reported(gateway: Gateway) -> None:
    _need(gateway, "camt.053.001.08")
    text = (FIXTURES / "mx/camt.053.001.08/valid/two_statements.xml").read_text(encoding="utf-8")
    text = text.replace(
        "<Acct>\n        <Id>\n          <IBAN>",
        "<CpyDplctInd>DUPL</CpyDplctInd>\n      <Acct>\n        <Id>\n          <IBAN>",
        1,
    )
    text = text.replace(
        "<ClrSysRef>T2-261125-884120</ClrSysRef>",
        "<ClrSysRef>T2-261125-884120</ClrSysRef><AcctOwnrTxId>HFM-OWN-0042</AcctOwnrTxId>"
        "<Prtry><Tp>MT940-61</Tp><Ref>X-1</Ref></Prtry><Prtry><Tp>OTHER</Tp><Ref>X-2</Ref></Prtry>",
    )
    result = inbound(gateway, text.encode())
    unmapped = {
        (f.location.xpath, f.context["count"])
        for f in result.report.findings
        if f.code == "mapping.unmapped"
    }
    refs = "/Document/BkToCstmrStmt/Stmt/Ntry/NtryDtls/TxDtls/Refs/Prtry"
    assert unmapped == {
        ("/Document/BkToCstmrStmt/Stmt/CpyDplctInd", 1),
        (f"{refs}/Tp", 2),
        (f"{refs}/Ref", 2),  # proprietary references have no canonical field
    }
    detail = result.events[0]["statement"]["entries"][0]["details"][0]
    assert detail["account_owner_reference"] == "HFM-OWN-0042"
    # ... and it renders back (Refs/AcctOwnrTxId needs no type)
    _, findings, schema = render(gateway, "camt.053.001.08", result.events)
    assert findings == [] and schema == []


def test_rendering_never_invents_what_a_statement_lacks(gateway: Gateway) -> None:
    """An MT 940-like event: no entry status (MT has none), no account: both are
    mandatory in camt.053 and reported, never defaulted."""
    events = copy.deepcopy(fixture(gateway, "camt.053.001.08", "two_statements.xml"))[:1]
    statement = events[0]["statement"]
    del statement["account"]
    for entry in statement["entries"]:
        del entry["status"]
    document, findings, schema = render(gateway, "camt.053.001.08", events)
    assert {f.code for f in findings} == {"mapping.missing_mandatory"}
    # by the mapping (statement.account, entries' status: required) and by the XSD (the
    # Acct element the owner and servicer still open needs its Id; every Ntry its Sts)
    stmt = "/Document/BkToCstmrStmt/Stmt"
    assert {re.sub(r"\[\d+\]", "", f.location.xpath or "") for f in findings} == {
        f"{stmt}/Acct",
        f"{stmt}/Acct/Id",
        f"{stmt}/Ntry/Sts",
    }
    assert len(document.xpath("//*[local-name()='Ntry']")) == 3
    assert not document.xpath("//*[local-name()='Sts']")
    assert not document.xpath("//*[local-name()='Acct']/*[local-name()='Id']")
    assert schema


def test_canonical_data_a_statement_cannot_carry_is_a_warning(gateway: Gateway) -> None:
    events = copy.deepcopy(fixture(gateway, "camt.053.001.08", "two_statements.xml"))
    for event in events:
        event["debtor"] = {"name": "Not a statement field"}
        event["case"] = {"case_id": "C-1"}
    _, findings, schema = render(gateway, "camt.053.001.08", events)
    assert schema == []
    assert {f.context["target"]: f.context["count"] for f in findings} == {"case": 2, "debtor": 2}
    assert {f.code for f in findings} == {"mapping.unmapped"}


# --- events generated from the mapping files ----------------------------------------------


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("message_id", list(MESSAGES))
def test_generated_events_round_trip(
    gateway: Gateway, message_id: str, placement: Placement
) -> None:
    """The strategy of tests/test_render_properties.py, on these mappings."""
    _need(gateway, message_id)
    mapping, model, strategy, tree = property_setup(gateway, message_id)
    entry = gateway.schemas.get(message_id)
    assert entry is not None
    # what the XSD cannot take from canonical data: AdrTp/Prtry (needs Issr),
    # CtctDtls/Othr (needs ChanlTp) and TxDtls/Refs/Prtry (needs Tp)
    assert {label.split("/")[-1] for label in tree.excluded} <= {"Prtry", "Othr"}

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(events=strategy)
    def check(events: list[dict[str, Any]]) -> None:
        for event in events:
            PaymentEvent.model_validate(event)
        result = map_outbound(events, mapping, model, placement=placement)
        assert result.findings == []
        document = etree.fromstring(render_xml(result.document))
        assert gateway.schemas.validate(document, entry) == []
        back = map_inbound(document, mapping, seed="s", source={})
        assert back.findings == []
        assert payload_of(back.events) == payload_of(events)

    check()
