"""Network validated rules and the values they read: gateway.fin.network / gateway.fin.peek."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.fin import peek
from gateway.fin.messages import check_message
from gateway.fin.network import EU_EEA_33B, RULES, Rule, RuleInput, check_network
from gateway.mt import Field, MtMessage, TextBlock, parse_mt

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mt" / "messages"
#: Message ids whose rules each have a failing and a passing fixture; the other common
#: group categories (fin.292 ...) share the rule objects of category 1.
COVERED = [m for m in RULES if not re.fullmatch(r"fin\.[2-9]9[256]", m) and m != "fin.103.REMIT"]
RULE_CASES = [(mid, r) for mid in COVERED for r in RULES[mid]]
FAILING = sorted(
    p
    for p in FIXTURES.glob("*.fail*.txt")
    if re.search(r"\.(C[0-9]+|[0-9]{2}[A-Za-z])\.fail", p.name)
)


def message_of(text: str) -> MtMessage:
    message = parse_mt(text).user_message
    assert message is not None
    return message


def fixture(name: str) -> MtMessage:
    return message_of((FIXTURES / name).read_text(encoding="utf-8"))


def with_fields(message: MtMessage, fields: list[Field]) -> MtMessage:
    blocks = tuple(
        replace(b, fields=tuple(fields)) if isinstance(b, TextBlock) else b for b in message.blocks
    )
    return MtMessage(blocks)


def network(message: MtMessage) -> list[tuple[str | None, str]]:
    """(rule id, SWIFT error) of each network finding."""
    return [
        (f.rule, f.context["swift_error"])
        for f in check_message(message)
        if f.code == "mt.network_rule"
    ]


# ------------------------------------------------------------------ rules and fixtures


@pytest.mark.parametrize(
    ("message_id", "rule"), RULE_CASES, ids=[f"{m}.{r.rule}" for m, r in RULE_CASES]
)
def test_every_rule_has_a_failing_and_a_passing_fixture(message_id: str, rule: Rule) -> None:
    for outcome in ("fail", "pass"):
        assert (FIXTURES / f"{message_id}.{rule.rule}.{outcome}.txt").is_file()


@pytest.mark.parametrize("path", FAILING, ids=[p.stem for p in FAILING])
def test_failing_fixture_breaks_its_rule_with_one_of_its_codes(path: Path) -> None:
    *mid, subject, _ = path.stem.split(".")
    message_id = ".".join(mid)
    rule = next(r for r in RULES[message_id] if r.rule == subject)
    found = [f for f in check_message(fixture(path.name)) if f.code == "mt.network_rule"]
    assert found
    for f in found:
        assert f.rule == f"{message_id}.{subject}"
        assert f.context["swift_error"] in rule.errors
        assert f.context["rule"] == subject
        assert f.message.startswith(
            f"MT {' '.join(mid[1:])} rule {subject} ({f.context['swift_error']}): "
        )
        assert ("swift_error_confirmed" in f.context) is not rule.confirmed


def test_every_error_code_of_a_rule_is_exercised() -> None:
    seen: dict[str, set[str]] = {}
    for path in FAILING:
        for f in check_message(fixture(path.name)):
            if f.rule is not None:
                seen.setdefault(f.rule, set()).add(f.context["swift_error"])
    for message_id, rule in RULE_CASES:
        assert seen.get(f"{message_id}.{rule.rule}") == set(rule.errors), (
            f"{message_id}.{rule.rule}"
        )


@pytest.mark.parametrize(
    ("message_id", "rule"), RULE_CASES, ids=[f"{m}.{r.rule}" for m, r in RULE_CASES]
)
def test_rule_is_documented(message_id: str, rule: Rule) -> None:
    assert rule.summary and rule.summary.endswith(".")
    assert all(re.fullmatch(r"[CDE][0-9]{2}", e) for e in rule.errors)


def test_remit_follows_the_mt103_rules() -> None:
    assert RULES["fin.103.REMIT"] == RULES["fin.103"]


def test_unknown_type_has_no_rules() -> None:
    message = fixture("fin.103.C1.fail.txt")
    assert message.text is not None
    assert list(check_network("fin.101", RuleInput(message, message.text.fields))) == []


def test_the_33b_country_list() -> None:
    assert len(EU_EEA_33B) == 44
    assert {"DE", "FR", "GB", "CH", "NO", "VA"} <= EU_EEA_33B
    assert "US" not in EU_EEA_33B


def test_output_form_reads_sender_from_the_mir() -> None:
    """Output message from DEUTDEFF (MIR) to BNPAFRPP (block 1), no 33B: C2 applies."""
    message = fixture("fin.103.C2.fail.txt")
    text = (FIXTURES / "fin.103.C2.fail.txt").read_text(encoding="utf-8")
    body = text[text.index("{4:") :]
    output = (
        "{1:F01BNPAFRPPAXXX0000000000}{2:O1031200240315DEUTDEFFAXXX12345678902403151201N}" + body
    )
    assert network(message_of(output)) == [("fin.103.C2", "D49")] == network(message)
    from_us = output.replace("DEUTDEFFAXXX1234", "CHASUS33AXXX1234")
    assert network(message_of(from_us)) == []


def test_cover_rules_look_at_their_own_sequence() -> None:
    """56A in sequence A with 57A only in sequence B still breaks C1."""
    assert network(fixture("fin.202.COV.C1.fail.txt")) == [("fin.202.COV.C1", "C81")]
    assert network(fixture("fin.202.COV.C2.fail.txt")) == [("fin.202.COV.C2", "C68")]


def test_unreadable_values_are_left_to_the_field_format_check() -> None:
    message = fixture("fin.103.C1.fail.txt")
    assert message.text is not None
    garbled = [
        Field(f.tag, "GARBAGE", f.line) if f.tag in ("32A", "33B", "23B", "71A") else f
        for f in message.text.fields
    ]
    assert network(with_fields(message, garbled)) == []


# ------------------------------------------------------------------------------ peek


@pytest.mark.parametrize(
    ("tag", "value", "expected"),
    [
        ("32A", "240315EUR1500,00", "EUR"),
        ("33B", "USD1620,", "USD"),
        ("71F", "CHF10,", "CHF"),
        ("71G", "EUR10,", "EUR"),
        ("60F", "C240314EUR100000,00", "EUR"),
        ("62M", "D240314JPY5,", "JPY"),
        ("64", "C240315GBP1,", "GBP"),
        ("65", "C240315GBP1,", "GBP"),
        ("32A", "2403EUR1500,00", None),
        ("33B", "eur1,", None),
        ("60F", "X240314EUR1,", None),
        ("20", "EUR", None),
    ],
)
def test_currency(tag: str, value: str, expected: str | None) -> None:
    assert peek.currency(Field(tag, value)) == expected


def test_code_party_identifier_and_country() -> None:
    assert peek.code("SPRI", 4) == "SPRI"
    assert peek.code("TELI/+49 69 910", 4) == "TELI"
    assert peek.code("OUR", 3) == "OUR"
    assert peek.code("OU", 3) is None
    assert peek.code("/ABC", 4) is None
    assert peek.party_identifier(Field("59", "/FR76300\nNAME"))
    assert not peek.party_identifier(Field("59", "NAME\n/NOT FIRST"))
    assert not peek.party_identifier(Field("53B", "/"))
    assert peek.country("DEUTDEFFAXXX") == "DE"
    assert peek.country("DEUTDEFF") == "DE"
    assert peek.country("DEU") is None
    assert peek.country(None) is None


def test_sender_and_receiver_of_input_and_output_messages() -> None:
    inbound = message_of("{1:F01DEUTDEFFAXXX0000000000}{2:I103BNPAFRPPXXXXN}{4:\n:20:X\n-}")
    assert (peek.sender(inbound), peek.receiver(inbound)) == ("DEUTDEFFAXXX", "BNPAFRPPXXXX")
    outbound = message_of(
        "{1:F01BNPAFRPPAXXX0000000000}{2:O1031200240315DEUTDEFFAXXX12345678902403151201N}"
        "{4:\n:20:X\n-}"
    )
    assert (peek.sender(outbound), peek.receiver(outbound)) == ("DEUTDEFFAXXX", "BNPAFRPPAXXX")
    headless = message_of("{4:\n:20:X\n-}")
    assert (peek.sender(headless), peek.receiver(headless)) == (None, None)


_VALUES = st.text(alphabet="ABCDEFGHIOPRSTUVWXYZ0123456789/,+- \n", max_size=30)
_RULE_TAGS = [
    "20",
    "23B",
    "23E",
    "32A",
    "33B",
    "36",
    "50K",
    "52A",
    "53B",
    "53D",
    "54A",
    "55D",
    "56A",
    "56C",
    "57A",
    "57D",
    "59",
    "59A",
    "70",
    "71A",
    "71F",
    "71G",
    "72",
    "77B",
    "79",
    "62F",
    "64",
]


@given(
    base=st.sampled_from(
        ["fin.103.C1.pass.txt", "fin.103.STP.valid.pass.txt", "fin.202.COV.valid.pass.txt"]
    ),
    fields=st.lists(st.tuples(st.sampled_from(_RULE_TAGS), _VALUES), max_size=25),
)
@settings(max_examples=300)
def test_rules_never_raise_on_any_values(base: str, fields: list[tuple[str, str]]) -> None:
    message = with_fields(fixture(base), [Field(t, v, i + 2) for i, (t, v) in enumerate(fields)])
    for f in check_message(message):
        assert f.code in {
            "mt.network_rule", "mt.field_missing", "mt.field_order", "mt.field_repeated",
            "mt.field_unexpected",
        }  # fmt: skip
