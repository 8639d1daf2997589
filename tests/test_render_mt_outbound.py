"""Outbound MT 199 / 900 / 910 from canonical events (``gateway.render_mt_outbound``).

Exact field values of hand-built events, every cut, drop and default reported, a
missing mandatory value refused, and every text parsed back and valid. MT 900 / 910
also map back in through ``gateway.inbound`` (when ``mappings/fin/fin.900.yaml`` and
``fin.910.yaml`` exist) to the same event.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gateway.mt import MtMessage, parse_mt
from gateway.pipeline import Gateway
from gateway.render_mt_outbound import OUTBOUND_MT_TARGETS, render_mt_outbound
from gateway.report import Finding, Outcome, Severity
from tests.conftest import FIXTURES, REPO

UETR = "fcce38aa-f811-4a28-af39-842c7f29224c"
CLEARING = {"USABA": "FW"}
IDENTITY = ("event_id", "event_type", "schema_version", "source")
DETAIL = "statement.entries[0].details[0]"


def _status_event() -> dict[str, Any]:
    return {
        "event_id": "00000000-0000-4000-8000-000000000002",
        "event_type": "payment.status",
        "schema_version": "1",
        "source": {"message_id": "pacs.002.001.10", "payload_sha256": "0" * 64,
                   "transaction_index": 0},
        "group": {"message_id": "STS-20250601-9", "creation_datetime": "2025-06-01T09:00:00Z"},
        "ids": {"message_id": "STS-20250601-9"},
        "instructing_agent": {"bic": "DEUTDEFFXXX"},
        "instructed_agent": {"bic": "BNPAFRPP"},
        "original": {
            "message_id": "BNPA-PCS8-0601-3",
            "instruction_id": "BNPA-I-0601-3",
            "end_to_end_id": "CONTRACT-2025-77",
            "uetr": UETR,
        },
        "status": {"status_id": "STS-9-1", "transaction_status": "RJCT"},
        "reasons": [
            {"reason": {"code": "AC04"}, "additional_info": ["Account closed."]},
            {"reason": {"proprietary": "DB-REJ-117"}},
        ],
    }  # fmt: skip


def _notification(credit_debit: str = "DBIT") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "ids": {"instruction_id": "BNP-PAY-7712", "uetr": UETR},
        "amount": {"value": "48250.75", "currency": "EUR"},
        "credit_debit": credit_debit,
        "debtor_agent": {"bic": "BNPAFRPPXXX"},
        "additional_info": "/BNF/PAYMENT FOR CONTRACT\n//NO 2025-118",
    }
    return {
        "event_id": "00000000-0000-4000-8000-000000000003",
        "event_type": "account.notification",
        "schema_version": "1",
        "source": {"message_id": "camt.054.001.08", "payload_sha256": "0" * 64,
                   "transaction_index": 0},
        "ids": {"message_id": "DBT-250715-0001"},
        "group": {"message_id": "DBT-250715-0001"},
        "instructing_agent": {"bic": "COBADEFFXXX"},
        "instructed_agent": {"bic": "BNPAFRPPXXX"},
        "statement": {
            "id": "DBT-250715-0001",
            "account": {"iban": "DE93100500000614283957"},
            "entries": [
                {
                    "amount": {"value": "48250.75", "currency": "EUR"},
                    "credit_debit": credit_debit,
                    "status": {"code": "BOOK"},
                    "booking_datetime": "2025-07-15T09:30:00-05:00",
                    "value_date": "2025-07-15",
                    "details": [detail],
                }
            ],
        },
    }  # fmt: skip


def _parsed(text: str | None) -> MtMessage:
    assert text is not None
    message = parse_mt(text).user_message
    assert message is not None and message.text is not None
    return message


def _fields(text: str | None) -> dict[str, str]:
    return {f.tag: f.value for f in _parsed(text).text.fields}  # type: ignore[union-attr]


def _errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def _codes(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


# --- MT 199 ---------------------------------------------------------------------------


def test_mt199_from_a_status_event() -> None:
    text, findings = render_mt_outbound(_status_event(), "fin.199")
    assert text is not None
    assert text.startswith(
        f"{{1:F01DEUTDEFFAXXX0000000000}}{{2:I199BNPAFRPPXXXXN}}{{3:{{121:{UETR}}}}}{{4:\r\n"
    )
    assert _fields(text) == {
        "20": "STS-9-1",
        "21": "BNPA-I-0601-3",
        "79": "/RJCT/\n/AC04/Account closed.\n/DB-REJ-117/\n"
        f"/UETR/{UETR}\n/MREF/BNPA-PCS8-0601-3\n/TREF/CONTRACT-2025-77",
    }
    assert _parsed(text).uetr == UETR
    assert _errors(findings) == []
    # the group header is the status report's own; nothing else was left behind
    assert {f.code for f in findings} == {"translate.regenerated"}
    assert sorted(f.context["field"] for f in findings) == [
        "group.creation_datetime", "group.message_id", "ids.message_id",
    ]  # fmt: skip


def test_mt199_reports_what_it_does_not_carry() -> None:
    event = _status_event()
    event["status"]["acceptance_datetime"] = "2025-06-01T08:59:00Z"
    event["status"]["group_status"] = "PART"
    event["reasons"][0]["originator"] = {"name": "Deutsche Bank"}
    text, findings = render_mt_outbound(event, "fin.199")
    assert text is not None
    dropped = {f.context["field"] for f in _codes(findings, "translate.dropped")}
    assert dropped == {
        "status.acceptance_datetime",
        "status.group_status",
        "reasons[0].originator.name",
    }


def test_mt199_cuts_references_and_narrative_and_reports_it() -> None:
    event = _status_event()
    event["status"]["status_id"] = "STATUS-2025-06-01-000001"  # 24 > 16
    event["original"]["instruction_id"] = "BNPA-INSTRUCTION-0601-3"  # 23 > 16
    event["reasons"] = [
        {"reason": {"code": "NARR"}, "additional_info": ["x" * 105] * 20} for _ in range(3)
    ]
    text, findings = render_mt_outbound(event, "fin.199")
    fields = _fields(text)
    assert fields["20"] == "STATUS-2025-06-+"
    assert fields["21"] == "BNPA-INSTRUCTIO+"
    lines = fields["79"].split("\n")
    assert len(lines) == 35 and all(len(line) <= 50 for line in lines)
    assert lines[0] == "/RJCT/" and lines[1].startswith("/NARR/xxx")
    assert lines[-1].endswith("+")
    truncated = {
        (f.location.mt_tag, f.context["field"]) for f in _codes(findings, "translate.truncated")
    }
    assert truncated == {
        (":20:", "status.status_id"),
        (":21:", "original.instruction_id"),
        (":79:", "reasons[0]"),
    }  # fmt: skip
    first = next(
        f for f in findings if f.location.mt_tag == ":20:" and f.code.endswith("truncated")
    )
    assert first.context["original_length"] == 24 and first.context["kept_length"] == 16
    dropped = {f.context["field"] for f in _codes(findings, "translate.dropped")}
    assert {"reasons[1]", "reasons[2]", "original.uetr", "original.message_id"} <= dropped
    assert _errors(findings) == []


def test_mt199_references_fall_back_and_are_reported() -> None:
    event = _status_event()
    del event["status"]["status_id"], event["original"]["instruction_id"]
    text, findings = render_mt_outbound(event, "fin.199")
    assert _fields(text)["20"] == "STS-20250601-9"  # the status report's message id
    assert _fields(text)["21"] == "CONTRACT-2025-77"
    assert "/TREF/" not in _fields(text)["79"]  # 21 took the end-to-end id
    (defaulted,) = _codes(findings, "translate.defaulted")
    assert defaulted.context["field"] == "status.status_id"
    assert defaulted.location.mt_tag == ":20:"
    assert _errors(findings) == []


def test_mt199_replaces_characters_outside_the_x_set() -> None:
    event = _status_event()
    event["reasons"] = [
        {"reason": {"code": "BE05"}, "additional_info": ["Nom érroné: Müller & Söhne"]}
    ]
    text, findings = render_mt_outbound(event, "fin.199")
    assert "/BE05/Nom errone: Muller . Sohne" in _fields(text)["79"]
    assert [f.context["field"] for f in _codes(findings, "translate.replaced")] == ["reasons[0]"]


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        (("instructing_agent",), "instructing_agent.bic (the sender)"),
        (("instructed_agent",), "instructed_agent.bic (the receiver)"),
        (("status",), "status.transaction_status or another status (79)"),
    ],
)
def test_mt199_refuses_without_a_mandatory_value(remove: tuple[str, ...], named: str) -> None:
    event = _status_event()
    for key in remove:
        del event[key]
    text, findings = render_mt_outbound(event, "fin.199")
    assert text is None
    (error,) = findings
    assert error.code == "mapping.missing_mandatory"
    assert error.context["fields"] == [named]


def test_mt199_from_a_mapped_pacs002(gateway: Gateway) -> None:
    if gateway.schemas.get("pacs.002.001.10") is None:
        pytest.skip("no XSD installed for pacs.002.001.10")
    payload = (FIXTURES / "mx/pacs.002.001.10/valid/rich.xml").read_bytes()
    events = gateway.inbound(payload, rules=None).events
    texts = [render_mt_outbound(e, "fin.199") for e in events]
    assert [_fields(t)["79"].split("\n")[0] for t, _ in texts] == ["/ACSC/", "/RJCT/", "/PDNG/"]
    assert [_parsed(t).app_header.receiver for t, _ in texts] == ["INGBNL2AXXXX"] * 3  # type: ignore[union-attr]
    assert all(_errors(f) == [] for _, f in texts)


# --- MT 900 / 910 ---------------------------------------------------------------------


def test_mt900_from_a_debit_notification() -> None:
    text, findings = render_mt_outbound(_notification(), "fin.900")
    assert text is not None
    assert text.startswith(
        f"{{1:F01COBADEFFAXXX0000000000}}{{2:I900BNPAFRPPXXXXN}}{{3:{{121:{UETR}}}}}"
    )
    assert [(f.tag, f.value) for f in _parsed(text).text.fields] == [  # type: ignore[union-attr]
        ("20", "DBT-250715-0001"),
        ("21", "BNP-PAY-7712"),
        ("25", "DE93100500000614283957"),
        ("13D", "2507150930-0500"),
        ("32A", "250715EUR48250,75"),
        ("52A", "BNPAFRPPXXX"),
        ("72", "/BNF/PAYMENT FOR CONTRACT\n//NO 2025-118"),
    ]
    assert findings == []  # everything carried, nothing defaulted, valid


def test_mt910_from_a_credit_notification() -> None:
    event = _notification("CRDT")
    detail = event["statement"]["entries"][0]["details"][0]
    detail["debtor"] = {
        "name": "Ateliers Durand SARL",
        "postal_address": {"address_lines": ["14 Avenue Victor Hugo", "75016 Paris"]},
    }
    detail["debtor_account"] = {"iban": "FR7630003036200005027481548"}
    detail["intermediary_agent_1"] = {
        "clearing_member": {"clearing_system": {"code": "USABA"}, "member_id": "021000021"},
        "name": "Intermediary Bank",
    }
    event["statement"]["account_owner"] = {"identification": {"any_bic": "BNPAFRPPXXX"}}
    text, findings = render_mt_outbound(event, "fin.910", clearing=CLEARING)
    fields = _fields(text)
    assert _parsed(text).app_header.message_type == "910"  # type: ignore[union-attr]
    assert fields["25P"] == "DE93100500000614283957\nBNPAFRPPXXX"
    assert fields["50K"] == (
        "/FR7630003036200005027481548\nAteliers Durand SARL\n14 Avenue Victor Hugo\n75016 Paris"
    )
    assert fields["52A"] == "BNPAFRPPXXX"
    assert fields["56D"] == "//FW021000021\nIntermediary Bank"
    assert list(fields) == ["20", "21", "25P", "13D", "32A", "50K", "52A", "56D", "72"]
    assert findings == []


def test_the_entry_decides_between_900_and_910() -> None:
    text, findings = render_mt_outbound(_notification("CRDT"), "fin.900")
    assert _parsed(text).app_header.message_type == "910"  # type: ignore[union-attr]
    (defaulted,) = _codes(findings, "translate.defaulted")
    assert defaulted.location.mt_tag == "{2:}" and defaulted.context["value"] == "910"
    assert _errors(findings) == []


def test_without_an_indicator_the_requested_type_says_it() -> None:
    event = _notification()
    entry = event["statement"]["entries"][0]
    del entry["credit_debit"], entry["details"][0]["credit_debit"]
    text, findings = render_mt_outbound(event, "fin.910")
    assert _parsed(text).app_header.message_type == "910"  # type: ignore[union-attr]
    (defaulted,) = _codes(findings, "translate.defaulted")
    assert defaulted.context == {
        "field": "statement.entries[0].credit_debit",
        "value": "CRDT",
        "rule": "the entry has no credit/debit indicator; fin.910 says CRDT",
    }


def test_mt900_cuts_and_reports() -> None:
    event = _notification()
    event["statement"]["id"] = "DEBIT-NOTIFICATION-2025-07-15-0001"
    entry = event["statement"]["entries"][0]
    entry["booking_datetime"] = "2025-07-15T09:30:42-05:00"
    entry["reference"] = "NTRY-77"
    entry["details"][0]["additional_info"] = "\n".join(f"LINE {n} " + "X" * 40 for n in range(8))
    text, findings = render_mt_outbound(event, "fin.900")
    fields = _fields(text)
    assert fields["20"] == "DEBIT-NOTIFICAT+"
    assert fields["13D"] == "2507150930-0500"
    assert len(fields["72"].split("\n")) == 6 and fields["72"].endswith("+")
    truncated = {
        (f.location.mt_tag, f.context["field"]) for f in _codes(findings, "translate.truncated")
    }
    assert truncated == {
        (":20:", "statement.id"),
        (":13D:", "statement.entries[0].booking_datetime"),
        (":72:", "statement.entries[0].details[0].additional_info"),
    }  # fmt: skip
    dropped = [f.context["field"] for f in _codes(findings, "translate.dropped")]
    assert dropped == ["statement.entries[0].reference"]
    regenerated = {f.context["field"] for f in _codes(findings, "translate.regenerated")}
    assert regenerated == {"ids.message_id", "group.message_id"}  # 20 is now another value
    assert _errors(findings) == []


def test_a_booking_time_without_an_offset_is_dropped() -> None:
    event = _notification()
    event["statement"]["entries"][0]["booking_datetime"] = "2025-07-15T09:30:00"
    text, findings = render_mt_outbound(event, "fin.900")
    assert "13D" not in _fields(text)
    (dropped,) = _codes(findings, "translate.dropped")
    assert dropped.location.mt_tag == ":13D:"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        (("details", 0, "ids"), f"{DETAIL}.ids.instruction_id or end_to_end_id (21)"),
        (("value_date",), "statement.entries[0].value_date (32A)"),
    ],
)
def test_mt900_refuses_without_a_mandatory_value(path: tuple[Any, ...], named: str) -> None:
    event = _notification()
    holder: Any = event["statement"]["entries"][0]
    for step in path[:-1]:
        holder = holder[step]
    del holder[path[-1]]
    text, findings = render_mt_outbound(event, "fin.900")
    assert text is None
    (error,) = findings
    assert error.code == "mapping.missing_mandatory"
    assert error.context["fields"] == [named]


def test_the_end_to_end_id_stands_in_for_21() -> None:
    event = _notification()
    event["statement"]["entries"][0]["details"][0]["ids"] = {"end_to_end_id": "E2E-0715-1"}
    text, findings = render_mt_outbound(event, "fin.900")
    assert _fields(text)["21"] == "E2E-0715-1"
    assert _parsed(text).uetr is None
    assert findings == []


def test_an_unknown_target_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match=r"fin\.199, fin\.900, fin\.910"):
        render_mt_outbound(_status_event(), "fin.103")
    assert OUTBOUND_MT_TARGETS == ("fin.199", "fin.900", "fin.910")


# --- back in through the gateway ------------------------------------------------------


def _need_mapping(message_id: str) -> None:
    if not (REPO / "mappings" / "fin" / f"{message_id}.yaml").is_file():
        pytest.skip(f"mappings/fin/{message_id}.yaml does not exist yet")


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in IDENTITY}


@pytest.mark.parametrize("credit_debit", ["DBIT", "CRDT"])
def test_a_rendered_confirmation_maps_back_in(gateway: Gateway, credit_debit: str) -> None:
    event = _notification(credit_debit)
    target = "fin.900" if credit_debit == "DBIT" else "fin.910"
    _need_mapping(target)
    text, _ = render_mt_outbound(copy.deepcopy(event), target)
    assert text is not None
    result = gateway.inbound(text.encode(), rules=None)
    assert result.report.outcome is Outcome.ACCEPTED, result.report.findings
    (back,) = result.events
    assert _payload(back) == _payload(event)


def _mt_fixtures() -> list[Path]:
    return sorted(
        p for m in ("fin.900", "fin.910") for p in (FIXTURES / "mt" / m / "valid").glob("*.txt")
    )


@pytest.mark.parametrize("path", _mt_fixtures(), ids=lambda p: f"{p.parent.parent.name}-{p.stem}")
def test_mt_fixtures_render_back_to_the_same_event(gateway: Gateway, path: Path) -> None:
    message_id = path.parent.parent.name
    _need_mapping(message_id)
    (event,) = gateway.inbound(path.read_bytes(), rules=None).events
    text, findings = render_mt_outbound(event, message_id)
    assert _errors(findings) == []
    assert not _codes(findings, "translate.dropped")
    (back,) = gateway.inbound(str(text).encode(), rules=None).events
    assert _payload(back) == _payload(event)


def test_validation_findings_come_with_the_text() -> None:
    event = _notification("CRDT")
    del event["statement"]["entries"][0]["details"][0]["debtor_agent"]
    text, findings = render_mt_outbound(event, "fin.910")
    assert text is not None  # written, but MT 910 needs 50a or 52a (network rule C1)
    (error,) = _errors(findings)
    assert error.code == "mt.network_rule"
    assert error.context["swift_error"] == "C06"
