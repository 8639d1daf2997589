"""MT field formats: the notation compiler (gateway.fin.notation), the field table and
its checks (gateway.fin.fields and families), parse_field / render_field."""

from __future__ import annotations

import timeit
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.fin import notation
from gateway.fin.field_base import Text
from gateway.fin.fields import (
    FIELD_SPECS,
    Amount,
    Balance,
    Code,
    FieldValue,
    Party,
    Rate,
    StatementLine,
    check_field,
    check_fields,
    parse_field,
    render_field,
)
from gateway.fin.notation import CHARSETS, Mismatch, NotationError, _Search, compile_notation
from gateway.mt import Field, MtMessage, TextBlock, parse_mt
from gateway.mt_fields import X_CHARACTERS
from gateway.rules.codes import CURRENCIES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mt"
FIELD_FIXTURES = FIXTURES / "fields"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "mt"
SAMPLE_FILES = sorted(SAMPLES.rglob("*.txt")) if SAMPLES.is_dir() else []


def _codes(tag: str, value: str, message_id: str | None = "fin.103") -> list[str]:
    return [p.code for p in check_field(tag, value, message_id)]


# --------------------------------------------------------------------------- notation


@pytest.mark.parametrize(
    ("notation", "names", "value", "groups"),
    [
        ("6!n3!a15d", ("date", "ccy", "amt"), "240131EUR1000,50", ("240131", "EUR", "1000,50")),
        ("[/1!a][/34x]$4!a2!a2!c[3!c]", ("dc", "acct", *["bic"] * 4), "/D/12\nDEUTDEFFXXX",
         ("D", "12", "DEUTDEFFXXX")),
        ("[/1!a][/34x]$4!a2!a2!c[3!c]", ("dc", "acct", *["bic"] * 4), "//FW12\nDEUTDEFF",
         (None, "/FW12", "DEUTDEFF")),
        ("[/34x]$4*35x", ("acct", "name"), "/ABC", (None, "/ABC")),
        ("[/34x]$4*35x", ("acct", "name"), "/ABC\nA\nB", ("ABC", "A\nB")),
        ("[/34x]$4*(1!n/33x)", ("acct", "lines"), "1/A\n3/DE", (None, "1/A\n3/DE")),
        ("3!n$6!n$[4!n6!n]", ("mt", "date", "s", "i"), "103\n240101",
         ("103", "240101", None, None)),
        ("3!n\n6!n\n[4!n6!n]", ("mt", "date", "s", "i"), "103\n240101\n1234123456",
         ("103", "240101", "1234", "123456")),
        ("[/1!a][/34x]$[35x]", ("dc", "acct", "loc"), "LOC", (None, None, "LOC")),
        ("1..3n", ("n",), "12", ("12",)),
        ("[N]15d", ("amount",), "N1,", ("1,",)),
        ("4!a/2!a/27x", ("code", "country", "id"), "CUST/DE/X/1", ("CUST", "DE", "X/1")),
    ],
)  # fmt: skip
def test_notation_matches_with_named_subfields(
    notation: str, names: tuple[str, ...], value: str, groups: tuple[str | None, ...]
) -> None:
    matcher = compile_notation(notation, names)
    m = matcher.match(value)
    assert m is not None
    assert tuple(m.group(name) for name in matcher.subfields) == groups
    assert matcher.diagnose(value) is None


@pytest.mark.parametrize("cls", sorted(CHARSETS))
def test_character_classes_match_their_sets(cls: str) -> None:
    matcher = compile_notation(f"1!{cls}")
    accepted = {chr(c) for c in range(256) if matcher.match(chr(c))}
    assert accepted == set(CHARSETS[cls])


def test_max_lines() -> None:
    assert compile_notation("[/34x]$4*35x").max_lines == 5
    assert compile_notation("6!n[4!n]2a[1!a]15d1!a3!c16x[//16x]$[34x]").max_lines == 2


def test_notation_is_compiled_once() -> None:
    assert compile_notation("16x", ("ref",)) is compile_notation("16x", ["ref"])


@pytest.mark.parametrize(
    "notation", ["3!", "[3!a", "3!a]", "4*", "4*(1!n", "3q", "0n", "3..2n", "4*35"]
)
def test_bad_notation_is_refused(notation: str) -> None:
    with pytest.raises(NotationError):
        compile_notation(notation)


def test_one_name_for_separate_parts_is_refused() -> None:
    with pytest.raises(NotationError, match="separate parts"):
        compile_notation("3!a/3!n/3!a", ("x", "y", "x"))
    joined = compile_notation("3!a/3!a", ("x", "x")).match("ABC/DEF")  # a literal between
    assert joined is not None and joined.group("x") == "ABC/DEF"


@pytest.mark.parametrize(
    ("notation", "value", "code", "subfield", "line", "column"),
    [
        ("6!n3!a15d", "240131EUR1234567890123456,", "T33", "amt", 0, 24),
        ("6!n3!a15d", "2401EUR1,", "T34", "date", 0, 4),
        ("6!n3!a15d", "240131EUR", "T34", "amt", 0, 9),
        ("6!n3!a15d", "240131EUR1.5", "T34", "amt", 0, 10),
        ("[/34x]$4*35x", "A\nB\nC\nD\nE", "T33", None, 4, 0),
        ("[/34x]$4*35x", "A\n" + "B" * 36, "T33", "name", 1, 35),
        ("/34x", "123", "T34", "acct", 0, 0),
        ("16x", "", "T34", None, 0, 0),
        ("3!n$6!n", "103", "T34", None, 0, 3),
        ("3!a", "ABC\n", "T33", None, 1, 0),
    ],
)
def test_notation_diagnoses_a_mismatch(
    notation: str, value: str, code: str, subfield: str | None, line: int, column: int
) -> None:
    names = {"6!n3!a15d": ("date", "ccy", "amt"), "[/34x]$4*35x": ("acct", "name")}
    matcher = compile_notation(notation, names.get(notation, ("acct",)))
    found = matcher.diagnose(value)
    assert isinstance(found, Mismatch)
    assert (found.code, found.subfield, found.line, found.column) == (code, subfield, line, column)


def test_diagnosis_of_a_long_narrative() -> None:
    matcher = compile_notation("35*50x", ("text",))
    found = matcher.diagnose(("a " * 25 + "\n") * 34 + "x" * 60)
    assert found == Mismatch("T33", "subfield text is longer than 50 characters", "text", 34, 50)


def test_diagnosis_gives_up_generically_past_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notation, "_BUDGET", 3)
    found = compile_notation("[/34x]$4*35x", ("acct", "name")).diagnose("A\nB\nC\nD\nE\nF")
    assert found == Mismatch("T34", "does not match the format [/34x]$4*35x", None, 0, 0)


_ALPHABET = "AZaz09/,.+- \n:"


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(tag=st.sampled_from(sorted(FIELD_SPECS)), text=st.text(alphabet=_ALPHABET, max_size=40))
def test_search_and_regex_agree(tag: str, text: str) -> None:
    """The diagnosis walks the same structure as the regular expression."""
    matcher = FIELD_SPECS[tag].matcher
    search = _Search(text)
    assert search.lines(matcher._lines, 0, 0, True) == (matcher.regex.fullmatch(text) is not None)


# --------------------------------------------------------------------------- field rules

VALID = [
    ("20", "REF-0001"), ("21", "NONREF"), ("13C", "/CLSTIME/0915+0100"),
    ("13C", "/RNCTIME/0802-0000"), ("13D", "1401081515+1300"), ("23B", "SPRI"),
    ("23E", "TELI/3226553478"), ("23E", "SDVA"), ("26T", "K90"), ("71A", "BEN"),
    ("11S", "103\n240101"), ("11R", "202\n240101\n1234123456"), ("25", "DE44 5001"),
    ("25P", "ACC\nDEUTDEFFXXX"), ("28C", "62/1"), ("28C", "00046"),
    ("32A", "240131EUR12500,00"), ("32A", "800229EUR1,"), ("32A", "000229JPY1,"),
    ("32B", "GBP12500,"), ("33B", "USD0,5"), ("36", "0,9090909"), ("71F", "EUR1,"),
    ("71G", "BHD1,125"), ("60F", "C240301EUR100000,00"), ("60M", "D240301EUR0,"),
    ("62F", "C240302EUR89800,50"), ("62M", "C240302EUR1,"), ("64", "C240302EUR1,"),
    ("65", "D240303EUR1,"), ("61", "2403020302D12500,00NTRFINV-2024-0131//BNP0012\nTEXT"),
    ("61", "240302RC1,S103NONREF"), ("61", "0710241024DF4105400,0FMSC1234567890"),
    ("50A", "/US12345\nCHASUS33"), ("50K", "NAME\nSTREET"), ("59", "/DE89\nNAME"),
    ("59A", "DEUTDEFF"), ("50F", "/12345678\n1/JOHN DOE\n2/STREET 1\n3/US/NEW YORK"),
    ("50F", "CUST/US/ISSUER/12345\n1/JOHN\n4/19800101\n5/US/NYC\n8/MORE"),
    ("50F", "NIDN/DE/123\n1/JOHN\n6/DE/ISSUER/42\n7/DE/1234"),
    ("59F", "/DE89\n1/NAME\n2/ADDR\n3/DE/BERLIN"), ("59F", "1/NAME\n1/MORE NAME"),
    ("52A", "/C/123\nDEUTDEFF"), ("52D", "NAME\nTOWN"), ("53B", "/ACC\nLOC"), ("53B", "/ACC"),
    ("54A", "DEUTDEFF"), ("55D", "NAME"), ("56C", "//FW021000021"), ("57B", "LOC"),
    ("57C", "/123"), ("58A", "/DE27\nDEUTDEFFXXX"), ("58D", "/D/1\nNAME"),
    ("70", "/INV/1\n" * 3 + "LAST"), ("72", "/ACC/X\n//Y"), ("77B", "/ORDERRES/DE//X"),
    ("75", "QUERY"), ("76", "/CNCL/"), ("77A", "A\n" * 19 + "B"), ("79", "A\n" * 34 + "B"),
    ("86", "X" * 65), ("121", "2f6e3c1a-9b4d-4e7a-8c21-5d0b7f3e9a16"),
]  # fmt: skip


@pytest.mark.parametrize(("tag", "value"), VALID, ids=[f"{t}:{v[:12]!r}" for t, v in VALID])
def test_valid_values_have_no_problem(tag: str, value: str) -> None:
    assert check_field(tag, value, "fin.103") == []
    assert parse_field(tag, value) is not None


INVALID = [
    # references
    ("20", "/REF", "T26"), ("20", "REF/", "T26"), ("21", "RE//F", "T26"),
    ("20", "12345678901234567", "T33"), ("20", "", "T34"),
    # dates, currencies, amounts
    ("32A", "240231EUR1,", "T50"), ("32A", "790229EUR1,", "T50"), ("32A", "2401EUR1,", "T50"),
    ("32A", "240131EUX1,", "T52"), ("33B", "US1,", "T52"), ("32A", "240131XAU1,", "C08"),
    ("32A", "240131EUR1000.50", "T40"), ("32A", "240131EUR,5", "T40"),
    ("32A", "240131EUR1,2,3", "T40"), ("32A", "240131EUR", "T40"), ("71F", "EUR1", "T40"),
    ("32A", "240131EUR1234567890123456,", "T43"), ("32A", "240131JPY1,5", "C03"),
    ("71G", "BHD1,1255", "C03"), ("36", "0.9", "T40"), ("36", "1234567890123,", "T43"),
    # codes
    ("23B", "CREDIT", "T36"), ("23B", "cred", "T36"), ("23B", "XXXX", "T36"),
    ("23E", "XXXX", "T47"), ("23E", "SDVA/INFO", "D97"), ("71A", "SHR", "T08"),
    ("71A", "DEBT", "T08"), ("26T", "K9", "T34"),
    # times
    ("13C", "/CLSTIME/2415+0100", "T38"), ("13C", "/CLSTIME/0960+0100", "T38"),
    ("13C", "/CLSTIME/0915*0100", "T15"), ("13C", "/CLSTIME/0915+1400", "T16"),
    ("13C", "/CLSTIME/0915+0160", "T16"), ("13D", "1402301515+1300", "T50"),
    ("11S", "099\n240101", "T34"), ("11S", "103\n241301", "T50"), ("11R", "FOO", "T34"),
    # statements
    ("28C", "123456", "T33"), ("60F", "X240301EUR1,", "T51"), ("62F", "C240230EUR1,", "T50"),
    ("64", "C240301XOF1,5", "C03"), ("61", "2403020302X12500,00NTRFREF", "T51"),
    ("61", "2403020302D12500,00XTRFREF", "T53"), ("61", "2403020302D1,SABCREF", "T53"),
    ("61", "2413020302D1,NTRFREF", "T50"), ("61", "2403020302D1.0NTRFREF", "T40"),
    # parties
    ("52A", "FOO", "T27"), ("57A", "DEUTXXFF", "T27"), ("58A", "/ACC\nDEUTDEFFX", "T27"),
    ("52A", "DEUTDEFFXAB", "T29"), ("25P", "ACC\nDEUTXXFF", "T27"), ("59A", "deutdeff", "T27"),
    ("56C", "123", "T34"), ("57D", "/ACC\nA\nB\nC\nD\nE", "T33"), ("50K", "N" * 36, "T33"),
    ("50F", "XXXX/US/123\n1/JOHN", "T55"), ("50F", "CUST/XX/123\n1/JOHN", "T73"),
    ("50F", "FOO\n1/JOHN", "T54"), ("50F", "/123\nJOHN", "T54"), ("50F", "/\n1/JOHN", "T54"),
    ("50F", "/123\n2/ADDR\n3/US/NY", "T56"), ("50F", "/123\n1/JOHN\n2/ADDR", "T56"),
    ("50F", "/123\n1/J\n3/US\n2/ADDR", "T56"), ("50F", "/123\n1/J\n4/19800101", "T56"),
    ("50F", "/123\n1/J\n9/X", "T56"), ("50F", "/123\n1/J\n4/19801301\n5/US/NYC", "T50"),
    ("50F", "/123\n1/J\n7/XX/123", "T73"), ("50F", "/123\n1/J\n3/X", "T73"),
    ("59F", "1/NAME\n4/X", "T56"), ("59F", "1/NAME\n3/XX", "T73"),
    ("59F", "/ACC\n1/NAME\nX/Y", "T34"),
    # narratives
    ("70", "A\nB\nC\nD\nE", "T33"), ("72", "X" * 36, "T33"), ("79", "A\n" * 35 + "B", "T33"),
    ("77B", "A\nB\nC\nD", "T33"), ("86", "X" * 66, "T33"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "value", "code"), INVALID, ids=[f"{c}-{t}:{v[:12]!r}" for t, v, c in INVALID]
)
def test_invalid_values_get_their_swift_code(tag: str, value: str, code: str) -> None:
    assert code in _codes(tag, value)


def test_instruction_codes_of_stp_are_the_short_list() -> None:
    assert _codes("23E", "HOLD", "fin.103.STP") == ["T48"]
    assert _codes("23E", "SDVA/X", "fin.103.STP") == ["D97"]
    assert _codes("23E", "REPA/X", "fin.103.STP") == []
    assert _codes("23E", "HOLD/CALLER", "fin.103") == []


def test_non_x_characters_are_left_to_the_character_set_check() -> None:
    assert _codes("86", "ÜBERWEISUNG ﾄｸﾃｲ") == []
    assert _codes("32A", "24é131EUR1,") == []  # mt.text_charset reports the é
    assert _codes("20", "ÄBC/") == ["T26"]  # other problems are still found
    party = parse_field("50K", "MÜLLER GMBH\nBERLIN")
    assert isinstance(party, Party) and party.name == "MÜLLER GMBH"


def test_problems_are_located_in_the_value() -> None:
    (problem,) = check_field("58A", "/ACC\nDEUTXXFF", "fin.202")
    assert (problem.subfield, problem.line, problem.column) == ("bic", 1, 0)
    (problem,) = check_field("50F", "/123\n1/J\n4/19801301\n5/US/NYC", "fin.103")
    assert problem.line == 2
    (problem,) = check_field("50F", "/123\n1/J\nJOHN", "fin.103")
    assert (problem.code, problem.line, problem.column) == ("T54", 2, 0)


def test_unknown_tags_are_not_checked() -> None:
    assert check_field("99Z", "anything") == []
    assert check_field("23G", "FOO") == []


# --------------------------------------------------------------------------- messages


def _message(*fields: tuple[str, str], stp: bool = False) -> MtMessage:
    b3 = "{3:{119:STP}}" if stp else ""
    body = "\n".join(f":{tag}:{value}" for tag, value in fields)
    parsed = parse_mt(
        f"{{1:F01DEUTDEFFAXXX0000000000}}{{2:I103BNPAFRPPXXXXN}}{b3}{{4:\n{body}\n-}}"
    )
    assert parsed.user_message is not None
    return parsed.user_message


def test_check_fields_builds_located_findings() -> None:
    message = _message(("20", "REF"), ("32A", "240230EUR1,"), ("99Z", "?"), ("71A", "XYZ"))
    findings = list(check_fields(message))
    assert [f.code for f in findings] == ["mt.field_format", "mt.field_format"]
    date, charges = findings
    assert date.location.mt_tag == ":32A:" and date.location.line == 3
    assert date.location.column == 6  # ":32A:" + 1
    assert date.context == {"swift_error": "T50", "format": "6!n3!a15d", "subfield": "date"}
    assert date.iso_reason == "CH16" and date.severity == "error"
    assert charges.context["swift_error"] == "T08" and charges.location.line == 5


def test_check_fields_reads_the_validation_flag() -> None:
    assert [f.context["swift_error"] for f in check_fields(_message(("23E", "HOLD")))] == []
    stp = check_fields(_message(("23E", "HOLD"), stp=True))
    assert [f.context["swift_error"] for f in stp] == ["T48"]


def test_check_fields_without_text_block() -> None:
    parsed = parse_mt("{1:F01DEUTDEFFAXXX0000000000}{2:I103BNPAFRPPXXXXN}")
    assert parsed.user_message is not None
    assert list(check_fields(parsed.user_message)) == []


VALID_FILES = sorted((FIELD_FIXTURES / "valid").glob("*.txt")) + sorted(
    FIXTURES.glob("fin.*/valid/*.txt")
)
INVALID_FILES = sorted((FIELD_FIXTURES / "invalid").glob("*.txt"))


@pytest.mark.parametrize("path", VALID_FILES, ids=[p.stem for p in VALID_FILES])
def test_valid_fixtures_have_no_field_finding(path: Path) -> None:
    message = parse_mt(path.read_text(encoding="utf-8")).user_message
    assert message is not None
    assert list(check_fields(message)) == []
    assert message.text is not None
    for field in message.text.fields:
        if field.tag in FIELD_SPECS:
            parsed = parse_field(field.tag, field.value)
            assert parsed is not None, field.tag
            assert render_field(field.tag, parsed) == field.value


@pytest.mark.parametrize("path", INVALID_FILES, ids=[p.stem for p in INVALID_FILES])
def test_invalid_fixtures_get_the_code_they_are_named_after(path: Path) -> None:
    message = parse_mt(path.read_text(encoding="utf-8")).user_message
    assert message is not None
    assert [f.context["swift_error"] for f in check_fields(message)] == [path.stem]


#: Findings on the prowide-core samples, each checked by hand against the handbook.
SAMPLE_FINDINGS = {
    # /RNCTIME/123123123+0000: nine digits where 13C has HHMM, sign, HHMM
    "prowide-core__MT103ParserTest_test103_4.txt": [(":13C:", "T34")],
    # 11S / 11R "FOO": neither an MT number nor a date
    "prowide-core__MTn9nParserTest_test192_1.txt": [(":11S:", "T34")],
    "prowide-core__MTn9nParserTest_test196_1.txt": [(":11R:", "T34"), (":52A:", "T27")],
    # field 79 has 38 lines; 35*50x allows 35
    "prowide-core__MT199ParserTest_s.txt": [(":79:", "T33")],
    # 53A BIC FOOOOOOO: country code OO
    "prowide-core__MT202ParserTest_test202_1.txt": [(":53A:", "T27")],
    # 61 value date 345454
    "prowide-core__JapaneseCharactersTest_testMTFromString.txt": [(":61:", "T50")],
    # XOF has no minor unit: 2644893271,0 has one decimal
    "prowide-core__MT940ParserTest_test940_1.txt": [(":60F:", "C03"), (":62F:", "C03")],
}


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt not present")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_real_samples(path: Path) -> None:
    message = parse_mt(path.read_bytes()).user_message
    assert message is not None
    found = [(f.location.mt_tag, f.context["swift_error"]) for f in check_fields(message)]
    assert found == SAMPLE_FINDINGS.get(path.name, [])


def test_checking_a_typical_mt103_is_fast() -> None:
    path = FIELD_FIXTURES / "valid" / "fin.103.full.txt"
    message = parse_mt(path.read_text(encoding="utf-8")).user_message
    assert message is not None
    runs = 200
    seconds = min(timeit.repeat(lambda: list(check_fields(message)), number=runs, repeat=3))
    assert seconds / runs < 200e-6


_FUZZ = st.text(alphabet=st.sampled_from([*sorted(X_CHARACTERS), "\n", "é", "\r", "{"]))


@settings(max_examples=300)
@given(
    tag=st.sampled_from(sorted(FIELD_SPECS)),
    value=_FUZZ | st.text(max_size=200),
    message_id=st.sampled_from([None, "fin.103", "fin.103.STP", "fin.940"]),
)
def test_fields_never_raise(tag: str, value: str, message_id: str | None) -> None:
    for problem in check_field(tag, value, message_id):
        assert problem.code[0] in "TCDE" and problem.message
    parse_field(tag, value)
    block = TextBlock((Field(tag, value, 1),))
    list(check_fields(MtMessage((block,))))


# --------------------------------------------------------------------------- parse/render


def test_parse_typed_values() -> None:
    assert parse_field("32A", "261126EUR1000,50") == Amount("EUR", "1000.50", "2026-11-26")
    assert parse_field("33B", "USD250000,") == Amount("USD", "250000")
    assert parse_field("36", "0,90") == Rate("0.90")
    assert parse_field("23E", "TELI/3226553478") == Code("TELI", "3226553478")
    assert parse_field("60F", "C991231EUR1,") == Balance("C", "1999-12-31", "EUR", "1")
    assert parse_field("20", "REF") == Text("REF")
    assert parse_field("32A", "261126EUR1.5") is None
    assert parse_field("32A", "261126EUR1,2,3") is None


def test_parse_statement_line() -> None:
    line = parse_field("61", "2501021231D12500,00NTRFINV//BNP\nDETAILS")
    assert line == StatementLine(
        value_date="2025-01-02",
        mark="D",
        amount="12500.00",
        transaction_type="NTRF",
        reference="INV",
        entry_date="2024-12-31",
        bank_reference="BNP",
        details="DETAILS",
    )
    funds = parse_field("61", "0710241024DF4105400,0FMSC1234567890")
    assert isinstance(funds, StatementLine)
    assert (funds.mark, funds.funds_code, funds.entry_date) == ("D", "F", "2007-10-24")


def test_parse_parties() -> None:
    inst = parse_field("57A", "//FW123456789\nDEUTDEFF")
    assert inst == Party(account="/FW123456789", bic="DEUTDEFF")
    marked = parse_field("52A", "/D/12345\nDEUTDEFFXXX")
    assert marked == Party(account="12345", dc_mark="D", bic="DEUTDEFFXXX")
    customer = parse_field("59", "/DE89370400440532013000\nMUELLER GMBH\nBERLIN")
    assert isinstance(customer, Party)
    assert (customer.account, customer.name, customer.address_lines) == (
        "DE89370400440532013000",
        "MUELLER GMBH",
        ("BERLIN",),
    )
    structured = parse_field("50F", "/12345\n1/JOHN\n1/DOE\n3/US/NEW YORK\n3/NY")
    assert isinstance(structured, Party)
    assert structured.structured[0] == ("1", "JOHN") and structured.name_address == ()
    assert (structured.name, structured.address_lines) == ("JOHN DOE", ())
    assert (structured.country, structured.town) == ("US", "NEW YORK NY")
    ident = parse_field("50F", "CUST/DE/ISSUER/42\n1/JOHN")
    assert isinstance(ident, Party) and ident.party_identifier == "CUST/DE/ISSUER/42"
    assert ident.account is None
    located = parse_field("57B", "/D/123\nFRANKFURT")
    assert located == Party(account="123", dc_mark="D", location="FRANKFURT")


def test_render_refuses_what_field_text_cannot_carry() -> None:
    with pytest.raises(ValueError, match="no field format"):
        parse_field("99Z", "x")
    with pytest.raises(ValueError, match="no field format"):
        render_field("99Z", Text("x"))
    with pytest.raises(TypeError, match="takes Amount"):
        render_field("32A", Text("x"))
    with pytest.raises(ValueError, match="1980-2079"):
        render_field("32A", Amount("EUR", "1", "2080-01-01"))
    with pytest.raises(ValueError, match="not a decimal"):
        render_field("33B", Amount("EUR", "1,5"))


def test_render_typed_values() -> None:
    assert render_field("32A", Amount("EUR", "1000", "2026-11-26")) == "261126EUR1000,"
    assert render_field("33B", Amount("EUR", "0.5")) == "EUR0,5"
    assert render_field("71A", Code("SHA")) == "SHA"
    assert render_field("59F", Party(account="DE89", structured=(("1", "A"), ("3", "DE")))) == (
        "/DE89\n1/A\n3/DE"
    )
    assert render_field("50F", Party(party_identifier="NIDN/DE/1", structured=(("1", "A"),))) == (
        "NIDN/DE/1\n1/A"
    )
    assert render_field("121", Text("2f6e3c1a-9b4d-4e7a-8c21-5d0b7f3e9a16")).count("-") == 4


_DECIMAL_TAGS = {t for t, s in FIELD_SPECS.items() if "d" in s.notation}
_TEXT_TAGS = sorted(t for t, s in FIELD_SPECS.items() if "d" not in s.notation)


@settings(
    max_examples=20, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(data=st.data())
@pytest.mark.parametrize("tag", _TEXT_TAGS)
def test_render_parse_round_trip(tag: str, data: st.DataObject) -> None:
    matcher = FIELD_SPECS[tag].matcher
    value = data.draw(st.from_regex(matcher.regex, fullmatch=True).filter(matcher.match))
    parsed = parse_field(tag, value)
    assert parsed is not None
    assert render_field(tag, parsed) == value


_AMOUNTS = st.from_regex(r"[0-9]{1,12}(\.[0-9]{1,2})?", fullmatch=True)
_DATES = st.dates(date(1980, 1, 1), date(2079, 12, 31))
_CCY = st.sampled_from(sorted(CURRENCIES))
_REF = st.from_regex(r"[A-Z0-9]{1,16}", fullmatch=True)


@st.composite
def _statement_lines(draw: st.DrawFn) -> StatementLine:
    value = draw(st.dates(date(1980, 2, 1), date(2079, 11, 30)))
    entry = draw(st.none() | st.integers(-20, 20).map(lambda d: value + timedelta(days=d)))
    kind = draw(st.sampled_from(["S", "N", "F"]))
    code = draw(st.from_regex(r"[0-9]{3}" if kind == "S" else r"[A-Z0-9]{3}", fullmatch=True))
    return StatementLine(
        value_date=value.isoformat(),
        mark=draw(st.sampled_from(["C", "D", "RC", "RD"])),
        amount=draw(_AMOUNTS),
        transaction_type=kind + code,
        reference=draw(_REF),
        entry_date=entry.isoformat() if entry else None,
        funds_code=draw(st.none() | st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        bank_reference=draw(st.none() | _REF),
        details=draw(st.none() | st.from_regex(r"[A-Z0-9 /]{1,34}", fullmatch=True)),
    )


_TYPED: dict[str, st.SearchStrategy[FieldValue]] = {
    "32A": st.builds(Amount, _CCY, _AMOUNTS, _DATES.map(date.isoformat)),
    "32B": st.builds(Amount, _CCY, _AMOUNTS),
    "33B": st.builds(Amount, _CCY, _AMOUNTS),
    "71F": st.builds(Amount, _CCY, _AMOUNTS),
    "71G": st.builds(Amount, _CCY, _AMOUNTS),
    "36": st.builds(Rate, st.from_regex(r"[0-9]{1,5}(\.[0-9]{1,5})?", fullmatch=True)),
    **{
        tag: st.builds(Balance, st.sampled_from("CD"), _DATES.map(date.isoformat), _CCY, _AMOUNTS)
        for tag in ("60F", "60M", "62F", "62M", "64", "65")
    },
    "61": _statement_lines(),
}


@settings(max_examples=60)
@given(data=st.data())
@pytest.mark.parametrize("tag", sorted(_TYPED))
def test_typed_round_trip(tag: str, data: st.DataObject) -> None:
    value = data.draw(_TYPED[tag])
    text = render_field(tag, value)
    # random currencies: only the currency's decimals (C03) or a commodity (C08) may fail
    assert {p.code for p in check_field(tag, text)} <= {"C03", "C08"}
    assert parse_field(tag, text) == value
    assert render_field(tag, value) == text


def test_every_decimal_field_has_a_typed_strategy() -> None:
    assert set(_TYPED) == _DECIMAL_TAGS
