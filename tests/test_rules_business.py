"""The business pack: ``gateway/rules/business.py`` and ``packs/business.yaml``.

Each check is judged on a :class:`Subject` built directly (both outcomes and the
edge cases), the pack file is checked for what the issue requires of it, and the
pipeline is run on real samples and on a 10,000-transaction pain.001. The fixture
pairs of every rule (``tests/fixtures/rules/business/``) run in
``tests/test_rule_fixtures.py``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from schwifty import IBAN
from schwifty import registry as schwifty_registry

from gateway.pipeline import Gateway, RuleSelection
from gateway.report import Outcome, Severity
from gateway.rules import CHECKS, Hit, PackRegistry, Subject, Value, load_pack, mx_values
from gateway.rules.codes import (
    _iban_passes,
    bic_problem,
    country_problem,
    iban_problem,
    lei_problem,
    minor_units,
    uetr_problem,
)
from gateway.rules.model import ValueKind
from tests.conftest import FIXTURES, REPO, SAMPLES, samples_available
from tests.fixtures.generate_pain001 import generate

PACK_FILE = REPO / "packs" / "business.yaml"
RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _run(check: str, subject: Subject, **params: Any) -> list[Hit]:
    return list(CHECKS[check].fn(subject, params))


def _values(*items: tuple[ValueKind, str] | tuple[ValueKind, str, str]) -> Subject:
    """A subject with typed values only: (kind, text) or ("amount", text, currency)."""
    values = [
        Value(item[0], item[1], currency=item[2] if len(item) > 2 else None, name="X")
        for item in items
    ]
    return Subject(message_id=None, events=[], values=values, received_at=RECEIVED)


def _events(*events: Mapping[str, Any], mapped: bool = True) -> Subject:
    return Subject(
        message_id="pain.001.001.09",
        events=[dict(e) for e in events],
        values=[],
        received_at=RECEIVED,
        mapped=mapped,
    )


def _amount(value: str, currency: str = "EUR") -> dict[str, str]:
    return {"value": value, "currency": currency}


# --- IBAN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",  # the IBAN registry's own examples
        "XK051212012345678906",  # Kosovo: in the SWIFT IBAN registry
        "MT84MALT011000012345mtlcast001s",  # lower case where the registry says "c"
    ],
)
def test_iban_accepted(text: str) -> None:
    assert iban_problem(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("DE88370400440532013000", "check digits"),
        ("LT007180000000000000", "check digits"),  # placeholder with check digits 00
        ("de89370400440532013000", "shape"),  # lower-case country code
        ("DE89 3704 0044 0532 0130 00", "spaces"),  # print format
        ("DE8937040044053201300", "characters"),  # one digit short
        ("DE8937040044053201300A", "BBAN format"),  # a letter where DE has digits
        ("QQ12345678901234", "no IBAN format"),
        ("DE89370400440532013\u0660\u0660", "shape"),  # Arabic-Indic digits: not 0-9
        ("GB82west12345698765432", "lower-case"),  # lower case where the registry says "a"
    ],
)
def test_iban_refused(text: str, why: str) -> None:
    found = iban_problem(text)
    assert found is not None
    assert why in found


def test_iban_hit_masks_the_account_number() -> None:
    [hit] = _run("iban", _values(("iban", "DE88370400440532013000")))
    assert "370400440532013" not in hit.message
    assert "DE" in hit.message
    assert hit.context == {}


def _valid_iban(country: str, bban: str) -> str:
    return str(IBAN.from_bban(country, bban))


_SPECS = {
    country: spec
    for country in ("DE", "FR", "GB", "NL", "IT", "MT", "BR", "SA", "XK", "MA", "SN", "NO")
    if "e" not in (spec := schwifty_registry.get_iban_spec(country)).bban_spec
}


@given(data=st.data(), country=st.sampled_from(sorted(_SPECS)))
def test_iban_shortcut_agrees_with_schwifty(data: st.DataObject, country: str) -> None:
    """The ~1 us acceptance test never accepts what schwifty refuses, and accepts what
    schwifty accepts as written in upper case."""
    ascii_only = st.characters(codec="ascii")  # schwifty's \d also matches non-ASCII digits
    bban = data.draw(st.from_regex(_SPECS[country].regex, fullmatch=True, alphabet=ascii_only))
    bban = bban.upper()
    valid = _valid_iban(country, bban)
    assert _iban_passes(valid)
    digits = data.draw(st.integers(0, 99))
    edited = f"{valid[:2]}{digits:02d}{valid[4:]}"
    schwifty_accepts = IBAN(edited, allow_invalid=True).is_valid
    assert _iban_passes(edited) == schwifty_accepts
    assert (iban_problem(edited) is None) == schwifty_accepts


# --- BIC, LEI, country, UETR --------------------------------------------------------------


@pytest.mark.parametrize("text", ["DEUTDEFF", "DEUTDEFFXXX", "DEUTDEFF500", "ABCDXKPR"])
def test_bic_accepted(text: str) -> None:
    assert bic_problem(text) is None  # 8 or 11 characters; XK (Kosovo) is a BIC country


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("DEUTDEFFX", "9 characters"),
        ("DEUTDEFF5000", "12 characters"),
        ("DEUTQQFF", "country code QQ"),
        ("DEUT1EFF", "structure"),  # a digit in the country code
        ("deutdeff", "upper case"),
        ("DEUT DEFF", "upper case"),  # schwifty strips the space: 8 characters
    ],
)
def test_bic_refused(text: str, why: str) -> None:
    found = bic_problem(text)
    assert found is not None
    assert why in found


def test_lei() -> None:
    assert lei_problem("5299009QK7XN4D2W1S73") is None
    assert "check digits" in (lei_problem("5299009QK7XN4D2W1S74") or "")
    assert "shape" in (lei_problem("5299009qk7xn4d2w1s73") or "")
    assert "shape" in (lei_problem("5299009QK7XN4D2W1S7") or "")


@pytest.mark.parametrize(
    ("text", "valid"),
    [("DE", True), ("XK", True), ("GB", True), ("UK", False), ("EU", False), ("de", False)],
)
def test_country(text: str, valid: bool) -> None:
    assert (country_problem(text) is None) == valid


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("eb6305c9-1f7f-49de-aed0-16487c27b42d", None),
        ("EB6305C9-1F7F-49DE-AED0-16487C27B42D", "lower case"),
        ("eb6305c9-1f7f-19de-aed0-16487c27b42d", "version 1"),
        ("eb6305c9-1f7f-49de-ced0-16487c27b42d", "variant"),
        ("eb6305c91f7f49deaed016487c27b42d", "not a UUID"),
    ],
)
def test_uetr(text: str, why: str | None) -> None:
    found = uetr_problem(text)
    assert found is None if why is None else why in (found or "")


def test_uetr_of_events_is_judged_when_the_values_do_not_list_it() -> None:
    subject = _events({"ids": {"uetr": "not-a-uuid"}}, {"ids": {"uetr": "also-not"}})
    hits = _run("uetr", subject)
    assert [(h.event, h.field) for h in hits] == [(0, "ids.uetr"), (1, "ids.uetr")]


# --- currencies and amounts --------------------------------------------------------------


def test_minor_units_come_from_iso_4217() -> None:
    assert (minor_units("EUR"), minor_units("JPY"), minor_units("BHD")) == (2, 0, 3)
    assert minor_units("CLF") == 4
    assert minor_units("XAU") is None  # precious metals have no minor unit
    assert minor_units("DEM") is None  # withdrawn


def test_currency_codes() -> None:
    subject = _values(
        ("currency", "EUR"),
        ("currency", "DEM"),  # historic
        ("currency", "XTS"),  # testing code: in ISO 4217, excluded by the pack
        ("amount", "1.00", "USD"),
        ("amount", "1.00", "ABC"),
    )
    hits = _run("currency_code", subject, exclude=["XTS", "XXX"])
    assert [h.context["currency"] for h in hits] == ["DEM", "XTS", "ABC"]
    assert "Ccy of X" in hits[2].message
    assert len(_run("currency_code", subject)) == 2  # XTS allowed without exclude


@pytest.mark.parametrize(
    ("amount", "currency", "hit"),
    [
        ("1250.125", "EUR", True),
        ("1250.12", "EUR", False),
        ("1250.1", "EUR", False),
        ("1250", "EUR", False),
        ("15000.5", "JPY", True),
        ("15000.00", "JPY", True),  # written decimals count, zeros too (as SWIFT counts)
        ("15000", "JPY", False),
        ("12.345", "BHD", False),
        ("12.3456", "BHD", True),
        ("12.12345", "XAU", False),  # no minor unit: only the amount's 5 fraction digits
        ("1.123", "ABC", False),  # unknown currency: currency_code reports it
    ],
)
def test_minor_units(amount: str, currency: str, hit: bool) -> None:
    assert bool(_run("minor_units", _values(("amount", amount, currency)))) == hit


@pytest.mark.parametrize(
    ("amount", "hit"),
    [
        ("1234567890123.12345", False),  # 18 digits, 5 after the point
        ("12345678901234567.8", False),
        ("123456789012345678.9", True),  # 19 digits
        ("1.123456", True),  # 6 after the point
        ("0001.10000", False),  # leading and trailing zeros do not count (XSD value space)
        ("1.", False),
        (".5", False),
        ("1,50", True),  # MT decimal comma left untranslated: not a decimal
        ("1\u00b2", True),  # str.isdigit accepts superscripts; a decimal does not
        ("\u0661\u0662", True),  # Arabic-Indic digits
        ("", True),
    ],
)
def test_amount_digits(amount: str, hit: bool) -> None:
    subject = _values(("amount", amount, "XAU"))
    assert bool(_run("amount_digits", subject, total_digits=18, fraction_digits=5)) == hit


@pytest.mark.parametrize(
    ("value", "hit"),
    [("0.01", False), ("1250.00", False), ("0", True), ("0.00", True), ("-5.00", True)],
)
def test_amount_positive(value: str, hit: bool) -> None:
    subject = _events({"amounts": {"instructed": _amount(value)}})
    hits = _run("amount_positive", subject)
    assert bool(hits) == hit
    if hit:
        assert (hits[0].event, hits[0].field) == (0, "amounts.instructed")


def test_amount_positive_judges_every_transaction_amount() -> None:
    subject = _events(
        {"amounts": {"interbank_settlement": _amount("10.00"), "instructed": _amount("0")}},
        {"amounts": {"equivalent": _amount("0.00")}},
    )
    assert [(h.event, h.field) for h in _run("amount_positive", subject)] == [
        (0, "amounts.instructed"),
        (1, "amounts.equivalent"),
    ]


# --- group header consistency ------------------------------------------------------------


def _pain(
    block: str, nb: str | None, ctrl: str | None, amount: str, **group: str
) -> dict[str, Any]:
    info = {"id": block, "number_of_transactions": nb, "control_sum": ctrl}
    return {
        "group": group,
        "payment_information": {k: v for k, v in info.items() if v is not None},
        "ids": {"payment_information_id": block},
        "amounts": {"instructed": _amount(amount)},
    }


def test_number_of_transactions_per_group_and_block() -> None:
    group = {"number_of_transactions": "3"}
    ok = _events(
        _pain("A", "2", None, "1.00", **group),
        _pain("A", "2", None, "2.00", **group),
        _pain("B", "1", None, "3.00", **group),
    )
    assert _run("number_of_transactions", ok) == []
    wrong = _events(
        _pain("A", "1", None, "1.00", number_of_transactions="4"),
        _pain("A", "1", None, "2.00", number_of_transactions="4"),
        _pain("B", "1", None, "3.00", number_of_transactions="4"),
    )
    hits = _run("number_of_transactions", wrong)
    assert [(h.event, h.field) for h in hits] == [
        (0, "group.number_of_transactions"),
        (0, "payment_information.number_of_transactions"),
    ]
    assert hits[0].context == {"stated": "4", "counted": 3}


def test_number_of_transactions_that_is_no_ascii_number_is_reported() -> None:
    [hit] = _run("number_of_transactions", _events({"group": {"number_of_transactions": "\u0661"}}))
    assert hit.context == {"stated": "\u0661", "counted": 1}


def test_group_checks_need_the_complete_transaction_list() -> None:
    subject = _events(_pain("A", "5", "9.99", "1.00", number_of_transactions="5"), mapped=False)
    assert _run("number_of_transactions", subject) == []
    assert _run("control_sum", subject) == []


def test_control_sum_is_compared_as_a_number() -> None:
    group = {"control_sum": "100"}
    subject = _events(
        _pain("A", None, "60", "60.00", **group), _pain("B", None, "40.0", "40.00", **group)
    )
    assert _run("control_sum", subject) == []


def test_control_sum_per_block() -> None:
    group = {"control_sum": "6.00"}
    subject = _events(
        _pain("A", None, "3.00", "1.00", **group),
        _pain("A", None, "3.00", "2.00", **group),
        _pain("B", None, "4.00", "3.00", **group),  # wrong
        _pain("C", None, None, "0.50", **group),  # no CtrlSum in the block
    )
    hits = _run("control_sum", subject)
    assert [(h.event, h.field) for h in hits] == [
        (0, "group.control_sum"),  # 6.00 stated, 6.50 computed
        (2, "payment_information.control_sum"),
    ]
    assert hits[0].context == {"stated": "6.00", "computed": "6.50"}


def test_control_sum_sums_the_interbank_settlement_amount_in_pacs008() -> None:
    """pacs.008: each transaction's amount is IntrBkSttlmAmt, not InstdAmt."""
    event = {
        "group": {"control_sum": "99.00"},
        "amounts": {"interbank_settlement": _amount("99.00"), "instructed": _amount("100.00")},
    }
    assert _run("control_sum", _events(event)) == []


def test_control_sum_ignores_currencies_and_skips_unreadable_amounts() -> None:
    group = {"control_sum": "3"}
    mixed = _events(
        {"group": group, "amounts": {"instructed": _amount("1", "EUR")}},
        {"group": group, "amounts": {"instructed": _amount("2", "USD")}},
    )
    assert _run("control_sum", mixed) == []
    missing = _events({"group": group, "amounts": {}}, {"group": group})
    assert _run("control_sum", missing) == []


def test_total_interbank_settlement_amount() -> None:
    def subject(total: str, currency: str, *amounts: tuple[str, str]) -> Subject:
        group = {"total_interbank_settlement_amount": _amount(total, currency)}
        return _events(
            *(
                {"group": group, "amounts": {"interbank_settlement": _amount(v, c)}}
                for v, c in amounts
            )
        )

    assert (
        _run("total_settlement_amount", subject("30", "EUR", ("10.00", "EUR"), ("20", "EUR"))) == []
    )
    [hit] = _run("total_settlement_amount", subject("31", "EUR", ("10", "EUR"), ("20", "EUR")))
    assert hit.context == {"stated": "31", "computed": "30"}
    [hit] = _run("total_settlement_amount", subject("30", "EUR", ("10", "EUR"), ("20", "USD")))
    assert hit.context["transaction_currency"] == "USD"


# --- duplicates --------------------------------------------------------------------------


def test_duplicate_ids() -> None:
    subject = _events(
        {"ids": {"instruction_id": "I-1", "end_to_end_id": "NOTPROVIDED"}},
        {"ids": {"instruction_id": "I-2", "end_to_end_id": "NOTPROVIDED"}},
        {"ids": {"instruction_id": "I-1", "end_to_end_id": "E-3"}},
        {"ids": {"end_to_end_id": "E-3"}},
    )
    [hit] = _run("duplicate_ids", subject, fields=["ids.instruction_id"])
    assert (hit.event, hit.field) == (2, "ids.instruction_id")
    assert hit.context == {"value": "I-1", "first_transaction_index": 0}
    e2e = _run("duplicate_ids", subject, fields=["ids.end_to_end_id"], ignore=["NOTPROVIDED"])
    assert [h.event for h in e2e] == [3]
    assert len(_run("duplicate_ids", subject, fields=["ids.end_to_end_id"])) == 2


def test_duplicate_payment_information_id_across_blocks_only() -> None:
    subject = _events(
        _pain("A", "2", None, "1"),
        _pain("A", "2", None, "1"),  # same block: no duplicate
        _pain("B", "1", None, "1"),
        _pain("A", "1", None, "1"),  # block A again
    )
    [hit] = _run("duplicate_payment_information_id", subject)
    assert (hit.event, hit.context["first_transaction_index"]) == (3, 0)


# --- dates and charge bearer ---------------------------------------------------------------


def test_date_window_bounds_and_one_hit_per_distinct_date() -> None:
    subject = _events(
        {"dates": {"requested_execution": "2026-10-27"}},  # 30 days before: inside
        {"dates": {"requested_execution": "2026-10-26"}},  # 31 days before
        {"dates": {"requested_execution": "2026-10-26"}},
        {"dates": {"requested_execution_datetime": "2027-11-27T09:00:00+01:00"}},  # 366 after
        {"dates": {"interbank_settlement": "2027-11-26"}},  # 365 days after: inside
    )
    fields = [
        "dates.requested_execution",
        "dates.requested_execution_datetime",
        "dates.interbank_settlement",
    ]
    [past] = _run("date_window", subject, fields=fields, past_days=30)
    assert (past.event, past.field, past.context["transactions"]) == (
        1,
        "dates.requested_execution",
        2,
    )
    [future] = _run("date_window", subject, fields=fields, future_days=365)
    assert (future.event, future.field) == (3, "dates.requested_execution_datetime")
    assert _run("date_window", subject, fields=fields) == []


def test_date_window_needs_a_receipt_time() -> None:
    subject = _events({"dates": {"requested_execution": "1999-01-01"}})
    subject.received_at = None
    assert _run("date_window", subject, fields=["dates.requested_execution"], past_days=1) == []


def test_charge_bearer_by_service_level() -> None:
    rule = {"by_service_level": {"SEPA": ["SLEV"]}}
    subject = _events(
        {"charge_bearer": "SLEV", "payment_type": {"service_level": [{"code": "SEPA"}]}},
        {"charge_bearer": "SHAR", "payment_type": {"service_level": [{"code": "SEPA"}]}},
        {"charge_bearer": "SHAR", "payment_type": {"service_level": [{"code": "URGP"}]}},
        {"charge_bearer": "DEBT", "payment_type": {"service_level": [{"proprietary": "SEPA"}]}},
        {
            "charge_bearer": "CRED",
            "payment_type": {"service_level": [{"code": "G001"}, {"code": "SEPA"}]},
        },
        {"payment_type": {"service_level": [{"code": "SEPA"}]}},  # no bearer: scheme default
        {"charge_bearer": "SHAR"},
    )
    hits = _run("charge_bearer", subject, **rule)
    assert [h.event for h in hits] == [1, 4]  # ISO codes only: Prtry "SEPA" is not SEPA
    assert hits[0].field == "charge_bearer"


# --- the pack ------------------------------------------------------------------------------


def test_pack_file() -> None:
    pack = load_pack(PACK_FILE)
    assert (pack.pack, pack.layer.value) == ("business", "business")
    assert not pack.messages and not pack.match.business_service  # every message
    rules = {rule.id: rule for rule in pack.rules}
    assert all(rule_id.startswith("business.") for rule_id in rules)
    for rule in pack.rules:
        assert rule.iso_reason is not None, rule.id
        assert CHECKS[rule.check].fn.__module__ in ("gateway.rules.business", "gateway.rules.codes")
    for rule_id in (
        "business.date_too_far_in_past",
        "business.date_too_far_in_future",
        "business.duplicate_end_to_end_id",
    ):
        assert rules[rule_id].severity is Severity.WARNING
        assert rules[rule_id].description.startswith("Warning only")
    expected = {
        "business.iban": "AC01",
        "business.bic": "RC01",
        "business.country_code": "BE09",
        "business.amount_positive": "AM01",
        "business.number_of_transactions": "AM18",
        "business.control_sum": "AM10",
        "business.duplicate_instruction_id": "AM05",
        "business.uetr": "CH16",
    }
    assert {k: rules[k].iso_reason for k in expected} == expected
    assert PackRegistry.of([pack]).resolve("business", RECEIVED.date()) == pack


# --- the pipeline ----------------------------------------------------------------------------

#: Real samples the business pack rejects although the XSD accepts them, and why.
REJECTED_SAMPLES = {
    # placeholder IBANs LT00..., check digits 00 (no valid IBAN has them)
    "moov-iso20022__sepa_payment_naujas_1.xml": {"business.iban"},
}
#: ... and those it warns about (code-set rules only warn on camt statements).
WARNED_SAMPLES = {
    # MsgRcpt/PstlAdr/Ctry "UK": exceptionally reserved, not ISO 3166-1 (GB is)
    "genkgo-camt__data_camt053.v8.xml": {"business.country_code"},
}


def _samples() -> list[Path]:
    return sorted((SAMPLES / "mx").glob("*/*.xml")) if samples_available() else []


@pytest.mark.skipif(not samples_available(), reason="../shared/samples not present")
@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.name)
def test_real_samples(gateway: Gateway, path: Path) -> None:
    """Old samples get date warnings, never date errors; only the listed ones are
    rejected by business rules, and only for the listed reasons."""
    report = gateway.inbound(path.read_bytes(), rules=RuleSelection(), received_at=RECEIVED).report
    errors = {
        f.code
        for f in report.findings
        if f.layer.value == "business" and f.severity is Severity.ERROR
    }
    assert errors == REJECTED_SAMPLES.get(path.name, set()), report.findings
    warned = {
        f.code
        for f in report.findings
        if f.layer.value == "business"
        and f.severity is Severity.WARNING
        and not f.code.startswith("business.date_")
    }
    assert warned == WARNED_SAMPLES.get(path.name, set()), report.findings


def test_findings_point_at_the_element(gateway: Gateway) -> None:
    path = FIXTURES / "rules/business/business.control_sum.fail-pmtinf.xml"
    report = gateway.inbound(path.read_bytes(), received_at=RECEIVED).report
    [hit] = [f for f in report.findings if f.code == "business.control_sum"]
    assert hit.location.xpath == "/Document/CstmrCdtTrfInitn/PmtInf[1]/CtrlSum"
    assert hit.iso_reason == "AM10"
    assert hit.context["pack"] == "business"
    assert report.outcome is Outcome.REJECTED


@pytest.mark.slow
def test_ten_thousand_transactions_are_judged_quickly(gateway: Gateway) -> None:
    """The business checks on a 10,000-transaction pain.001 (10,000 distinct IBANs and
    UETRs): a generous bound for shared CI; the checks take ~60-130 ms on a small VM."""
    payload = generate(10_000, n_pmtinf=3)
    result = gateway.inbound(payload, rules=None)
    assert result.report.outcome is Outcome.ACCEPTED
    document = etree.fromstring(payload)
    subject = Subject(
        message_id="pain.001.001.09",
        events=result.events,
        values=mx_values(document),
        received_at=datetime(2024, 9, 2, 12, tzinfo=UTC),
        document=document,
        mapped=True,
    )
    assert gateway.rules is not None
    pack = gateway.rules.packs.resolve("business", subject.message_date)
    iban_problem.cache_clear()
    started = time.perf_counter()
    judged = gateway.rules.judge(subject, [pack])
    elapsed = time.perf_counter() - started
    assert judged.findings == []
    assert elapsed < 0.5, f"business checks took {elapsed * 1000:.0f} ms"
