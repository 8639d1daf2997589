"""The parts of a SWIFT FIN message as transmitted: header blocks, tag items, text fields.

Follows SWIFT *FIN Service Description* (block 1 basic header, block 2 application
header in input and output form) and *Standards MT General Information* (text block
layout, field tags ``2!n[1!a]``, the "X" character set, the 10,000-character limit).
:mod:`gateway.mt` assembles these parts into messages; this module owns each part:

* :class:`BasicHeader` (block 1), :class:`AppHeader` (block 2): parsed fields, or the
  content as received (``raw``) when it is not in the standard form;
* :class:`TagBlock` of :class:`TagValue` items: blocks 3, 5, S and a service message's
  block 4; :class:`RawBlock`: a block kept as plain text;
* :class:`Field` and :class:`TextBlock`: block 4 of a user message as an ordered field
  list (tag with letter option ``"32A"``, value lines joined by ``"\\n"``, line number);
  lines the parser cannot place in a field are kept in ``preamble``;
* :func:`check_text_block`: text block framing, lines outside fields, reserved line
  starts, the X character set and the length limit, as findings;
* :func:`mt_finding`: findings located by MT tag (codes ``mt.*`` in the catalogue).

Every part renders back to the text it was parsed from (``render``); each keeps the
text found before it (``before``) so that nothing is dropped. Nothing here raises on
message content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gateway.report import CATALOGUE, Finding, Location

__all__ = [
    "MAX_CHARSET_FINDINGS",
    "MAX_TEXT_LENGTH",
    "X_CHARACTERS",
    "AppHeader",
    "BasicHeader",
    "Block",
    "Field",
    "RawBlock",
    "TagBlock",
    "TagValue",
    "TextBlock",
    "check_text_block",
    "mt_finding",
    "parse_text_block",
]

#: FIN's limit on the text block of a user message, counted with CrLf line breaks
#: from the character after ``{4:`` up to and including the closing ``-``.
MAX_TEXT_LENGTH = 10_000
#: Character-set findings reported per text block (the rest are counted in the last one).
MAX_CHARSET_FINDINGS = 10
#: The SWIFT "X" character set, without the CrLf line break.
X_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)

_NOT_X = re.compile(r"[^a-zA-Z0-9/\-?:().,'+ ]")


def mt_finding(
    code: str,
    message: str,
    line: int | None = None,
    mt_tag: str | None = None,
    *,
    column: int | None = None,
    context: dict[str, Any] | None = None,
) -> Finding:
    """A catalogued finding located by MT tag or block (``":32A:"``, ``"{2:}"``)."""
    spec = CATALOGUE[code]
    return Finding(
        code=code,
        severity=spec.severity,
        layer=spec.layer,
        location=Location(line=line, column=column, mt_tag=mt_tag),
        message=message,
        iso_reason=spec.iso_reason,
        context=context or {},
    )


_B1 = re.compile(r"([FAL])([0-9]{2})([A-Z0-9]{12})([0-9]{4})([0-9]{6})\Z")
_B2_IN = re.compile(r"I([0-9]{3})([A-Z0-9]{12})([SUN]?)([123]?)([0-9]{3})?\Z")
_B2_OUT = re.compile(
    r"O([0-9]{3})([0-9]{4})([0-9]{6})([A-Z0-9]{12})([0-9]{4})([0-9]{6})"
    r"([0-9]{6})([0-9]{4})([SUN]?)\Z"
)
_B2_LOOSE = re.compile(r"([IO]?)([0-9]{3})")


@dataclass(frozen=True, slots=True)
class BasicHeader:
    """Block 1, ``{1:F01BANKBEBBAXXX0000000000}``.

    ``app_id`` F (FIN), A (GPA) or L (login); ``service_id`` 01 for user and system
    messages, 21 for ACK/NAK; ``lt_address`` the 12-character logical terminal
    (BIC8, terminal code, branch); ``session`` 4 and ``sequence`` 6 digits.
    ``raw`` holds the content as received when it is not in that form (then only
    ``app_id``/``service_id`` are read, when they can be).
    """

    app_id: str = "F"
    service_id: str = "01"
    lt_address: str = ""
    session: str = "0000"
    sequence: str = "000000"
    raw: str | None = None
    closed: bool = True
    line: int = 0
    before: str = ""
    name: str = "1"

    @classmethod
    def parse(
        cls, content: str, *, closed: bool = True, line: int = 0, before: str = ""
    ) -> BasicHeader:
        if match := _B1.match(content):
            app, service, address, session, sequence = match.groups()
            return cls(app, service, address, session, sequence, None, closed, line, before)
        loose = re.match(r"([FAL])([0-9]{2})", content)
        app, service = loose.groups() if loose else ("", "")
        return cls(app, service, "", "", "", content, closed, line, before)

    @property
    def valid(self) -> bool:
        return self.raw is None

    def content(self) -> str:
        if self.raw is not None:
            return self.raw
        return self.app_id + self.service_id + self.lt_address + self.session + self.sequence

    def render(self, eol: str = "\r\n") -> str:
        return "{1:" + self.content() + ("}" if self.closed else "")


@dataclass(frozen=True, slots=True)
class AppHeader:
    """Block 2 in the input form ``I103BANKDEFFXXXXN`` or the output form
    ``O1031200240131BANKBEBBAXXX12345678902401311201N``.

    Input: ``receiver`` (12-character LT address), optional ``priority`` (S/U/N),
    ``delivery_monitoring`` (1/2/3) and ``obsolescence`` (3 digits).
    Output: ``input_time`` (HHMM), the message input reference (``mir_date``,
    ``sender`` LT address, ``mir_session``, ``mir_sequence``), ``output_date``,
    ``output_time`` and optional ``priority``. ``raw`` holds malformed content
    (then ``direction``/``message_type`` are read when they can be).
    """

    direction: str = "I"
    message_type: str = ""
    receiver: str = ""
    priority: str = ""
    delivery_monitoring: str = ""
    obsolescence: str = ""
    input_time: str = ""
    mir_date: str = ""
    sender: str = ""
    mir_session: str = ""
    mir_sequence: str = ""
    output_date: str = ""
    output_time: str = ""
    raw: str | None = None
    closed: bool = True
    line: int = 0
    before: str = ""
    name: str = "2"

    @classmethod
    def parse(
        cls, content: str, *, closed: bool = True, line: int = 0, before: str = ""
    ) -> AppHeader:
        if m := _B2_IN.match(content):
            mt, rcv, prio, mon, obs = m.groups()
            return cls(
                "I", mt, receiver=rcv, priority=prio, delivery_monitoring=mon,
                obsolescence=obs or "", closed=closed, line=line, before=before,
            )  # fmt: skip
        elif m := _B2_OUT.match(content):
            mt, itime, mdate, snd, sess, seq, odate, otime, prio = m.groups()
            return cls(
                "O", mt, input_time=itime, mir_date=mdate, sender=snd, mir_session=sess,
                mir_sequence=seq, output_date=odate, output_time=otime, priority=prio,
                closed=closed, line=line, before=before,
            )  # fmt: skip
        loose = _B2_LOOSE.match(content)
        direction, mt = loose.groups() if loose else ("", "")
        return cls(direction, mt, raw=content, closed=closed, line=line, before=before)

    @property
    def valid(self) -> bool:
        return self.raw is None

    @property
    def mir(self) -> str:
        """Message input reference (output form): date, sender LT, session, sequence."""
        return self.mir_date + self.sender + self.mir_session + self.mir_sequence

    def content(self) -> str:
        if self.raw is not None:
            return self.raw
        if self.direction == "O":
            return (
                f"O{self.message_type}{self.input_time}{self.mir}"
                f"{self.output_date}{self.output_time}{self.priority}"
            )
        return (
            f"I{self.message_type}{self.receiver}{self.priority}"
            f"{self.delivery_monitoring}{self.obsolescence}"
        )

    def render(self, eol: str = "\r\n") -> str:
        return "{2:" + self.content() + ("}" if self.closed else "")


@dataclass(frozen=True, slots=True)
class TagValue:
    """One ``{tag:value}`` item of a header/trailer block (``{121:<uetr>}``, ``{CHK:...}``)."""

    tag: str
    value: str
    line: int = 0
    before: str = ""  # text inside the block, before this item, not in {tag:value} form
    closed: bool = True

    def render(self) -> str:
        return f"{self.before}{{{self.tag}:{self.value}" + ("}" if self.closed else "")


@dataclass(frozen=True, slots=True)
class TagBlock:
    """A block of ``{tag:value}`` items: 3 (user header), 5 (trailers), S, a service
    message's block 4 (``{177:...}{451:0}``). ``after`` keeps unidentified text
    after the last item."""

    name: str
    items: tuple[TagValue, ...] = ()
    after: str = ""
    closed: bool = True
    line: int = 0
    before: str = ""

    def get(self, tag: str) -> str | None:
        """The value of the first item with this tag, or ``None``."""
        return next((i.value for i in self.items if i.tag == tag), None)

    def render(self, eol: str = "\r\n") -> str:
        body = "".join(i.render() for i in self.items) + self.after
        return f"{{{self.name}:{body}" + ("}" if self.closed else "")


@dataclass(frozen=True, slots=True)
class RawBlock:
    """A block kept as text: unknown content, or a ``{`` not followed by ``name:``
    (``named`` is then ``False`` and ``name`` is ``""``)."""

    name: str
    content: str
    named: bool = True
    closed: bool = True
    line: int = 0
    before: str = ""

    def render(self, eol: str = "\r\n") -> str:
        head = f"{{{self.name}:" if self.named else "{"
        return head + self.content + ("}" if self.closed else "")


# A field starts a line: ":" 2!n [1!a] ":" (FIN tags are two digits and an optional letter).
_FIELD_START = re.compile(r":([0-9]{2}[A-Z]?):")
_EOL = re.compile(r"\r\n|\n")


@dataclass(frozen=True, slots=True)
class Field:
    """One text block field as transmitted: ``:32A:240131EUR1000,00``."""

    tag: str
    value: str
    line: int = 0  # 1-based line of ":tag:" in the parsed text; 0 when built in code

    @property
    def number(self) -> str:
        """The two-digit field number: ``"32"`` for ``32A``."""
        return self.tag[:2]

    @property
    def option(self) -> str:
        """The letter option (``"A"`` for ``32A``), ``""`` when the tag has none."""
        return self.tag[2:]

    @property
    def lines(self) -> list[str]:
        return self.value.split("\n")

    @property
    def location(self) -> str:
        """The tag as a finding location: ``":32A:"``."""
        return f":{self.tag}:"


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Block 4 in text form: ``{4:`` CrLf fields CrLf ``-}``.

    ``leading_newline`` and ``terminated`` record whether the CrLf after ``{4:`` and
    the closing CrLf ``-`` were there; ``preamble`` keeps lines before the first
    field (text the parser could not place). ``closed`` is ``False`` when no ``}``
    ended the block. ``before`` is text found between the previous block and this one.
    """

    fields: tuple[Field, ...]
    preamble: tuple[str, ...] = ()
    leading_newline: bool = True
    terminated: bool = True
    closed: bool = True
    line: int = 0
    before: str = ""
    name: str = "4"

    def get(self, tag: str) -> Field | None:
        """The first field with this tag (``"32A"``), or ``None``."""
        return next((f for f in self.fields if f.tag == tag), None)

    def get_all(self, tag: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.tag == tag)

    def lines(self) -> list[str]:
        """The content lines (preamble, then each field's lines), without line breaks."""
        out = list(self.preamble)
        for f in self.fields:
            first, *rest = f.lines
            out.append(f":{f.tag}:{first}")
            out.extend(rest)
        return out

    def content(self, eol: str = "\r\n") -> str:
        """The text between ``{4:`` and ``}`` with ``eol`` line breaks."""
        lines = self.lines()
        text = (eol if self.leading_newline else "") + eol.join(lines)
        if self.terminated:
            text += (eol if lines else "") + "-"
        return text

    def render(self, eol: str = "\r\n") -> str:
        return "{4:" + self.content(eol) + ("}" if self.closed else "")


Block = BasicHeader | AppHeader | TagBlock | TextBlock | RawBlock


def parse_text_block(
    content: str, *, line: int, closed: bool = True, before: str = ""
) -> tuple[TextBlock, list[str]]:
    """Parse the text between ``{4:`` and ``}``; ``line`` is the line of ``{4:``.

    Returns the block and the line breaks seen, in order of first use (``"\\r\\n"``, ``"\\n"``).
    """
    eols = list(dict.fromkeys(_EOL.findall(content)))  # in order of first use
    lines = _EOL.split(content)
    leading = len(lines) > 1 and lines[0] == ""
    start = 1 if leading else 0
    body = lines[start:]
    terminated = bool(body) and body[-1] == "-"
    if terminated:
        body = body[:-1]
    preamble: list[str] = []
    fields: list[Field] = []
    tag: str | None = None
    tag_line = 0
    value: list[str] = []
    for i, text in enumerate(body):
        match = _FIELD_START.match(text)
        if match:
            if tag is not None:
                fields.append(Field(tag, "\n".join(value), tag_line))
            tag, tag_line, value = match.group(1), line + start + i, [text[match.end() :]]
        elif tag is None:
            preamble.append(text)
        else:
            value.append(text)
    if tag is not None:
        fields.append(Field(tag, "\n".join(value), tag_line))
    block = TextBlock(tuple(fields), tuple(preamble), leading, terminated, closed, line, before)
    return block, eols


def check_text_block(block: TextBlock) -> Iterator[Finding]:
    """Structure findings for one user-message text block (see module docstring)."""
    first = block.line + (1 if block.leading_newline else 0)
    where = "{4:}"
    if not block.leading_newline:
        yield mt_finding("mt.text_start", "'{4:' must be followed by CrLf.", block.line, where)
    if not block.terminated:
        end = first + len(block.lines())
        yield mt_finding("mt.text_unterminated", "No CrLf '-' before '}'.", end, where)
    if not block.fields and not block.preamble:
        yield mt_finding("mt.text_no_fields", "No field in block 4.", block.line, where)
    for i in range(len(block.preamble)):
        yield mt_finding(
            "mt.text_field_line", "Line follows no ':tag:'.", first + i, where, column=1
        )
    for f in block.fields:
        for i, text in enumerate(f.lines[1:], start=1):
            if text.startswith(("-", ":")):
                message = f"Continuation line {i + 1} of {f.location} starts with {text[0]!r}."
                yield mt_finding(
                    "mt.text_reserved_line_start", message, f.line + i, f.location, column=1
                )
    yield from _charset(block, first)
    length = len(block.content("\r\n"))
    if length > MAX_TEXT_LENGTH:
        message = f"{length} characters (CrLf counted as 2); FIN allows {MAX_TEXT_LENGTH}."
        context = {"length": length, "limit": MAX_TEXT_LENGTH}
        yield mt_finding("mt.text_too_long", message, block.line, where, context=context)


def _charset(block: TextBlock, first: int) -> Iterator[Finding]:
    """X-set findings, one per offending line, the first :data:`MAX_CHARSET_FINDINGS`."""
    if _NOT_X.search(block.content("")) is None:  # the common case: one regex pass
        return
    spans = [("{4:}", first + i, 0, text) for i, text in enumerate(block.preamble)]
    for f in block.fields:
        spans.extend(
            (f.location, f.line + i, len(f.tag) + 2 if i == 0 else 0, text)
            for i, text in enumerate(f.lines)
        )
    hits = 0
    for where, line, offset, text in spans:
        bad = [(m.start() + 1, m.group()) for m in _NOT_X.finditer(text)]
        hits += bool(bad)
        if bad and hits <= MAX_CHARSET_FINDINGS:
            chars = "".join(sorted({c for _, c in bad}))
            message = f"{len(bad)} character(s) outside the SWIFT X set: {chars!r}."
            context = {"characters": chars, "count": len(bad)}
            column = offset + bad[0][0]
            yield mt_finding(
                "mt.text_charset", message, line, where, column=column, context=context
            )
    if hits > MAX_CHARSET_FINDINGS:
        more = hits - MAX_CHARSET_FINDINGS
        message = f"{more} more line(s) with characters outside the X set."
        yield mt_finding("mt.text_charset", message, block.line, "{4:}")
