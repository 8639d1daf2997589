"""SWIFT FIN parsing, rendering, detection and structure checks: gateway.mt / gateway.mt_fields."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.messages import MessageId
from gateway.mt import (
    MAX_FINDINGS,
    AppHeader,
    BasicHeader,
    Field,
    MtMessage,
    ParsedMt,
    TagBlock,
    TagValue,
    TextBlock,
    detect_mt,
    parse_mt,
    parse_mt_batch,
    render_mt,
    render_mt_batch,
    validate_mt_structure,
)
from gateway.mt_fields import MAX_CHARSET_FINDINGS, MAX_TEXT_LENGTH, X_CHARACTERS
from gateway.report import CATALOGUE, Severity

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mt"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "mt"

VALID = sorted(FIXTURES.glob("fin.*/valid/*.txt"))
INVALID = sorted((FIXTURES / "invalid").glob("*.txt"))
SAMPLE_FILES = sorted(SAMPLES.rglob("*.txt")) if SAMPLES.is_dir() else []


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _codes(parsed: ParsedMt) -> list[str]:
    return [f.code for f in validate_mt_structure(parsed)]


def _ids(paths: list[Path]) -> list[str]:
    return [
        f"{p.parent.parent.name}/{p.stem}" if p.parent.name == "valid" else p.stem for p in paths
    ]


# --------------------------------------------------------------------------- own fixtures


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_valid_fixture_parses_clean_and_round_trips(path: Path, eol: str) -> None:
    text = _read(path).replace("\n", eol)
    expected = MessageId(path.parent.parent.name)
    parsed = parse_mt(text)
    assert validate_mt_structure(parsed) == []
    assert parsed.message_id == expected
    assert detect_mt(text) == expected
    assert detect_mt(text.encode()) == expected
    assert parsed.eol == eol
    assert render_mt(parsed) == text
    assert parsed.unparsed == []


@pytest.mark.parametrize("path", INVALID, ids=_ids(INVALID))
def test_invalid_fixture_yields_the_code_it_is_named_after(path: Path) -> None:
    text = _read(path)
    parsed = parse_mt(text)
    assert path.stem in CATALOGUE
    assert path.stem in _codes(parsed)
    assert render_mt(parsed) == text


def test_mt103_fields_in_order_with_lines_and_multiline_values() -> None:
    msg = parse_mt(_read(FIXTURES / "fin.103/valid/customer_transfer.txt")).user_message
    assert msg is not None and msg.text is not None
    assert [f.tag for f in msg.text.fields] == [
        "20", "23B", "32A", "50K", "52A", "57A", "59", "70", "71A",
    ]  # fmt: skip
    f50 = msg.text.get("50K")
    assert f50 == Field(
        "50K",
        "/DE44500105175407324931\nMUSTERMANN MASCHINENBAU GMBH\nHAUPTSTRASSE 12\n"
        "60311 FRANKFURT AM MAIN",
        5,
    )
    assert (f50.number, f50.option, f50.location) == ("50", "K", ":50K:")
    assert msg.text.get("59") is not None and msg.text.get("59").option == ""  # type: ignore[union-attr]
    assert msg.text.get("32A").line == 4  # type: ignore[union-attr]
    assert msg.text.get_all("52A")[0].value == "DEUTDEFFXXX"


def test_headers_input_form() -> None:
    msg = parse_mt(_read(FIXTURES / "fin.103.STP/valid/stp_with_uetr.txt")).user_message
    assert msg is not None
    assert msg.basic_header == BasicHeader("F", "01", "CHASUS33AXXX", "0000", "000001", line=1)
    b2 = msg.app_header
    assert b2 is not None and b2.valid
    assert (b2.direction, b2.message_type, b2.receiver) == ("I", "103", "DEUTDEFFXXXX")
    assert (b2.priority, b2.delivery_monitoring, b2.obsolescence) == ("U", "3", "003")
    assert msg.validation_flag == "STP"
    assert msg.uetr == "3e5a1f0c-8d2b-4c7e-9a41-b6f2d0e8c157"
    assert msg.user_header is not None
    assert [i.tag for i in msg.user_header.items] == ["108", "119", "121"]


def test_headers_output_form_and_trailer() -> None:
    msg = parse_mt(_read(FIXTURES / "fin.103/valid/output_form_with_trailer.txt")).user_message
    assert msg is not None and msg.app_header is not None
    b2 = msg.app_header
    assert (b2.direction, b2.message_type, b2.input_time) == ("O", "103", "1305")
    assert (b2.mir_date, b2.sender, b2.mir_session, b2.mir_sequence) == (
        "240131", "DEUTDEFFAXXX", "0123", "456789",
    )  # fmt: skip
    assert b2.mir == "240131DEUTDEFFAXXX0123456789"
    assert (b2.output_date, b2.output_time, b2.priority) == ("240131", "1306", "N")
    assert msg.trailer is not None
    assert [(i.tag, i.value) for i in msg.trailer.items] == [
        ("MAC", "1A2B3C4D"), ("CHK", "0F1E2D3C4B5A"),
    ]  # fmt: skip


def test_mt202cov_keeps_sequence_b_fields_in_order() -> None:
    parsed = parse_mt(_read(FIXTURES / "fin.202.COV/valid/cover_sequence_b.txt"))
    assert parsed.message_id == MessageId("fin.202.COV")
    text = parsed.user_message.text  # type: ignore[union-attr]
    assert text is not None
    tags = [f.tag for f in text.fields]
    assert tags[tags.index("58A") + 1 :] == ["50K", "52A", "57A", "59", "70", "33B"]
    assert len(text.get_all("52A")) == 2


def test_rje_batch_with_ack() -> None:
    text = _read(FIXTURES / "batch/ack_rje.txt")
    units = parse_mt_batch(text)
    assert [str(u.message_id) for u in units] == ["fin.103", "fin.202.COV", "fin.940"]
    assert render_mt_batch(units) == text
    first = units[0]
    assert len(first.messages) == 2
    ack, user = first.messages
    assert ack.is_service_message and not ack.is_user_message
    assert first.user_message is user and first.service_messages == (ack,)
    assert isinstance(ack.block("4"), TagBlock)
    assert ack.block("4").get("451") == "0"  # type: ignore[union-attr]
    assert user.uetr == "9f2d7c4e-3b1a-4e8f-a6d2-1c5b7e9f0a34"
    assert [validate_mt_structure(u) for u in units] == [[], [], []]
    assert units[1].line == 10  # line numbers refer to the whole batch
    assert units[1].user_message.text.fields[0].line == 11  # type: ignore[union-attr]
    assert detect_mt(text) == MessageId("fin.103")


def test_batch_given_to_parse_mt_keeps_everything_and_says_so() -> None:
    text = _read(FIXTURES / "batch/ack_rje.txt")
    parsed = parse_mt(text)
    assert render_mt(parsed) == text
    outside = [f for f in validate_mt_structure(parsed) if f.code == "mt.text_outside_blocks"]
    assert len(outside) == 2 and "parse_mt_batch" in outside[0].message


def test_trailing_separator_gives_an_empty_unit() -> None:
    text = _read(FIXTURES / "fin.940/valid/statement.txt") + "\n$\n"
    units = parse_mt_batch(text)
    assert len(units) == 2 and units[1].messages == ()
    assert render_mt_batch(units) == text


def test_unparsed_text_is_kept_and_listed() -> None:
    text = _read(FIXTURES / "invalid/mt.text_outside_blocks.txt")
    parsed = parse_mt(text)
    assert [(u.text, u.line, u.where) for u in parsed.unparsed] == [
        ("GARBAGE", 1, "outside blocks")
    ]
    stray = parse_mt(_read(FIXTURES / "invalid/mt.text_field_line.txt"))
    assert [(u.text, u.line, u.where) for u in stray.unparsed] == [("STRAY LINE", 2, "{4:}")]
    malformed = parse_mt(_read(FIXTURES / "invalid/mt.block_malformed.txt"))
    assert malformed.unparsed[0].text == "{3:108:NOBRACES}"


def test_findings_carry_location() -> None:
    parsed = parse_mt(_read(FIXTURES / "invalid/mt.text_charset.txt"))
    (charset,) = validate_mt_structure(parsed)
    assert charset.location.mt_tag == ":79:"
    assert (charset.location.line, charset.location.column) == (3, 19)
    assert charset.context["characters"] == "%&@"
    assert charset.severity is Severity.ERROR and charset.iso_reason == "FF01"
    b2 = validate_mt_structure(parse_mt(_read(FIXTURES / "invalid/mt.block2_malformed.txt")))
    assert [(f.code, f.location.mt_tag, f.location.line) for f in b2] == [
        ("mt.block2_malformed", "{2:}", 1)
    ]


def test_malformed_block2_still_names_the_message() -> None:
    parsed = parse_mt("{1:F01CHASUS33AXXX1234567890}{2:O199AAAAAAAAAAAAN}{4:\n:20:X\n-}")
    b2 = parsed.user_message.app_header  # type: ignore[union-attr]
    assert b2 is not None and not b2.valid and b2.raw == "O199AAAAAAAAAAAAN"
    assert (b2.direction, b2.message_type) == ("O", "199")
    assert parsed.message_id == MessageId("fin.199")


def test_text_block_length_limit_counts_crlf() -> None:
    head = "{1:F01DEUTDEFFAXXX0123456789}{2:I199BNPAFRPPXXXXN}{4:\n"

    def message(total: int) -> str:
        # content = "\r\n:79:" + x + "\r\n-": 9 characters besides x when counted with CrLf
        return head + ":79:" + "A" * (total - 9) + "\n-}"

    assert len(parse_mt(message(MAX_TEXT_LENGTH)).user_message.text.content()) == MAX_TEXT_LENGTH  # type: ignore[union-attr]
    assert "mt.text_too_long" not in _codes(parse_mt(message(MAX_TEXT_LENGTH)))
    assert "mt.text_too_long" in _codes(parse_mt(message(MAX_TEXT_LENGTH + 1)))


def test_x_character_set() -> None:
    assert "".join(sorted(X_CHARACTERS)) == (
        " '()+,-./0123456789:?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    )
    for code in range(0x250):
        ch = chr(code)
        if ch in "\r\n":
            continue
        text = "{1:F01DEUTDEFFAXXX0123456789}{2:I199BNPAFRPPXXXXN}{4:\n:79:A" + ch + "\n-}"
        has_finding = "mt.text_charset" in _codes(parse_mt(text))
        assert has_finding == (ch not in X_CHARACTERS), repr(ch)


def test_too_many_findings_are_capped() -> None:
    found = validate_mt_structure(parse_mt("{1:F01DEUTDEFFAXXX0123456789}" + "{3:}" * 2000))
    assert len(found) == MAX_FINDINGS + 1
    assert found[-1].code == "mt.too_many_findings"


def test_charset_findings_are_capped() -> None:
    lines = "\n".join(f"LINE {i} @" for i in range(30))
    text = "{1:F01DEUTDEFFAXXX0123456789}{2:I199BNPAFRPPXXXXN}{4:\n:79:" + lines + "\n-}"
    found = [f for f in validate_mt_structure(parse_mt(text)) if f.code == "mt.text_charset"]
    assert len(found) == MAX_CHARSET_FINDINGS + 1
    assert "20 more line(s)" in found[-1].message


def test_mixed_line_endings_are_normalised_and_reported() -> None:
    text = "{1:F01DEUTDEFFAXXX0123456789}{2:I199BNPAFRPPXXXXN}{4:\r\n:20:A\n:79:B\r\n-}"
    parsed = parse_mt(text)
    assert parsed.mixed_line_endings and parsed.eol == "\r\n"
    assert "mt.mixed_line_endings" in _codes(parsed)
    assert render_mt(parsed) == text.replace("\r\n", "\n").replace("\n", "\r\n")


def test_bytes_input() -> None:
    text = _read(FIXTURES / "fin.103/valid/customer_transfer.txt")
    assert render_mt(parse_mt(text.encode())) == text
    latin = parse_mt(text.replace("DURAND", "DURÄND").encode("latin-1"))
    assert latin.encoding == "latin-1"
    assert {"mt.encoding", "mt.text_charset"} <= set(_codes(latin))


def test_leading_and_trailing_whitespace_is_tolerated() -> None:
    text = "\r\n  " + _read(FIXTURES / "fin.940/valid/statement.txt") + "\r\n\r\n"
    parsed = parse_mt(text)
    assert validate_mt_structure(parsed) == [] and render_mt(parsed) == text


def test_detect_mt_edge_cases() -> None:
    assert detect_mt("") is None
    assert detect_mt("<Document/>") is None
    assert detect_mt("{1:F21DEUTDEFFAXXX0123456789}{4:{177:2401311200}{451:0}}") is None
    assert detect_mt("{2:I900DEUTDEFFXXXXN}") == MessageId("fin.900")
    # a block 3 belonging to the next message is not read
    two = "{1:F01A}{2:I202DEUTDEFFXXXXN}{4:\n:20:X\n-}{1:F01B}{2:I103X}{3:{119:STP}}"
    assert detect_mt(two) == MessageId("fin.202")


def test_built_message_renders_and_parses_back() -> None:
    msg = MtMessage(
        (
            BasicHeader("F", "01", "DEUTDEFFAXXX", "0001", "000042"),
            AppHeader("I", "910", receiver="BNPAFRPPXXXX", priority="N"),
            TagBlock("3", (TagValue("121", "9f2d7c4e-3b1a-4e8f-a6d2-1c5b7e9f0a34"),)),
            TextBlock((Field("20", "C11126A1378"), Field("50K", "ACME\nMAIN STREET 1"))),
        )
    )
    text = render_mt(msg)
    assert text == (
        "{1:F01DEUTDEFFAXXX0001000042}{2:I910BNPAFRPPXXXXN}"
        "{3:{121:9f2d7c4e-3b1a-4e8f-a6d2-1c5b7e9f0a34}}"
        "{4:\r\n:20:C11126A1378\r\n:50K:ACME\r\nMAIN STREET 1\r\n-}"
    )
    parsed = parse_mt(text)
    assert validate_mt_structure(parsed) == []
    assert parsed.message_id == MessageId("fin.910")
    assert [(f.tag, f.value) for f in parsed.user_message.text.fields] == [  # type: ignore[union-attr]
        ("20", "C11126A1378"),
        ("50K", "ACME\nMAIN STREET 1"),
    ]
    assert msg.text is not None
    changed = replace(msg.text, fields=(Field("20", "NEWREF"),))
    assert ":20:NEWREF\n-}" in render_mt(MtMessage((*msg.blocks[:3], changed)), eol="\n")


# --------------------------------------------------------------------------- third-party samples


def _sample_id(path: Path) -> MessageId:
    m = re.fullmatch(r"MT(\d{3})([A-Z]*)", path.parent.name)
    assert m, path.parent.name
    return MessageId(f"fin.{m.group(1)}" + (f".{m.group(2)}" if m.group(2) else ""))


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt is absent")
@pytest.mark.parametrize(
    "path", SAMPLE_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in SAMPLE_FILES]
)
def test_sample_parses_detects_and_round_trips(path: Path) -> None:
    text = _read(path)
    parsed = parse_mt(text)
    found = validate_mt_structure(parsed)
    assert detect_mt(text) == _sample_id(path)
    assert parsed.message_id == _sample_id(path)
    assert render_mt(parsed) == text
    crlf = text.replace("\n", "\r\n")
    assert render_mt(parse_mt(crlf)) == crlf
    if "MalformedBlock2" in path.name:
        assert "mt.block2_malformed" in [f.code for f in found]
    else:
        structural = {"mt.block_missing", "mt.block1_malformed", "mt.block2_malformed"}
        assert structural.isdisjoint(f.code for f in found)


# --------------------------------------------------------------------------- properties

_NOISY = st.text(alphabet=st.sampled_from("{}:$-\r\n 1234SAFIO" + "ABC/?é\t"), max_size=200)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_NOISY, st.text(max_size=200)))
def test_parse_never_raises_and_keeps_everything(text: str) -> None:
    parsed = parse_mt(text)
    validate_mt_structure(parsed)
    if not parsed.mixed_line_endings:
        assert render_mt(parsed) == text
    units = parse_mt_batch(text)
    for unit in units:
        validate_mt_structure(unit)
    if not any(u.mixed_line_endings for u in units):
        assert render_mt_batch(units) == text
    detect_mt(text)


_X = "".join(sorted(X_CHARACTERS))
_BIC_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ADDRESS = st.text(alphabet=_BIC_CHARS, min_size=12, max_size=12)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


_LINE = st.text(alphabet=_X, max_size=35).filter(lambda s: not s.startswith((":", "-")))
_FIELD = st.builds(
    Field,
    st.from_regex(r"[0-9]{2}[A-Z]?", fullmatch=True),
    st.lists(_LINE, min_size=1, max_size=4).map("\n".join),
)
_INPUT_B2 = st.builds(
    lambda mt, rcv, prio, mon, obs: AppHeader(
        "I", mt, receiver=rcv, priority=prio, delivery_monitoring=mon, obsolescence=obs
    ),
    _digits(3),
    _ADDRESS,
    st.sampled_from(["", "S", "U", "N"]),
    st.sampled_from(["", "1", "2", "3"]),
    st.sampled_from(["", "003", "020"]),
).filter(lambda b: not (b.obsolescence and not (b.priority and b.delivery_monitoring)))


def _output_b2(mt: str, stamp: str, address: str, session: str, seq: str, prio: str) -> AppHeader:
    # stamp: input time HHMM, MIR date, output date, output time
    times = (stamp[:4], stamp[4:10], stamp[10:16], stamp[16:])
    return AppHeader(
        "O", mt, input_time=times[0], mir_date=times[1], sender=address, mir_session=session,
        mir_sequence=seq, output_date=times[2], output_time=times[3], priority=prio,
    )  # fmt: skip


_OUTPUT_B2 = st.builds(
    _output_b2,
    _digits(3),
    _digits(20),
    _ADDRESS,
    _digits(4),
    _digits(6),
    st.sampled_from(["", "N", "U"]),
)
_ITEMS = st.lists(
    st.builds(
        TagValue,
        st.sampled_from(["103", "108", "111", "113", "119", "121", "433"]),
        st.text(alphabet=_X.replace(":", ""), max_size=36),
    ),
    max_size=4,
)


@st.composite
def _messages(draw: st.DrawFn) -> tuple[MtMessage, str]:
    blocks: list[object] = [
        BasicHeader("F", "01", draw(_ADDRESS), draw(_digits(4)), draw(_digits(6))),
        draw(st.one_of(_INPUT_B2, _OUTPUT_B2)),
    ]
    if items := draw(_ITEMS):
        blocks.append(TagBlock("3", tuple(items)))
    blocks.append(TextBlock(tuple(draw(st.lists(_FIELD, min_size=1, max_size=8)))))
    if draw(st.booleans()):
        blocks.append(TagBlock("5", (TagValue("CHK", draw(_digits(12))),)))
    return MtMessage(tuple(blocks)), draw(st.sampled_from(["\r\n", "\n"]))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(_messages())
def test_generated_messages_round_trip(case: tuple[MtMessage, str]) -> None:
    msg, eol = case
    text = render_mt(msg, eol=eol)
    parsed = parse_mt(text)
    assert render_mt(parsed) == text
    assert validate_mt_structure(parsed) == []
    user = parsed.user_message
    assert user is not None and user.text is not None and msg.text is not None
    assert [(f.tag, f.value) for f in user.text.fields] == [
        (f.tag, f.value) for f in msg.text.fields
    ]
    assert user.app_header == replace(msg.app_header, line=1)  # type: ignore[type-var]
    assert detect_mt(text) == parsed.message_id


_ACK = "{1:F21DEUTDEFFAXXX0123456789}{4:{177:2401311200}{451:0}}"


@settings(max_examples=50, deadline=None)
@given(st.lists(_messages(), min_size=1, max_size=3), st.booleans())
def test_generated_batches_round_trip(cases: list[tuple[MtMessage, str]], ack: bool) -> None:
    eol = cases[0][1]
    entries = [(_ACK if ack else "") + render_mt(msg, eol=eol) for msg, _ in cases]
    text = f"${eol}".join(entries) + eol
    units = parse_mt_batch(text)
    assert render_mt_batch(units) == text
    assert [u.message_id for u in units] == [m.message_id for m, _ in cases]
    assert all(validate_mt_structure(u) == [] for u in units)
    assert all(len(u.service_messages) == int(ack) for u in units)
