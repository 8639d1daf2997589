"""The status report mappings (``mappings/pacs.002.001.10.yaml``, ``pain.002.001.10.yaml``).

Inbound: the project's fixtures give exactly the expected canonical events (one per
``TxInfAndSts``, group and block data on each, transaction values winning) and report
what the canonical model cannot carry; the third-party pacs.002 samples map (their
values read independently with lxml). Outbound: every fixture and sample renders back
(``map_outbound``) into an XSD-valid document that maps to the same events, and a
status event built by hand renders into a valid pacs.002.001.10.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.events import (
    Agent,
    CodeOrProprietary,
    GroupHeader,
    Identifiers,
    OriginalReferences,
    Party,
    PaymentEvent,
    PaymentStatus,
    SourceInfo,
    StatusReason,
)
from gateway.mapping import map_outbound, render_xml
from gateway.mapping.render import IDENTITY, Placement
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Finding, Outcome
from gateway.xsdmodel import XsdModel
from tests.conftest import FIXTURES, SAMPLES

PACS002 = "pacs.002.001.10"
PAIN002 = "pain.002.001.10"
PLACEMENTS: tuple[Placement, ...] = ("innermost", "outermost")


def _need(gateway: Gateway, message_id: str) -> XsdModel:
    entry = gateway.schemas.get(message_id)
    if entry is None:
        pytest.skip(f"no XSD installed for {message_id}")
    return XsdModel.load(entry.path)


def _fixture(message_id: str, name: str) -> bytes:
    return (FIXTURES / "mx" / message_id / "valid" / f"{name}.xml").read_bytes()


def _inbound(gateway: Gateway, message_id: str, payload: bytes) -> InboundResult:
    _need(gateway, message_id)
    result = gateway.inbound(payload)
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    assert result.report.message_id == message_id
    for event in result.events:
        PaymentEvent.model_validate(event)
    return result


def _payload(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in IDENTITY} for e in events]


def _unmapped(result: InboundResult) -> list[str]:
    return [f.location.xpath or "" for f in result.report.findings if f.code == "mapping.unmapped"]


def _render(
    gateway: Gateway, message_id: str, events: list[dict[str, Any]], placement: Placement
) -> tuple[bytes, list[Finding], list[Finding]]:
    """(document, render findings, XSD findings)."""
    model = _need(gateway, message_id)
    mapping = gateway.mappings.get(message_id)
    assert mapping is not None
    result = map_outbound(events, mapping, model, placement=placement)
    entry = gateway.schemas.get(message_id)
    assert entry is not None
    return (
        render_xml(result.document),
        result.findings,
        gateway.schemas.validate(result.document, entry),
    )


BIC = {"bic": "DEUTDEFFXXX"}
GROUP_REASON = {
    "originator": {
        "name": "Deutsche Bank Payments Operations",
        "identification": {"any_bic": "DEUTDEFFXXX"},
    },
    "reason": {"proprietary": "PARTIAL-BATCH"},
    "additional_info": [
        "One of three transactions was rejected, one is pending.",
        "See the transaction statuses below.",
    ],
}
ORIGINAL_GROUP = {
    "message_id": "INGB-PCS8-20250314-7",
    "message_name_id": "pacs.008.001.08",
    "creation_datetime": "2025-03-14T09:02:41+01:00",
}


# --- inbound: pacs.002 ----------------------------------------------------------------


def test_pacs002_rich_gives_one_event_per_transaction(gateway: Gateway) -> None:
    result = _inbound(gateway, PACS002, _fixture(PACS002, "rich"))
    assert result.stage == "status"
    events = result.events
    assert [e["event_type"] for e in events] == ["payment.status"] * 3
    assert [e["status"]["transaction_status"] for e in events] == ["ACSC", "RJCT", "PDNG"]
    for event in events:  # the group header and OrgnlGrpInfAndSts on every event
        assert event["group"] == {
            "message_id": "STS-20250314-0042",
            "creation_datetime": "2025-03-14T10:15:00+01:00",
        }
        assert event["ids"]["message_id"] == "STS-20250314-0042"
        assert {k: event["original"][k] for k in ORIGINAL_GROUP} == ORIGINAL_GROUP
        assert event["status"]["group_status"] == "PART"
        assert event["status"]["group_reasons"] == [GROUP_REASON]
    first, second, third = _payload(events)
    assert first["status"] == {
        "group_status": "PART",
        "group_reasons": [GROUP_REASON],
        "status_id": "STS-0042-001",
        "transaction_status": "ACSC",
        "acceptance_datetime": "2025-03-14T09:30:12+01:00",
        "effective_settlement_date": "2025-03-14",
        "account_servicer_reference": "DB-BOOK-558120",
    }
    assert first["ids"] == {
        "message_id": "STS-20250314-0042",
        "clearing_system_reference": "T2-20250314-99812",
    }
    assert first["original"] == {
        **ORIGINAL_GROUP,
        "instruction_id": "INGB-INSTR-0001",
        "end_to_end_id": "INV-2025-118-E2E",
        "transaction_id": "INGB-TX-0001",
        "uetr": "1ec0d89c-2da1-4d0a-8239-c0fc57b6dc95",
        "interbank_settlement_amount": {"value": "12000.00", "currency": "EUR"},
        "interbank_settlement_date": "2025-03-14",
    }
    assert "reasons" not in first
    # OrgnlTxRef repeats the original payment: its parts fill the payment fields
    assert first["settlement"] == {"method": "CLRG", "clearing_system": {"code": "TGT"}}
    assert first["payment_type"] == {"service_level": [{"code": "G001"}]}
    assert first["remittance"] == {"unstructured": ["Invoice 2025-118"]}
    assert first["debtor"] == {
        "name": "Tulpenveld Handel B.V.",
        "postal_address": {"town_name": "Utrecht", "country": "NL"},
    }
    assert first["debtor_account"] == {"iban": "NL38INGB0006482913"}
    assert first["debtor_agent"] == {"bic": "INGBNL2AXXX"}
    assert first["creditor_agent"] == BIC
    assert first["creditor"] == {"name": "Rheinblick Maschinenbau GmbH"}
    assert first["creditor_account"] == {"iban": "DE75500700240712846390"}
    assert first["instructing_agent"] == BIC
    assert first["instructed_agent"] == {"bic": "INGBNL2AXXX"}
    assert second["reasons"] == [
        {
            "originator": {"identification": {"any_bic": "DEUTDEFFXXX"}},
            "reason": {"code": "AC04"},
            "additional_info": ["Creditor account closed on 2025-02-28."],
        },
        {"reason": {"proprietary": "DB-REJ-117"}},
    ]
    assert second["amounts"] == {
        "charges": [{"amount": {"value": "2.50", "currency": "EUR"}, "agent": BIC}]
    }
    assert "acceptance_datetime" not in second["status"]
    # the transaction's own OrgnlGrpInf and agents win over the group's
    assert third["original"]["uetr"] == "b4e1bd22-5a3a-4c1a-97dc-1beb91c15588"
    assert "transaction_id" not in third["original"]
    assert third["instructing_agent"] == {"bic": "COBADEFFXXX"}
    assert third["amounts"] == {"instructed": {"value": "1000.00", "currency": "EUR"}}
    assert third["purpose"] == {"code": "GDDS"}
    assert third["reasons"] == [
        {"reason": {"code": "NARR"}, "additional_info": ["Held for compliance review."]}
    ]
    prefix = "/Document/FIToFIPmtStsRpt/OrgnlGrpInfAndSts/"
    assert _unmapped(result) == [
        prefix + "NbOfTxsPerSts/DtldCtrlSum",
        prefix + "NbOfTxsPerSts/DtldNbOfTxs",
        prefix + "NbOfTxsPerSts/DtldSts",
        prefix + "OrgnlCtrlSum",
        prefix + "OrgnlNbOfTxs",
    ]


def test_pacs002_transaction_status_without_a_group_status(gateway: Gateway) -> None:
    result = _inbound(gateway, PACS002, _fixture(PACS002, "transaction_status"))
    assert result.report.findings == []
    first, second = _payload(result.events)
    assert first == {
        "group": {
            "message_id": "CHAS-STS-88120433",
            "creation_datetime": "2025-06-02T14:05:09-04:00",
        },
        "ids": {"message_id": "CHAS-STS-88120433"},
        "original": {
            "message_id": "BOFA-20250602-00311",
            "message_name_id": "pacs.008.001.08",
            "creation_datetime": "2025-06-02T14:04:51-04:00",
            "instruction_id": "BOFA-I-00311-1",
            "end_to_end_id": "PO-77120-SETTLE",
            "uetr": "12151ccf-21f0-4663-98ac-13d7ab5ce4ab",
        },
        "status": {
            "transaction_status": "ACSP",
            "acceptance_datetime": "2025-06-02T14:05:07-04:00",
        },
        "instructing_agent": {
            "clearing_member": {"clearing_system": {"code": "USABA"}, "member_id": "021000021"}
        },
        "instructed_agent": {
            "clearing_member": {"clearing_system": {"code": "USABA"}, "member_id": "026009593"}
        },
    }
    assert second["original"]["message_name_id"] == "pacs.009.001.08"
    assert second["original"]["interbank_settlement_amount"] == {
        "value": "2500000.00",
        "currency": "USD",
    }
    assert second["status"] == {"transaction_status": "RJCT"}
    assert second["reasons"] == [
        {
            "reason": {"code": "AM04"},
            "additional_info": ["Insufficient funds in the settlement account at the cut-off."],
        }
    ]
    # a financial institution as debtor / creditor (Party40Choice/Agt)
    assert second["debtor_institution"] == {"bic": "BOFAUS3NXXX"}
    assert second["creditor_institution"] == {"bic": "CITIUS33XXX"}
    assert "debtor" not in second and "creditor" not in second


def test_a_group_only_status_is_carried(gateway: Gateway) -> None:
    """No TxInfAndSts: one event carries the group status and its reasons."""
    result = _inbound(gateway, PACS002, _fixture(PACS002, "group_only_rejection"))
    assert result.accepted
    (event,) = result.events
    assert result.report.transaction_count == 1
    assert event["status"]["group_status"] == "RJCT"
    assert event["status"]["group_reasons"]
    assert event["original"]["message_id"]
    assert not [f for f in result.report.findings if "GrpSts" in (f.location.xpath or "")]


def _sample_paths() -> list[Path]:
    return sorted((SAMPLES / "mx" / PACS002).glob("*.xml"))


def _text(element: etree._Element, path: str) -> str | None:
    steps = "/".join(f"*[local-name()='{s}']" for s in path.split("/"))
    found = element.xpath(steps)
    return found[0].text.strip() if found and found[0].text else None


@pytest.mark.skipif(not _sample_paths(), reason="no third-party pacs.002.001.10 samples")
@pytest.mark.parametrize("path", _sample_paths(), ids=lambda p: p.stem)
def test_pacs002_samples_map(gateway: Gateway, path: Path) -> None:
    payload = path.read_bytes()
    result = _inbound(gateway, PACS002, payload)
    assert not [f for f in result.report.findings if f.code.startswith("mapping.")]
    root = etree.fromstring(payload)
    (top,) = root.xpath("//*[local-name()='FIToFIPmtStsRpt']")
    transactions = top.xpath("*[local-name()='TxInfAndSts']")
    assert len(result.events) == len(transactions) > 0
    for event, tx in zip(result.events, transactions, strict=True):
        assert event["group"]["message_id"] == _text(top, "GrpHdr/MsgId")
        assert event["status"]["transaction_status"] == _text(tx, "TxSts")
        original = event["original"]
        for key, element in (
            ("message_id", "OrgnlGrpInf/OrgnlMsgId"),
            ("message_name_id", "OrgnlGrpInf/OrgnlMsgNmId"),
            ("end_to_end_id", "OrgnlEndToEndId"),
            ("uetr", "OrgnlUETR"),
        ):
            assert original.get(key) == _text(tx, element), key
        assert event["status"].get("effective_settlement_date") == _text(tx, "FctvIntrBkSttlmDt/Dt")
        member = _text(tx, "InstgAgt/FinInstnId/ClrSysMmbId/MmbId")
        assert (event.get("instructing_agent") or {}).get("clearing_member", {}).get(
            "member_id"
        ) == member


# --- inbound: pain.002 ----------------------------------------------------------------


def test_pain002_rich_gives_one_event_per_transaction_of_each_block(gateway: Gateway) -> None:
    result = _inbound(gateway, PAIN002, _fixture(PAIN002, "rich"))
    assert result.stage == "status"
    events = _payload(result.events)
    assert [e["ids"]["payment_information_id"] for e in events] == [
        "PAYRUN-A-SUPPLIERS",
        "PAYRUN-A-SUPPLIERS",
        "PAYRUN-A-PAYROLL",
    ]
    assert [e["status"]["payment_information_status"] for e in events] == ["PART"] * 2 + ["ACCP"]
    assert [e["status"]["transaction_status"] for e in events] == ["ACCP", "RJCT", "ACCP"]
    for event in events:
        assert event["original"]["message_id"] == "PAYRUN-2025-05-05-A"
        assert event["original"]["message_name_id"] == "pain.001.001.09"
        assert event["status"]["group_status"] == "PART"
        assert event["initiating_party"] == {
            "name": "Societe Generale",
            "identification": {"any_bic": "SOGEFRPPXXX"},
        }
        assert event["debtor_agent"] == {"bic": "SOGEFRPPXXX"}  # GrpHdr/DbtrAgt
    first, second, third = events
    assert first["status"] == {
        "group_status": "PART",
        "group_reasons": [
            {
                "originator": {"name": "Societe Generale Cash Management"},
                "reason": {"code": "NARR"},
                "additional_info": ["Two of three transactions accepted."],
            }
        ],
        "payment_information_status": "PART",
        "status_id": "PSR-0017-1",
        "transaction_status": "ACCP",
        "acceptance_datetime": "2025-05-05T16:19:58+02:00",
        "account_servicer_reference": "SG-ACK-77120",
    }
    assert first["original"] == {
        "message_id": "PAYRUN-2025-05-05-A",
        "message_name_id": "pain.001.001.09",
        "creation_datetime": "2025-05-05T15:58:02+02:00",
        "instruction_id": "SUP-0501",
        "end_to_end_id": "FACT-88213",
        "uetr": "cd803fd6-6878-4479-918a-9d65db0e8fef",
    }
    assert first["amounts"] == {"instructed": {"value": "3100.00", "currency": "EUR"}}
    assert first["dates"] == {"requested_execution": "2025-05-06"}
    assert first["payment_method"] == "TRF"
    assert first["debtor_account"] == {"iban": "FR7630003036200005027481548"}
    assert first["creditor_agent"] == BIC
    assert first["creditor"]["postal_address"]["town_name"] == "Frankfurt am Main"
    assert second["reasons"] == [
        {
            "reason": {"code": "BE05"},
            "additional_info": ["Creditor name does not match the account holder."],
        },
        {
            "originator": {"identification": {"any_bic": "SOGEFRPPXXX"}},
            "reason": {"proprietary": "SG-NAME-CHECK"},
        },
    ]
    assert third["payment_type"] == {
        "service_level": [{"code": "SEPA"}],
        "category_purpose": {"code": "SALA"},
    }
    assert third["amounts"]["charges"] == [
        {"amount": {"value": "0.40", "currency": "EUR"}, "agent": {"bic": "SOGEFRPPXXX"}}
    ]
    assert _unmapped(result) == [
        "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlCtrlSum",
        "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlNbOfTxs",
        "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/OrgnlNbOfTxs",
    ]


# --- outbound -------------------------------------------------------------------------


def _messages() -> Iterator[Any]:
    for message_id in (PACS002, PAIN002):
        paths = sorted((FIXTURES / "mx" / message_id / "valid").glob("*.xml"))
        paths += sorted((SAMPLES / "mx" / message_id).glob("*.xml"))
        for path in paths:
            origin = "sample" if path.is_relative_to(SAMPLES) else "fixture"
            yield pytest.param(message_id, path, id=f"{message_id}-{origin}-{path.stem}")


#: Events with a group status need the original group ids in OrgnlGrpInfAndSts: placement
#: innermost puts them on each transaction instead and reports what the group then lacks.
INNERMOST_LACKS = {
    (PACS002, name): [
        "/Document/FIToFIPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgId",
        "/Document/FIToFIPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgNmId",
    ]
    for name in ("rich", "group_only_rejection")
}


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize(("message_id", "path"), list(_messages()))
def test_round_trip(gateway: Gateway, message_id: str, path: Path, placement: Placement) -> None:
    events = _inbound(gateway, message_id, path.read_bytes()).events
    document, findings, schema = _render(gateway, message_id, events, placement)
    lacking = INNERMOST_LACKS.get((message_id, path.stem)) if placement == "innermost" else None
    if lacking is not None:  # reported, never invented
        assert [f.code for f in findings] == ["mapping.missing_mandatory"] * len(lacking)
        assert [f.location.xpath for f in findings] == lacking
        assert schema, "the XSD rejects it too"
        return
    assert findings == []
    assert schema == []
    again = _inbound(gateway, message_id, document).events
    assert _payload(again) == _payload(events)


def test_pacs002_outermost_writes_the_group_status_once(gateway: Gateway) -> None:
    events = _inbound(gateway, PACS002, _fixture(PACS002, "rich")).events
    document, _, _ = _render(gateway, PACS002, events, "outermost")
    root = etree.fromstring(document)
    (group,) = root.xpath("//*[local-name()='OrgnlGrpInfAndSts']")
    assert [etree.QName(c).localname for c in group] == [
        "OrgnlMsgId", "OrgnlMsgNmId", "OrgnlCreDtTm", "GrpSts", "StsRsnInf",
    ]  # fmt: skip
    assert root.xpath("//*[local-name()='TxInfAndSts']/*[local-name()='OrgnlGrpInf']") == []


def _hand_built() -> PaymentEvent:
    return PaymentEvent(
        event_id="00000000-0000-4000-8000-000000000001",
        event_type="payment.status",
        schema_version="1",
        source=SourceInfo(message_id="internal", payload_sha256="0" * 64, transaction_index=0),
        group=GroupHeader(message_id="STS-HAND-0001", creation_datetime="2025-07-01T12:00:00Z"),
        ids=Identifiers(message_id="STS-HAND-0001"),
        instructing_agent=Agent(bic="BNPAFRPPXXX"),
        instructed_agent=Agent(bic="DEUTDEFFXXX"),
        original=OriginalReferences(
            message_id="DEUT-PCS8-0701-19",
            message_name_id="pacs.008.001.08",
            instruction_id="DEUT-I-19-1",
            end_to_end_id="ORDER-55120",
            uetr="d3bf69f2-73ca-4c00-a86e-3b7866c20de0",
        ),
        status=PaymentStatus(
            transaction_status="ACSC",
            acceptance_datetime="2025-07-01T11:59:30Z",
            effective_settlement_date="2025-07-01",
        ),
        reasons=[
            StatusReason(
                originator=Party(name="BNP Paribas"),
                reason=CodeOrProprietary(code="G000"),
                additional_info=["Credited to the creditor's account."],
            )
        ],
    )


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_a_hand_built_status_event_renders_a_valid_pacs002(
    gateway: Gateway, placement: Placement
) -> None:
    event = _hand_built()
    data = event.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    document, findings, schema = _render(gateway, PACS002, [data], placement)
    assert findings == []
    assert schema == []
    root = etree.fromstring(document)
    (tx,) = root.xpath("//*[local-name()='TxInfAndSts']")
    assert _text(tx, "TxSts") == "ACSC"
    assert _text(tx, "StsRsnInf/Rsn/Cd") == "G000"
    assert _text(tx, "StsRsnInf/Orgtr/Nm") == "BNP Paribas"
    assert _text(tx, "OrgnlUETR") == "d3bf69f2-73ca-4c00-a86e-3b7866c20de0"
    assert _text(tx, "FctvIntrBkSttlmDt/Dt") == "2025-07-01"
    # one event: outermost writes the original group once, in OrgnlGrpInfAndSts, and the
    # agents once, in GrpHdr
    inner = placement == "innermost"
    assert [etree.QName(c).localname for c in tx] == [
        *(["OrgnlGrpInf"] if inner else []), "OrgnlInstrId", "OrgnlEndToEndId", "OrgnlUETR",
        "TxSts", "StsRsnInf", "AccptncDtTm", "FctvIntrBkSttlmDt",
        *(["InstgAgt", "InstdAgt"] if inner else []),
    ]  # fmt: skip
    in_group = root.xpath("//*[local-name()='OrgnlGrpInfAndSts']/*[local-name()='OrgnlMsgId']")
    assert len(in_group) == (placement == "outermost")
    (back,) = _inbound(gateway, PACS002, document).events
    identity = set(IDENTITY)
    assert PaymentEvent.model_validate(back).model_dump(exclude=identity) == event.model_dump(
        exclude=identity
    )


def test_a_status_event_without_its_mandatory_group_data_is_reported(gateway: Gateway) -> None:
    data = _hand_built().model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    del data["group"]["creation_datetime"]
    del data["original"]["message_name_id"]
    _, findings, schema = _render(gateway, PACS002, [data], "innermost")
    assert sorted(f.location.xpath or "" for f in findings) == [
        "/Document/FIToFIPmtStsRpt/GrpHdr/CreDtTm",
        "/Document/FIToFIPmtStsRpt/TxInfAndSts/OrgnlGrpInf/OrgnlMsgNmId",
    ]
    assert {f.code for f in findings} == {"mapping.missing_mandatory"}
    assert schema
