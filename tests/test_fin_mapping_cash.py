"""MT 940 / 950 / 900 / 910 / 192 / 196 -> canonical event (mappings/fin/fin.9*.yaml,
fin.19*.yaml; gateway.fin.mapping_cash, gateway.fin.mapping_layout and the vocabulary
they added: value, each, join, sequence "-", code-word units): fixture pairs (input +
expected event and findings), the events through the pipeline, coverage (what no rule
carries is reported), the real samples, and hypothesis over generated statement lines."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import MappingError
from gateway.events import PaymentEvent
from gateway.fin.fields import StatementLine, render_field
from gateway.fin.mapping import FinMappingRegistry, load_fin_mapping, map_mt
from gateway.fin.mapping_layout import places_of
from gateway.fin.mapping_run import MtMapResult
from gateway.mt import MtMessage, parse_mt
from gateway.pipeline import Gateway
from gateway.report import Outcome
from tests.conftest import FIXTURES, REPO, SAMPLES

FIN_MAPPINGS = REPO / "mappings" / "fin"
REGISTRY = FinMappingRegistry.load(FIN_MAPPINGS)
MT = FIXTURES / "mt"
IDS = ("fin.940", "fin.950", "fin.900", "fin.910", "fin.192", "fin.196")
VALID = sorted(p for message_id in IDS for p in (MT / message_id / "valid").glob("*.txt"))
RECEIVED = datetime(2024, 7, 22, 9, 0, tzinfo=UTC)
SAMPLE_FILES = sorted(
    p
    for folder in ("MT940", "MT950", "MT192", "MT196")
    for p in (SAMPLES / "mt" / folder).glob("*.txt")
    if (SAMPLES / "mt").is_dir()
)


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.stem}"


def message_of(text: str | bytes) -> MtMessage:
    user = parse_mt(text).user_message
    assert user is not None
    return user


def apply(msg: MtMessage) -> MtMapResult:
    mapping = REGISTRY.get(str(msg.message_id))
    assert mapping is not None, msg.message_id
    source = {"message_id": str(msg.message_id), "payload_sha256": "0" * 64}
    return map_mt(msg, mapping, seed="test", source=source)


def inbound(gateway: Gateway, name: str) -> dict[str, Any]:
    """The one event of fixture ``fin.940/valid/<name>`` through the pipeline."""
    result = gateway.inbound((MT / name).read_bytes(), received_at=RECEIVED)
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    [event] = result.events
    return event


def unmapped(result: MtMapResult) -> dict[str, list[str]]:
    return {
        str(f.location.mt_tag): f.context.get("parts", [])
        for f in result.findings
        if f.code == "mapping.unmapped"
    }


# --------------------------------------------------------------------------- the files


@pytest.mark.parametrize(
    ("message_id", "event_type", "stage"),
    [
        ("fin.940", "account.statement", "settlement"),
        ("fin.950", "account.statement", "settlement"),
        ("fin.900", "account.notification", "settlement"),
        ("fin.910", "account.notification", "settlement"),
        ("fin.192", "payment.cancellation_request", "execution"),
        ("fin.196", "payment.investigation_resolution", "execution"),
    ],
)
def test_each_message_type_has_its_mapping(message_id: str, event_type: str, stage: str) -> None:
    mapping = REGISTRY.get(message_id)
    assert mapping is not None
    assert (mapping.event_type, mapping.stage, mapping.version) == (event_type, stage, "1")
    assert mapping.file.name == f"{message_id}.yaml"


# --------------------------------------------------------------------------- fixture pairs


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_fixture_pairs_give_the_expected_event_and_findings(path: Path) -> None:
    expected = json.loads((path.parent.parent / "expected" / f"{path.stem}.json").read_text())
    result = apply(message_of(path.read_bytes()))
    [event] = result.events
    PaymentEvent.model_validate(event)
    assert {k: v for k, v in event.items() if k not in ("event_id", "source")} == expected["event"]
    found = [
        {"code": f.code, "mt_tag": f.location.mt_tag, "line": f.location.line}
        for f in result.findings
    ]
    assert found == expected["findings"]


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_fixtures_pass_the_pipeline_with_one_event(gateway: Gateway, path: Path) -> None:
    payload = path.read_bytes()
    for eol in (b"\n", b"\r\n"):
        result = gateway.inbound(payload.replace(b"\n", eol), received_at=RECEIVED)
        report = result.report
        assert report.outcome is not Outcome.REJECTED, report.findings
        assert {f.code for f in report.findings} <= {"mapping.unmapped"}
        [event] = result.events
        message_id = path.parent.parent.name
        assert event["source"]["mapping"] == f"{message_id}@1"
        assert result.stage == REGISTRY.get(message_id).stage  # type: ignore[union-attr]
        assert ("mapping", message_id) in {(u.kind, u.id) for u in report.judged_by}


# --------------------------------------------------------------------------- statements


def test_mt940_statement_lines_balances_and_pages(gateway: Gateway) -> None:
    event = inbound(gateway, "fin.940/valid/intermediate_page.txt")
    assert event["event_type"] == "account.statement"
    assert (event["group"]["message_id"], event["ids"]["message_id"]) == ("STMT-241231-P2",) * 2
    assert event["instructing_agent"] == {"bic": "BNPAFRPPXXX"}  # the account servicer
    assert event["instructed_agent"] == {"bic": "COBADEFFXXX"}
    statement = event["statement"]
    assert statement["id"] == "STMT-241231-P2"
    assert (statement["electronic_sequence"], statement["page_number"]) == ("105", "2")
    assert statement["last_page"] is False  # 62M: an intermediate closing balance
    assert statement["account"] == {"iban": "DE89370400440532013000", "currency": "EUR"}
    assert statement["account_owner"] == {"identification": {"any_bic": "COBADEFFXXX"}}
    balances = [
        (b["type"]["code"], b.get("sub_type"), b["credit_debit"], b["date"], b["amount"]["value"])
        for b in statement["balances"]
    ]
    assert balances == [
        ("OPBD", "INTM", "CRDT", "2024-12-31", "25000.00"),
        ("CLBD", "INTM", "CRDT", "2024-12-31", "23575.50"),
        ("CLAV", None, "CRDT", "2024-12-31", "23575.50"),
        ("FWAV", None, "CRDT", "2025-01-02", "23575.50"),
        ("FWAV", None, "CRDT", "2025-01-03", "24075.50"),
    ]
    first, fee, refund = statement["entries"]
    assert (first["value_date"], first["booking_date"]) == ("2024-12-31", "2025-01-02")
    assert (first["credit_debit"], "reversal" in first) == ("DBIT", False)
    assert first["amount"] == {"value": "1200.00", "currency": "EUR"}
    assert first["bank_transaction_code"] == {"proprietary": "NTRF"}  # no issuer in MT
    assert first["details"] == [{"account_owner_reference": "PAY-7781"}]
    assert first["account_servicer_reference"] == "BNP-241231-01"
    assert first["status"] == {"code": "BOOK"}
    assert first["additional_info"] == (
        "SUPPLIER INVOICE 7781\n/ORDP/COBADEFF CUSTOMER 4711\n/REMI/INVOICE 7781 DECEMBER"
    )
    # RC: the reversal of a credit is a debit; no 86 follows this line
    assert (fee["credit_debit"], fee["reversal"], "additional_info" in fee) == ("DBIT", True, False)
    assert fee["details"] == [{"account_owner_reference": "NONREF"}]  # NONREF is data
    # RD: the reversal of a debit is a credit; its 86 is its own, not the statement's
    assert (refund["credit_debit"], refund["reversal"]) == ("CRDT", True)
    assert refund["additional_info"] == "REVERSAL OF A FEE DEBITED IN ERROR"
    assert "booking_date" not in refund  # no entry date in this 61
    assert statement["additional_info"] == "PAGE 2 OF STATEMENT 105\nCONTINUED ON PAGE 3"


def test_mt940_final_page_and_its_entries(gateway: Gateway) -> None:
    statement = inbound(gateway, "fin.940/valid/statement.txt")["statement"]
    assert statement["last_page"] is True  # 62F: the final closing balance
    assert [b["type"]["code"] for b in statement["balances"]] == ["OPBD", "CLBD", "CLAV"]
    assert [(e["credit_debit"], e["amount"]["value"]) for e in statement["entries"]] == [
        ("DBIT", "12500.00"),
        ("CRDT", "2300.50"),
    ]
    assert "additional_info" not in statement


def test_mt950_statement_without_information_to_the_account_owner(gateway: Gateway) -> None:
    statement = inbound(gateway, "fin.950/valid/nostro_statement.txt")["statement"]
    assert statement["account"] == {"other": {"id": "400012345678"}, "currency": "USD"}
    assert (statement["electronic_sequence"], statement["page_number"]) == ("182", "1")
    assert statement["last_page"] is True
    entries = statement["entries"]
    assert [
        (e["bank_transaction_code"]["proprietary"], e["credit_debit"], e.get("reversal"))
        for e in entries
    ] == [("S103", "CRDT", None), ("S202", "DBIT", None), ("NCHG", "DBIT", True)]
    assert [e["amount"] for e in entries] == [
        {"value": v, "currency": "USD"} for v in ("250000.00", "125000.00", "1000.00")
    ]
    assert entries[0]["additional_info"] == "ORDERING BANK PAYMENT"  # supplementary details
    assert [e.get("account_servicer_reference") for e in entries] == [
        "DEUT0701-0001",
        "DEUT0701-0002",
        None,
    ]


# --------------------------------------------------------------------------- notifications


def test_mt900_is_a_booked_debit_of_the_account(gateway: Gateway) -> None:
    event = inbound(gateway, "fin.900/valid/debit.txt")
    assert event["event_type"] == "account.notification"
    notification = event["statement"]
    assert notification["id"] == event["group"]["message_id"] == "DBT-240715-0001"
    assert notification["account"] == {"iban": "DE89370400440532013000"}
    assert notification["account_owner"] == {"identification": {"any_bic": "BNPAFRPPXXX"}}
    [entry] = notification["entries"]
    assert (entry["credit_debit"], entry["status"]) == ("DBIT", {"code": "BOOK"})
    assert entry["booking_datetime"] == "2024-07-15T09:30:00-05:00"
    assert (entry["value_date"], entry["amount"]) == (
        "2024-07-15",
        {"value": "48250.75", "currency": "EUR"},
    )
    [detail] = entry["details"]
    assert detail["ids"] == {
        "instruction_id": "BNP-PAY-88120",
        "uetr": "63e453b1-634a-488a-9b2b-9a4bd1c6d5bb",
    }
    assert (detail["credit_debit"], detail["amount"]) == ("DBIT", entry["amount"])
    assert detail["debtor_agent"] == {"bic": "BNPAFRPPXXX"}
    assert detail["additional_info"] == "/BNF/PAYMENT FOR CONTRACT\n//NO 2024-118"


def test_mt910_is_a_booked_credit_with_its_ordering_parties(gateway: Gateway) -> None:
    [entry] = inbound(gateway, "fin.910/valid/credit.txt")["statement"]["entries"]
    assert (entry["credit_debit"], entry["booking_datetime"]) == (
        "CRDT",
        "2024-07-16T14:45:00+02:00",
    )
    [detail] = entry["details"]
    assert detail["credit_debit"] == "CRDT"
    assert detail["debtor"]["name"] == "MUSTERMANN MASCHINENBAU GMBH"
    assert detail["debtor"]["postal_address"]["town_name"] == "FRANKFURT AM MAIN"
    assert detail["debtor_account"] == {"iban": "DE44500105175407324931"}
    assert detail["debtor_agent"] == {"bic": "DEUTDEFFXXX"}
    assert detail["intermediary_agent_1"] == {"bic": "COBADEFFXXX"}


# --------------------------------------------------------------------------- exceptions


def test_mt192_is_a_cancellation_request_with_its_reason(gateway: Gateway) -> None:
    event = inbound(gateway, "fin.192/valid/duplicate.txt")
    assert event["event_type"] == "payment.cancellation_request"
    assert event["case"] == {
        "assignment_id": "CXL-240720-01",
        "case_id": "CXL-240720-01",
        "assigner": {"bic": "DEUTDEFFXXX"},
        "assignee": {"bic": "BNPAFRPPXXX"},
    }
    assert event["original"] == {
        "instruction_id": "PAY-240719-88",
        "message_id": "PAY-240719-88",
        "message_name_id": "MT103",
        "uetr": "495f94ed-bf9d-4cea-bae9-711ae157f7a9",
    }
    assert event["reasons"] == [
        {
            "reason": {"code": "DUPL"},
            "additional_info": ["INDM", "THE PAYMENT WAS SENT TWICE", "PLEASE RETURN THE FUNDS"],
        }
    ]


def test_mt192_reads_the_copy_of_the_original_message() -> None:
    result = apply(message_of((MT / "fin.192/valid/with_copy.txt").read_bytes()))
    original = result.events[0]["original"]
    assert original["interbank_settlement_amount"] == {"value": "7800.00", "currency": "EUR"}
    assert original["interbank_settlement_date"] == "2024-07-19"
    assert original["message_id"] == "PAY-240719-89"  # the copy's own field 20
    assert result.events[0]["reasons"] == [{"reason": {"code": "CUST"}}]
    # the copied parties as camt.056 OrgnlTxRef carries them
    assert result.events[0]["debtor"] == {"name": "MUSTERMANN MASCHINENBAU GMBH"}
    assert result.events[0]["creditor_account"] == {"iban": "FR7630006000011234567890189"}
    # the date of the original message has no canonical place; nor 23B and 71A
    assert unmapped(result) == {
        ":11S:": ["the date", "the session number and ISN"],
        ":23B:": ["the code"],
        ":71A:": ["the code"],
        "{3:108}": [],
    }


def test_mt196_answers_with_confirmation_reason_and_narrative(gateway: Gateway) -> None:
    rejected = inbound(gateway, "fin.196/valid/rejected.txt")
    assert rejected["event_type"] == "payment.investigation_resolution"
    case = rejected["case"]
    assert (case["assignment_id"], case["case_id"], case["confirmation"]) == (
        "ANS-240721-01",
        "CXL-240720-02",  # field 20 of the MT 192 answered
        "RJCR",
    )
    assert case["narrative"] == ["FUNDS CREDITED ON 19 JULY", "BEFORE THE REQUEST ARRIVED"]
    assert rejected["reasons"] == [
        {"reason": {"code": "AC04"}, "additional_info": ["BENEFICIARY ACCOUNT CLOSED"]}
    ]
    assert rejected["original"]["message_name_id"] == "MT103"  # 11R, before the copy
    assert rejected["original"]["instruction_id"] == "PAY-240719-89"
    pending = inbound(gateway, "fin.196/valid/pending.txt")
    assert pending["case"]["confirmation"] == "PDCR"
    # the reason stays on its line; the `//` continuation is the narrative
    assert pending["reasons"] == [
        {"reason": {"code": "INDM"}, "additional_info": ["PENDING INDEMNITY AGREEMENT"]}
    ]
    assert pending["case"]["narrative"][0] == "ORIGINAL MT 103 OF 19 JULY 2024"  # 79


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_a_field_no_rule_reads_is_reported_never_dropped(path: Path) -> None:
    text = path.read_text()
    before = unmapped(apply(message_of(text)))
    extra = message_of(text.replace("\n-}", "\n:26T:K90\n-}"))
    after = unmapped(apply(extra))
    assert after == {**before, ":26T:": ["the code"]}


def test_what_a_statement_does_not_carry_is_reported() -> None:
    result = apply(message_of((MT / "fin.940/valid/not_carried.txt").read_bytes()))
    assert unmapped(result) == {
        ":21:": ["text without a code word"],  # related reference: no canonical place
        ":61:": ["the funds code"],
        "{3:108}": [],
    }
    notification = apply(
        message_of((MT / "fin.900/valid/ordering_institution_52d.txt").read_text())
    )
    assert unmapped(notification) == {":52D:": ["the account"]}


def test_a_code_word_read_in_part_reports_the_rest(tmp_path: Path) -> None:
    (tmp_path / "fin.196.yaml").write_text(
        "mapping: fin.196\nversion: 1\nevent_type: t\nfields:\n"
        "  case.confirmation: {tag: '76', words: [RJCR], part: code}\n"
        "  case.case_id: {tag: '21'}\n  ids.message_id: {tag: '20'}\n"
    )
    mapping = load_fin_mapping(tmp_path / "fin.196.yaml")
    msg = message_of(
        "{1:F01BNPAFRPPAXXX0000000001}{2:I196DEUTDEFFXXXXN}{4:\n:20:A\n:21:B\n"
        ":76:/RJCR/AC04/CLOSED\n/PDCR/\n:79:X\n-}"
    )
    result = map_mt(msg, mapping, seed="t", source={"message_id": "fin.196", "payload_sha256": "0"})
    assert result.events[0]["case"]["confirmation"] == "RJCR"
    assert unmapped(result) == {
        ":76:": ["/PDCR/", "the text of /RJCR/"],
        ":79:": ["text without a code word"],
    }


def test_own_fields_before_the_copy_are_the_messages_own() -> None:
    """77A and 11R after 76 belong to the MT 196 itself, though any field may be copied."""
    msg = message_of((MT / "fin.196/valid/rejected.txt").read_bytes())
    assert msg.text is not None
    places = places_of(msg, msg.text.fields)
    tags = [(f.tag, places.sequences[i]) for i, f in enumerate(msg.text.fields)]
    assert tags == [
        ("20", None),
        ("21", None),
        ("76", None),
        ("77A", None),
        ("11R", None),
        ("20", "Copy"),
        ("32A", "Copy"),
    ]
    statement = message_of((MT / "fin.940/valid/intermediate_page.txt").read_bytes())
    assert statement.text is not None
    lines = places_of(statement, statement.text.fields)
    occurrence = {f.tag + str(i): lines.occurrence(i) for i, f in enumerate(statement.text.fields)}
    assert occurrence["614"] == {4, 5}  # the first 61 and its 86
    assert occurrence["616"] == {6}  # a 61 without 86
    assert occurrence["617"] == {7, 8}
    assert occurrence["8613"] == {13}  # the statement's own 86, outside the lines


def test_required_data_that_is_absent_is_a_finding_not_a_default() -> None:
    text = (MT / "fin.950/valid/nostro_statement.txt").read_text()
    result = apply(message_of(text.replace(":28C:00182/00001\n", "")))
    [hit] = [f for f in result.findings if f.code == "mapping.missing_mandatory"]
    assert (hit.location.mt_tag, hit.context["field"]) == (":28C:", "statement.electronic_sequence")
    assert "electronic_sequence" not in result.events[0]["statement"]


def test_the_locator_points_into_statement_lines() -> None:
    text = (MT / "fin.940/valid/statement.txt").read_text()
    result = apply(message_of(text))
    where = result.locate(0, "statement.entries.value_date")
    assert where is not None and where.mt_tag == ":61:"
    assert result.locate(0, "statement.balances.type.code").mt_tag == ":60F:"  # type: ignore[union-attr]
    assert result.locate(0, "statement.account.iban").mt_tag == ":25:"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the vocabulary


def _write(tmp_path: Path, name: str, body: str) -> Path:
    (tmp_path / "common").mkdir(exist_ok=True)
    for include in ("cbpr-plus.yaml", "cash.yaml"):
        (tmp_path / "common" / include).write_text((FIN_MAPPINGS / "common" / include).read_text())
    path = tmp_path / f"{name}.yaml"
    head = (
        f"mapping: {name}\nversion: 1\nevent_type: t\n"
        "include: [common/cbpr-plus.yaml, common/cash.yaml]\n"
    )
    path.write_text(head + body)
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("fields: {statement.last_page: {tag: 62F, value: yes please}}\n", r"does not fit"),
        ("fields: {statement.id: {value: true}}\n", r"value True does not fit"),
        ("fields: {statement.id: {value: X, part: text}}\n", r"'value' takes only a source"),
        ("fields: {statement.entries: {tag: '61', each: '-', fields: {}}}\n", r"names a sequence"),
        (
            "fields: {statement.entries: {tag: '61', each: A, many: true, fields: {}}}\n",
            r"'each' reads a tag into a list",
        ),
        ("fields: {statement.id: {each: A, tag: '20'}}\n", r"'each' reads a tag into a list"),
        ("fields: {statement.page_number: {join: [{tag: '20'}], part: x}}\n", r"stands alone"),
        ("fields: {case.narrative: {join: [{tag: '79'}]}}\n", r"'join' needs a text target"),
        ("fields: {statement.entries: {fields: {value_date: value_date}}}\n", r"no source"),
        ("fields: {statement.id: {tag: 61, part: nope}}\n", r"not one of statement_line parts"),
        ("fields: {statement.last_page: {tag: 61, part: type}}\n", r"does not fit"),
        ("fields: {statement.id: {tag: '20', sequence: ''}}\n", r"sequence label"),
    ],
)
def test_bad_vocabulary_names_the_file_and_the_key(tmp_path: Path, body: str, error: str) -> None:
    with pytest.raises(MappingError, match=error) as raised:
        load_fin_mapping(_write(tmp_path, "fin.940", body))
    assert "fin.940.yaml" in str(raised.value)


def test_a_template_with_fields_adds_and_overrides(tmp_path: Path) -> None:
    body = (
        "fields:\n  ids.message_id: {tag: '20'}\n"
        "  statement.balances:\n"
        "    tag: 60F\n    many: true\n    template: balance\n"
        "    fields: {type.code: {value: OPBD}, date: {value: '2000-01-01'}}\n"
    )
    mapping = load_fin_mapping(_write(tmp_path, "fin.950", body))
    msg = message_of((MT / "fin.950/valid/nostro_statement.txt").read_bytes())
    result = map_mt(msg, mapping, seed="t", source={"message_id": "fin.950", "payload_sha256": "0"})
    [balance] = result.events[0]["statement"]["balances"]
    assert balance["type"] == {"code": "OPBD"}
    assert balance["date"] == "2000-01-01"  # the file's rule replaced the template's
    assert balance["credit_debit"] == "CRDT"
    assert unmapped(result)[":60F:"] == ["the date"]


# --------------------------------------------------------------------------- real samples


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt is absent")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_real_samples_never_crash(gateway: Gateway, path: Path) -> None:
    """Whatever the validation says of them, the samples map: an event and findings."""
    result = apply(message_of(path.read_bytes()))
    [event] = result.events
    PaymentEvent.model_validate(event)
    assert all(f.code.startswith("mapping.") for f in result.findings)
    assert all(f.location.mt_tag for f in result.findings)
    if path.parent.name in ("MT940", "MT950"):
        assert event["statement"]["entries"]
        assert event["statement"]["balances"]
    report = gateway.inbound(path.read_bytes(), received_at=RECEIVED).report
    assert report.message_id == f"fin.{path.parent.name[2:]}"


# --------------------------------------------------------------------------- hypothesis

_REF = st.from_regex(r"[A-Z0-9]([A-Z0-9 .,\-]{0,14}[A-Z0-9])?", fullmatch=True)
_LINES: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "value": st.dates(date(1980, 3, 1), date(2079, 10, 31)),
        "entry_offset": st.one_of(st.none(), st.integers(-60, 60)),
        "mark": st.sampled_from(["C", "D", "RC", "RD"]),
        "funds_code": st.one_of(st.none(), st.sampled_from("ABFKXZ")),
        "whole": st.integers(0, 10**11),
        "fraction": st.sampled_from(["", "5", "50", "07"]),
        "type": st.one_of(
            st.from_regex(r"[NF][A-Z0-9]{3}", fullmatch=True),
            st.from_regex(r"S[0-9]{3}", fullmatch=True),
        ),
        "reference": _REF,
        "bank_reference": st.one_of(st.none(), _REF),
        "details": st.one_of(
            st.none(), st.from_regex(r"[A-Z0-9][A-Z0-9 ./\-]{0,33}", fullmatch=True)
        ),
    }
)


@settings(max_examples=200)
@given(_LINES)
def test_generated_statement_lines_map_back_to_their_values(line: dict[str, Any]) -> None:
    value: date = line["value"]
    entry = (
        value + timedelta(days=line["entry_offset"]) if line["entry_offset"] is not None else None
    )
    amount = f"{line['whole']}" + (f".{line['fraction']}" if line["fraction"] else "")
    field_61 = render_field(
        "61",
        StatementLine(
            value_date=value.isoformat(),
            mark=line["mark"],
            amount=amount,
            transaction_type=line["type"],
            reference=line["reference"],
            entry_date=entry.isoformat() if entry else None,
            funds_code=line["funds_code"],
            bank_reference=line["bank_reference"],
            details=line["details"],
        ),
    )
    text = (
        "{1:F01DEUTDEFFAXXX0000000001}{2:I950CHASUS33XXXXN}{4:\n:20:PROPERTY\n:25:12345\n"
        f":28C:7\n:60F:C240101EUR0,\n:61:{field_61}\n:62F:C240101EUR0,\n-}}"
    )
    result = apply(message_of(text))
    [got] = result.events[0]["statement"]["entries"]
    assert got["value_date"] == value.isoformat()
    assert got.get("booking_date") == (entry.isoformat() if entry else None)  # across year ends
    assert (
        got["credit_debit"] == {"C": "CRDT", "D": "DBIT", "RC": "DBIT", "RD": "CRDT"}[line["mark"]]
    )
    assert got.get("reversal") == (True if line["mark"] in ("RC", "RD") else None)
    assert got["amount"] == {"value": amount, "currency": "EUR"}
    assert got["bank_transaction_code"] == {"proprietary": line["type"]}
    assert got["details"] == [{"account_owner_reference": line["reference"]}]
    assert got.get("account_servicer_reference") == line["bank_reference"]
    assert got.get("additional_info") == line["details"]
    expected_unmapped = {":61:": ["the funds code"]} if line["funds_code"] else {}
    assert unmapped(result) == expected_unmapped
