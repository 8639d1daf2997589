"""Message definitions and the structure check: gateway.fin.definitions / gateway.fin.messages."""

from __future__ import annotations

import importlib
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.fin.definitions import (
    DEFINITIONS,
    AnyFields,
    FieldSpec,
    MessageDefinition,
    SequenceSpec,
)
from gateway.fin.messages import align, check_message
from gateway.messages import MessageId
from gateway.mt import MAX_FINDINGS, Field, MtMessage, TextBlock, parse_mt, validate_mt_structure
from gateway.report import CATALOGUE, Finding, Severity
from tests.conftest import SAMPLES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mt" / "messages"
ALL = sorted(FIXTURES.glob("*.txt"))
PASSING = [p for p in ALL if p.stem.rsplit(".", 1)[-1].startswith("pass")]
FAILING = [p for p in ALL if p.stem.rsplit(".", 1)[-1].startswith("fail")]
STRUCTURE_CODES = {"field_missing", "field_order", "field_repeated", "field_unexpected"}
#: The types issue #5 requires; each has a passing fixture.
REQUIRED = [
    "fin.103",
    "fin.103.STP",
    "fin.103.REMIT",
    "fin.202",
    "fin.202.COV",
    "fin.199",
    "fin.900",
    "fin.910",
    "fin.940",
    "fin.950",
    "fin.192",
    "fin.195",
    "fin.196",
]


def split_name(path: Path) -> tuple[str, str, str]:
    """``fin.103.STP.C1.fail-spay`` -> (``fin.103.STP``, ``C1``, ``fail``)."""
    *mid, subject, outcome = path.stem.split(".")
    return ".".join(mid), subject, outcome.split("-", 1)[0]


def message_of(text: str) -> MtMessage:
    message = parse_mt(text).user_message
    assert message is not None
    return message


def findings_of(path: Path, eol: str = "\n") -> list[Finding]:
    return list(check_message(message_of(path.read_text(encoding="utf-8").replace("\n", eol))))


def with_fields(message: MtMessage, fields: list[Field]) -> MtMessage:
    """``message`` with its text block's fields replaced."""
    blocks = tuple(
        replace(b, fields=tuple(fields)) if isinstance(b, TextBlock) else b for b in message.blocks
    )
    return MtMessage(blocks)


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", PASSING, ids=[p.stem for p in PASSING])
@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_passing_fixture_has_no_finding(path: Path, eol: str) -> None:
    text = path.read_text(encoding="utf-8").replace("\n", eol)
    parsed = parse_mt(text)
    assert str(parsed.message_id) == split_name(path)[0]
    assert validate_mt_structure(parsed) == []
    assert findings_of(path, eol) == []


@pytest.mark.parametrize("path", FAILING, ids=[p.stem for p in FAILING])
def test_failing_fixture_yields_only_what_it_is_named_after(path: Path) -> None:
    message_id, subject, _ = split_name(path)
    parsed = parse_mt(path.read_text(encoding="utf-8"))
    assert str(parsed.message_id) == message_id
    assert validate_mt_structure(parsed) == []
    found = findings_of(path)
    assert found
    if subject in STRUCTURE_CODES or subject == "type_unsupported":
        assert {f.code for f in found} == {f"mt.{subject}"}
    else:
        assert {f.rule for f in found} == {f"{message_id}.{subject}"}


def test_every_required_type_has_a_definition_and_a_passing_fixture() -> None:
    passing = {split_name(p)[0] for p in PASSING}
    for message_id in REQUIRED:
        assert message_id in DEFINITIONS
        assert message_id in passing


def test_every_structure_code_has_a_failing_fixture() -> None:
    subjects = {split_name(p)[1] for p in FAILING}
    assert STRUCTURE_CODES | {"type_unsupported"} <= subjects


def test_structure_findings_carry_t13_location_and_line() -> None:
    for path in FAILING:
        for f in findings_of(path):
            assert f.code in CATALOGUE
            if f.code == "mt.type_unsupported":
                continue
            assert re.fullmatch(r"[TCDE][0-9]{2}", f.context["swift_error"])
            assert f.location.mt_tag
            assert f.location.line is not None and f.location.line > 0
            if f.code != "mt.network_rule":
                assert f.context["swift_error"] == "T13"


# ------------------------------------------------------------------------- definitions


@pytest.mark.parametrize("definition", DEFINITIONS.values(), ids=list(DEFINITIONS))
def test_definition_is_well_formed(definition: MessageDefinition) -> None:
    assert MessageId(definition.message_id).family == "mt"
    rows = list(_rows(definition.items))
    assert any(isinstance(r, FieldSpec) and r.mandatory for r in rows)
    for row in rows:
        if isinstance(row, FieldSpec):
            assert re.fullmatch(r"[0-9]{2}[A-Za-z]?", row.tag)
            assert row.options and all(re.fullmatch(r"[A-Z]?", o) for o in row.options)
            assert row.tag[2:] == "a" or row.options == (row.tag[2:],)
            assert row.max_count is None or row.max_count >= 1


def _rows(
    items: tuple[FieldSpec | SequenceSpec | AnyFields, ...], *, single: bool = False
) -> list[FieldSpec | AnyFields]:
    """The rows of a definition; ``single``: only those that occur at most once."""
    out: list[FieldSpec | AnyFields] = []
    for item in items:
        if isinstance(item, SequenceSpec):
            if not single or item.max_count == 1:
                out.extend(_rows(item.items, single=single))
        elif not single or (isinstance(item, FieldSpec) and item.max_count == 1):
            out.append(item)
    return out


def test_stp_restricts_the_core_options() -> None:
    def options(message_id: str) -> dict[str, tuple[str, ...]]:
        return {
            r.tag[:2]: r.options
            for r in _rows(DEFINITIONS[message_id].items)
            if isinstance(r, FieldSpec)
        }

    core, stp = options("fin.103"), options("fin.103.STP")
    assert "51" in core and "51" not in stp
    for number in ("52", "54", "55", "56", "57"):
        assert stp[number] == ("A",)
    assert stp["53"] == ("A", "B")
    assert all(set(stp[n]) <= set(core[n]) for n in stp)


def test_cover_sequences_are_placed() -> None:
    path = FIXTURES / "fin.202.COV.valid.pass.txt"
    message = message_of(path.read_text(encoding="utf-8"))
    assert message.text is not None
    layout = align(message.text.fields, DEFINITIONS["fin.202.COV"])
    sequences = layout.sequences()
    assert [f.tag for f in sequences["A"]] == ["20", "21", "32A", "52A", "58A"]
    assert [f.tag for f in sequences["B"]] == ["50K", "52A", "57A", "59", "70", "33B"]
    assert layout.gaps == ()


def test_statement_lines_repeat() -> None:
    message = message_of((FIXTURES / "fin.940.valid.pass.txt").read_text(encoding="utf-8"))
    assert message.text is not None
    lines = list(message.text.fields)
    many = lines[:4] + lines[4:7] * 200 + lines[7:]
    assert list(check_message(with_fields(message, many))) == []


# ---------------------------------------------------------------- structural mutations

BASES = sorted(FIXTURES.glob("*.valid.pass.txt"))


def _base(path: Path) -> tuple[MtMessage, list[Field], MessageDefinition]:
    message = message_of(path.read_text(encoding="utf-8"))
    assert message.text is not None and message.message_id is not None
    return message, list(message.text.fields), DEFINITIONS[str(message.message_id)]


def _structure(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.code != "mt.network_rule"]


@pytest.mark.parametrize("path", BASES, ids=[p.stem for p in BASES])
def test_dropping_a_mandatory_field_is_missing(path: Path) -> None:
    message, fields, definition = _base(path)
    rows = [r for r in _rows(definition.items) if isinstance(r, FieldSpec)]
    mandatory = {r.tag for r in rows if r.mandatory}
    for i, f in enumerate(fields):
        row = next((r for r in rows if r.accepts(f.tag)), None)
        if row is None or row.tag not in mandatory or sum(x.tag == f.tag for x in fields) > 1:
            continue
        found = _structure(list(check_message(with_fields(message, fields[:i] + fields[i + 1 :]))))
        assert [(x.code, x.location.mt_tag) for x in found][:1] == [
            ("mt.field_missing", f":{row.tag}:")
        ], f.tag


@pytest.mark.parametrize("path", BASES, ids=[p.stem for p in BASES])
def test_an_undefined_tag_is_unexpected(path: Path) -> None:
    message, fields, definition = _base(path)
    expected = "mt.field_unexpected"
    if any(isinstance(r, AnyFields) for r in _rows(definition.items)):
        # n92/n95/n96: any field may be copied from the original message, after the
        # type's own fields; among them, it is out of place
        fields, expected = fields[:3], "mt.field_order"
    for i in range(len(fields)):
        alien = Field("99Z", "ALIEN", 0)
        found = _structure(
            list(check_message(with_fields(message, [*fields[:i], alien, *fields[i:]])))
        )
        assert [(x.code, x.location.mt_tag) for x in found] == [(expected, ":99Z:")]


@pytest.mark.parametrize("path", BASES, ids=[p.stem for p in BASES])
def test_a_second_single_field_is_repeated(path: Path) -> None:
    message, fields, definition = _base(path)
    rows = [r for r in _rows(definition.items, single=True) if isinstance(r, FieldSpec)]
    if any(isinstance(r, AnyFields) for r in _rows(definition.items)):
        return  # n92/n95/n96: a copied field may repeat anything
    for i, f in enumerate(fields):
        taking = [r for r in _rows(definition.items) if r.accepts(f.tag)]
        if len(taking) != 1 or taking[0] not in rows:
            continue
        found = _structure(
            list(check_message(with_fields(message, [*fields[: i + 1], f, *fields[i + 1 :]])))
        )
        assert [x.code for x in found] == ["mt.field_repeated"], f.tag


def test_swapped_mandatory_fields_are_one_order_finding() -> None:
    message, fields, _ = _base(FIXTURES / "fin.103.valid.pass.txt")
    swapped = [fields[1], fields[0], *fields[2:]]  # 23B before 20
    found = list(check_message(with_fields(message, swapped)))
    assert [f.code for f in found] == ["mt.field_order"]
    assert found[0].context == {"swift_error": "T13"}


def test_copied_fields_exclude_77f_and_77t() -> None:
    message, fields, _ = _base(FIXTURES / "fin.192.C1.pass.txt")
    found = list(check_message(with_fields(message, [*fields, Field("77T", "X", 0)])))
    assert [(f.code, f.location.mt_tag) for f in found] == [("mt.field_unexpected", ":77T:")]


def test_option_for_a_missing_mandatory_row_is_one_finding() -> None:
    message, fields, _ = _base(FIXTURES / "fin.103.valid.pass.txt")
    fields = [Field("50B", f.value, f.line) if f.tag == "50K" else f for f in fields]
    found = list(check_message(with_fields(message, fields)))
    assert [(f.code, f.location.mt_tag) for f in found] == [("mt.field_unexpected", ":50B:")]
    assert found[0].context["allowed"] == ["50A", "50F", "50K"]


def test_missing_mandatory_sequence_is_one_finding() -> None:
    found = findings_of(FIXTURES / "fin.202.COV.field_missing.fail.txt")
    assert [(f.code, f.location.mt_tag) for f in found] == [("mt.field_missing", "Sequence B")]
    assert "Underlying Customer Credit Transfer Details" in found[0].message


def test_option_not_allowed_names_the_allowed_ones() -> None:
    [f] = findings_of(FIXTURES / "fin.103.STP.field_unexpected.fail.txt")
    assert f.context["allowed"] == ["52A"]
    assert f.location.mt_tag == ":52D:"


# ------------------------------------------------------------------------ edge cases


@pytest.mark.parametrize("module", ["definitions", "messages", "network", "peek"])
def test_public_names_exist(module: str) -> None:
    mod = importlib.import_module(f"gateway.fin.{module}")
    assert mod.__all__ == sorted(mod.__all__, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(mod, name) for name in mod.__all__)


def test_unsupported_type_is_one_warning() -> None:
    [f] = findings_of(FIXTURES / "fin.920.type_unsupported.fail.txt")
    assert f.severity is Severity.WARNING
    assert f.context == {"message_id": "fin.920"}


def test_no_type_or_no_text_block_is_left_to_the_structure_check() -> None:
    message = message_of((FIXTURES / "fin.103.valid.pass.txt").read_text(encoding="utf-8"))
    without_text = MtMessage(tuple(b for b in message.blocks if b.name != "4"))
    without_b2 = MtMessage(tuple(b for b in message.blocks if b.name != "2"))
    assert list(check_message(without_text)) == []
    assert list(check_message(without_b2)) == []


def test_findings_are_capped() -> None:
    message, fields, _ = _base(FIXTURES / "fin.199.valid.pass.txt")
    padded = fields + [Field("99Z", "X", 0)] * (MAX_FINDINGS + 20)
    found = list(check_message(with_fields(message, padded)))
    assert len(found) == MAX_FINDINGS + 1
    assert found[-1].code == "mt.too_many_findings"


_TAGS = st.sampled_from(
    ["20", "21", "23B", "32A", "33B", "50K", "52D", "57A", "59", "61", "71A", "86", "99Z"]
)


@given(path=st.sampled_from(BASES), data=st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_shuffled_dropped_duplicated_fields_never_raise(path: Path, data: st.DataObject) -> None:
    message, fields, _ = _base(path)
    mutated = data.draw(st.permutations(fields))
    mutated = (
        data.draw(st.lists(st.sampled_from(mutated), max_size=len(fields) + 3))
        if data.draw(st.booleans())
        else mutated
    )
    extra = data.draw(st.lists(_TAGS.map(lambda t: Field(t, "X", 0)), max_size=3))
    found = list(check_message(with_fields(message, [*mutated, *extra])))
    assert all(f.code in CATALOGUE for f in found)
    assert all("swift_error" in f.context for f in found if f.code != "mt.too_many_findings")


@given(path=st.sampled_from(BASES), data=st.data())
@settings(max_examples=200)
def test_a_permutation_reports_no_unexpected_field(path: Path, data: st.DataObject) -> None:
    message, fields, _ = _base(path)
    shuffled = data.draw(st.permutations(fields))
    found = _structure(list(check_message(with_fields(message, list(shuffled)))))
    assert "mt.field_unexpected" not in {f.code for f in found}
    if list(shuffled) == fields:
        assert found == []


# ------------------------------------------------------------------------ real samples

#: Every real sample and the findings the standard justifies (code, SWIFT error, tag):
#: MT 192 has neither 79 nor a copy of the original message (n92 rule C1); MT 196 uses
#: 75 (Queries, of the MT n95) where 76 (Answers) is mandatory - 75 onwards counts as
#: copied fields; the malformed MT 199 has no 79; MT 101 and MT 920 have no definition.
EXPECTED_SAMPLES: dict[str, list[tuple[str, str | None, str]]] = {
    "prowide-core__MT101Test_testSequences": [("mt.type_unsupported", None, "{2:}")],
    "prowide-core__MT103-out-ack_rje_1": [],
    "prowide-core__MT103ParserTest_test103_4": [],
    "prowide-core__MT103ParserTest_test103_1": [],
    "prowide-core__MTn9nParserTest_test192_1": [("mt.network_rule", "C25", ":79:")],
    "prowide-core__MTn9nParserTest_test195_1": [],
    "prowide-core__MTn9nParserTest_test196_1": [("mt.field_missing", "T13", ":76:")],
    "prowide-core__DefaultMtMetadataStrategyTest_testMalformedBlock2": [
        ("mt.field_missing", "T13", ":79:")
    ],
    "prowide-core__MT199ParserTest_s": [],
    "prowide-core__MT202ParserTest_test202_1": [],
    "prowide-core__MT920Test_message": [("mt.type_unsupported", None, "{2:}")],
    "prowide-core__JapaneseCharactersTest_testMTFromString": [],
    "prowide-core__MT940ParserTest_test940_1": [],
    "prowide-core__MT950ParserTest_test535_1": [],
    "prowide-core__SwiftMessageTest_msg": [],
}
SAMPLE_FILES = sorted((SAMPLES / "mt").rglob("*.txt")) if (SAMPLES / "mt").is_dir() else []


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt not present")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_real_sample_gets_the_findings_the_standard_justifies(path: Path) -> None:
    message = parse_mt(path.read_bytes()).user_message
    assert message is not None
    found = [
        (f.code, f.context.get("swift_error"), f.location.mt_tag) for f in check_message(message)
    ]
    assert found == EXPECTED_SAMPLES[path.stem]
