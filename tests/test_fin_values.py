"""Typed values and header of MT messages for the rule pack: gateway.fin.values."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fin.values import mt_header, mt_values
from gateway.mt import MtMessage, parse_mt
from gateway.rules.codes import bic, country_code, currency_code, iban, minor_units_check, uetr
from gateway.rules.model import Header, Hit, Subject, Value

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mt"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "mt"
SAMPLE_FILES = sorted(SAMPLES.rglob("*.txt")) if SAMPLES.is_dir() else []


def _message(text: str) -> MtMessage:
    message = parse_mt(text).user_message
    assert message is not None
    return message


def _fixture(path: str) -> MtMessage:
    return _message((FIXTURES / path).read_text(encoding="utf-8"))


def _triples(values: list[Value]) -> list[tuple[str, str, str | None, str | None]]:
    return [(v.kind, v.text, v.currency, v.mt_tag) for v in values]


def test_values_of_a_customer_transfer() -> None:
    values = mt_values(_fixture("fields/valid/fin.103.full.txt"))
    assert _triples(values) == [
        ("amount", "12500.00", "EUR", ":32A:"),
        ("amount", "13750", "USD", ":33B:"),
        ("iban", "DE44500105175407324931", None, ":50F:"),
        ("country", "DE", None, ":50F:"),
        ("bic", "DEUTDEFFXXX", None, ":52A:"),
        ("bic", "BNPAFRPP", None, ":54A:"),
        ("iban", "FR7630006000011234567890189", None, ":57D:"),
        ("iban", "FR7630006000011234567890189", None, ":59F:"),
        ("country", "FR", None, ":59F:"),
        ("amount", "12.50", "EUR", ":71G:"),
        ("uetr", "2f6e3c1a-9b4d-4e7a-8c21-5d0b7f3e9a16", None, "{3:121}"),
    ]
    assert {v.name for v in values} >= {"32A", "50F", "121"}
    assert all(v.element is None for v in values)


def test_values_of_a_statement_and_an_advice() -> None:
    assert mt_values(_fixture("fields/valid/fin.950.statement.txt")) == []
    advice = mt_values(_fixture("fields/valid/fin.900.debit.txt"))
    assert _triples(advice) == [
        ("bic", "BNPAFRPPXXX", None, ":25P:"),
        ("amount", "12500.00", "EUR", ":32A:"),
        ("bic", "DEUTDEFF", None, ":52A:"),
    ]


def test_an_account_is_an_iban_only_when_it_looks_like_one() -> None:
    message = _message(
        "{1:F01DEUTDEFFAXXX0000000000}{2:I103BNPAFRPPXXXXN}{4:\n"
        ":20:R\n:50A:/US12345678901\nCHASUS33\n:52A://FW021000021\nCHASUS33\n"
        ":57A:/D/DE00123\nDEUTDEFF\n:59:/DE89370400440532013001\nNAME\n-}"
    )
    assert _triples(mt_values(message)) == [
        ("bic", "CHASUS33", None, ":50A:"),
        ("bic", "CHASUS33", None, ":52A:"),
        ("bic", "DEUTDEFF", None, ":57A:"),
        ("iban", "DE00123", None, ":57A:"),  # IBAN-shaped: the iban check judges it
        ("iban", "DE89370400440532013001", None, ":59:"),
    ]


def test_malformed_fields_give_no_values() -> None:
    message = _message(
        "{1:F01DEUTDEFFAXXX0000000000}{2:I103BNPAFRPPXXXXN}{4:\n"
        ":20:R\n:32A:240131EUR1.5\n:52A:FOO\n:33B:EUR1,2,3\n:50F:/DE4412\nJOHN\n-}"
    )
    assert _triples(mt_values(message)) == [("iban", "DE4412", None, ":50F:")]


def _hits(check: Any, values: list[Value], params: Mapping[str, Any] | None = None) -> list[Hit]:
    subject = Subject("fin.103", [], values)
    return list(check(subject, params or {}))


def test_the_business_checks_read_mt_values() -> None:
    message = _message(
        "{1:F01DEUTDEFFAXXX0000000000}{2:I103BNPAFRPPXXXXN}"
        "{3:{121:2F6E3C1A-9B4D-4E7A-8C21-5D0B7F3E9A16}}{4:\n"
        ":20:R\n:32A:240131JPY1,5\n:33B:EUX1,\n:52A:DEUTXXFF\n"
        ":59F:/DE89370400440532013001\n1/NAME\n3/XX\n-}"
    )
    values = mt_values(message)
    assert [h.mt_tag for h in _hits(minor_units_check, values)] == [":32A:"]
    assert [h.mt_tag for h in _hits(currency_code, values)] == [":33B:"]
    assert [h.mt_tag for h in _hits(bic, values)] == [":52A:"]
    assert [h.mt_tag for h in _hits(iban, values)] == [":59F:"]
    assert [h.mt_tag for h in _hits(country_code, values)] == [":59F:"]
    assert [h.mt_tag for h in _hits(uetr, values)] == ["{3:121}"]


def test_header_of_an_input_message() -> None:
    header = mt_header(_fixture("fin.103.STP/valid/stp_with_uetr.txt"))
    assert header == Header(
        from_bic="CHASUS33XXX",
        to_bic="DEUTDEFFXXX",
        business_message_id="STP0001",
        message_definition="fin.103.STP",
        business_service=None,
        creation_date=None,
    )


def test_header_of_an_output_message() -> None:
    header = mt_header(_fixture("fin.940/valid/statement.txt"))
    assert header is not None
    assert (header.from_bic, header.to_bic) == ("BNPAFRPPXXX", "DEUTDEFFXXX")
    assert (header.business_message_id, header.message_definition) == ("STMT240302", "fin.940")
    assert header.creation_date == "2024-03-02"


def test_header_of_malformed_or_missing_headers() -> None:
    no_block2 = _message("{1:F01CHASUS33AXXX1234567890}{4:\n:20:REF\n-}")
    assert mt_header(no_block2) == Header(from_bic="CHASUS33XXX", business_message_id="REF")
    raw_block2 = _message("{1:F01CHASUS33AXXX1234567890}{2:O199AAAAAAAAAAAAN}{4:\n:20:R\n-}")
    header = mt_header(raw_block2)
    assert header is not None and (header.from_bic, header.to_bic) == ("CHASUS33XXX", None)
    assert mt_header(MtMessage(())) is None
    bad_date = "{1:F01BNPAFRPPAXXX4711123456}{2:O1031305241331DEUTDEFFAXXX01234567892401311306N}"
    header = mt_header(_message(bad_date + "{4:\n:20:R\n-}"))
    assert header is not None and header.creation_date is None


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt not present")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_samples_give_values_and_a_header(path: Path) -> None:
    message = parse_mt(path.read_bytes()).user_message
    assert message is not None
    header = mt_header(message)
    assert header is not None and header.message_definition is not None
    for value in mt_values(message):
        assert value.mt_tag is not None and value.text


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from([*"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/,.:{}-\n"])))
def test_values_never_raise(body: str) -> None:
    text = "{1:F01DEUTDEFFAXXX0000000000}{2:I103BNPAFRPPXXXXN}{4:\n" + body + "\n-}"
    message = parse_mt(text).user_message
    if message is not None:
        mt_values(message)
        mt_header(message)
