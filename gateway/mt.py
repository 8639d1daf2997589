"""SWIFT FIN (MT) messages as transmitted: parse, render, detect, structure checks.

Follows the FIN message structure of the SWIFT User Handbook (*FIN Service
Description*, *Standards MT General Information*): block 1 basic header, block 2
application header (input and output forms), block 3 user header, block 4 text,
block 5 trailers, the system block ``S``, and RJE batches (messages separated by
``$``). The model is the message *as transmitted* (the prowide-core way); the parts
(headers, tag items, text fields) live in :mod:`gateway.mt_fields`:

* :class:`ParsedMt` - one transmission: its :class:`MtMessage` s in order; a service
  message (``{1:F21...}`` ACK/NAK) before the user message is kept as a message of
  its own, and :attr:`ParsedMt.user_message` is the application message;
* :class:`MtMessage` - every block in transmitted order, duplicates included, each
  with the text found before it, so :func:`render_mt` gives back the parsed text.
  Text the parser cannot identify stays in place and is listed by
  :attr:`ParsedMt.unparsed`; nothing is dropped.

Round trip: ``render_mt(parse_mt(text)) == text`` whenever the text blocks use one
kind of line break (all CrLf or all Lf). Text blocks that mix both are rendered with
the first one seen (finding ``mt.mixed_line_endings``); text outside text blocks is
always kept character for character. ``render_mt_batch(parse_mt_batch(t)) == t`` alike.

Parsing never raises on content. :func:`validate_mt_structure` turns what the parser
saw into findings; a finding's ``mt_tag`` is a field (``":32A:"``), a block (``"{2:}"``)
or a header item (``"{3:121}"``). :func:`detect_mt` reads only the headers.
Field formats, sequences and network rules are not checked here.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from gateway.messages import MessageId
from gateway.mt_fields import (
    AppHeader,
    BasicHeader,
    Block,
    Field,
    RawBlock,
    TagBlock,
    TagValue,
    TextBlock,
    check_text_block,
    mt_finding,
    parse_text_block,
)
from gateway.report import Finding

__all__ = [
    "MAX_FINDINGS",
    "AppHeader",
    "BasicHeader",
    "Block",
    "Field",
    "MtMessage",
    "ParsedMt",
    "RawBlock",
    "TagBlock",
    "TagValue",
    "TextBlock",
    "Unparsed",
    "detect_mt",
    "parse_mt",
    "parse_mt_batch",
    "render_mt",
    "render_mt_batch",
    "validate_mt_structure",
]


@dataclass(frozen=True, slots=True)
class Unparsed:
    """Text the parser could not identify; kept in place, listed here."""

    text: str
    line: int
    where: str  # "outside blocks", "{3:}", "{4:}" ...


@dataclass(frozen=True, slots=True)
class MtMessage:
    """One FIN message: its blocks in transmitted order (duplicates included)."""

    blocks: tuple[Block, ...]

    def block(self, name: str) -> Block | None:
        """The first block with this name (``"1"`` ... ``"5"``, ``"S"``)."""
        return next((b for b in self.blocks if b.name == name), None)

    @property
    def basic_header(self) -> BasicHeader | None:
        b = self.block("1")
        return b if isinstance(b, BasicHeader) else None

    @property
    def app_header(self) -> AppHeader | None:
        b = self.block("2")
        return b if isinstance(b, AppHeader) else None

    @property
    def user_header(self) -> TagBlock | None:
        b = self.block("3")
        return b if isinstance(b, TagBlock) else None

    @property
    def text(self) -> TextBlock | None:
        b = self.block("4")
        return b if isinstance(b, TextBlock) else None

    @property
    def trailer(self) -> TagBlock | None:
        b = self.block("5")
        return b if isinstance(b, TagBlock) else None

    @property
    def is_service_message(self) -> bool:
        """An ACK/NAK or other service message: block 1 service id other than 01."""
        b1 = self.basic_header
        return b1 is not None and b1.service_id not in ("01", "")

    @property
    def is_user_message(self) -> bool:
        """The application message (not a service message), with a block 2 or text."""
        return not self.is_service_message and (
            self.app_header is not None or self.text is not None
        )

    def user_tag(self, tag: str) -> str | None:
        """A block 3 value: ``"121"`` UETR, ``"119"`` validation flag, ``"111"`` service type."""
        b3 = self.user_header
        return b3.get(tag) if b3 is not None else None

    @property
    def uetr(self) -> str | None:
        return self.user_tag("121")

    @property
    def validation_flag(self) -> str | None:
        return self.user_tag("119")

    @property
    def message_id(self) -> MessageId | None:
        """``fin.<type>`` plus the block 3 validation flag (``fin.103.STP``)."""
        b2 = self.app_header
        if b2 is None or not re.fullmatch(r"[0-9]{3}", b2.message_type):
            return None
        flag = self.validation_flag
        if flag and re.fullmatch(r"[A-Z]{3,5}", flag):
            return MessageId(f"fin.{b2.message_type}.{flag}")
        return MessageId(f"fin.{b2.message_type}")


@dataclass(frozen=True, slots=True)
class ParsedMt:
    """One transmission unit: the messages of one text (one RJE entry), in order.

    ``eol`` is the line break text blocks are rendered with; ``after`` the text
    after the last block; ``line``/``after_line`` where the unit and ``after`` start
    in the parsed text; ``encoding`` how bytes were decoded (``utf-8``/``latin-1``).
    """

    messages: tuple[MtMessage, ...]
    after: str = ""
    eol: str = "\r\n"
    mixed_line_endings: bool = False
    encoding: str = "utf-8"
    line: int = 1
    after_line: int = 1

    @property
    def user_message(self) -> MtMessage | None:
        return next((m for m in self.messages if m.is_user_message), None)

    @property
    def service_messages(self) -> tuple[MtMessage, ...]:
        return tuple(m for m in self.messages if m.is_service_message)

    @property
    def message_id(self) -> MessageId | None:
        user = self.user_message
        return user.message_id if user is not None else None

    @property
    def unparsed(self) -> list[Unparsed]:
        """Every piece of text the parser could not identify, in order."""
        out: list[Unparsed] = []
        for msg in self.messages:
            for b in msg.blocks:
                if b.before.strip():
                    out.append(Unparsed(b.before, b.line - b.before.count("\n"), "outside blocks"))
                out.extend(_unparsed_in(b))
        if self.after.strip():
            out.append(Unparsed(self.after, self.after_line, "outside blocks"))
        return out


def _unparsed_in(b: Block) -> list[Unparsed]:
    where = f"{{{b.name}:}}"
    if isinstance(b, RawBlock):
        return [Unparsed(b.render(), b.line, where)]
    if isinstance(b, TextBlock):
        first = b.line + (1 if b.leading_newline else 0)
        return [Unparsed(t, first + i, where) for i, t in enumerate(b.preamble)]
    if isinstance(b, TagBlock):
        out = [
            Unparsed(i.before, i.line - i.before.count("\n"), where) for i in b.items if i.before
        ]
        if b.after:
            out.append(Unparsed(b.after, b.line + b.render().count("\n"), where))
        return out
    return []


# ------------------------------------------------------------------------- lexing

_BLOCK_OPEN = re.compile(r"\{([0-9A-Za-z]{1,3}):")
_TAG_OPEN = re.compile(r"\{([0-9A-Za-z]+):")
_GAP_END = re.compile(r"[{$]")
_OPEN = re.compile(r"\{")
_CURLY = re.compile(r"[{}]")
_BRACES = re.compile(r"[{}$]")
# Where a block that lacks its end stops: a new top-level block, or (RJE batches) a "$".
_STOP = re.compile(r"\{[0-9A-Z]:")
_STOP_SPLIT = re.compile(r"\$|\{[0-9A-Z]:")


def _flat_end(text: str, start: int, split: bool) -> tuple[int, int, bool]:
    """Blocks 1 and 2: content up to the first ``}`` (``{`` or ``$`` first: unclosed)."""
    m = (_BRACES if split else _CURLY).search(text, start)
    if m is None:
        return len(text), len(text), False
    i = m.start()
    return (i, i + 1, True) if m.group() == "}" else (i, i, False)


def _text_end(text: str, start: int, split: bool) -> tuple[int, int, bool]:
    """Block 4 in text form: up to CrLf ``-}``, never past the next block (or ``$``)."""
    stop = (_STOP_SPLIT if split else _STOP).search(text, start)
    limit = stop.start() if stop else len(text)
    if text.startswith("-}", start):
        return start + 1, start + 2, True
    t = text.find("\n-}", start, limit)  # CrLf/Lf "-}" wholly before the limit
    if t >= 0:
        return t + 2, t + 3, True
    close = text.find("}", start, limit)
    if close >= 0:
        return close, close + 1, True
    return limit, limit, False


def _nested_end(text: str, start: int, split: bool) -> tuple[int, int, bool]:
    """Tag blocks: up to the matching ``}``; unclosed at a new top-level block (or ``$``)."""
    depth = 1
    for m in (_BRACES if split else _CURLY).finditer(text, start):
        i, ch = m.start(), m.group()
        if ch == "$" or (ch == "{" and depth == 1 and _STOP.match(text, i)):
            return i, i, False
        depth += 1 if ch == "{" else -1
        if depth == 0:
            return i, i + 1, True
    return len(text), len(text), False


def _items(
    text: str, start: int, end: int, line_of: Callable[[int], int]
) -> tuple[tuple[TagValue, ...], str]:
    items: list[TagValue] = []
    pos = gap = start
    while (i := text.find("{", pos, end)) >= 0:
        m = _TAG_OPEN.match(text, i, end)
        if m is None:
            pos = i + 1
            continue
        depth, vend, nxt, closed = 1, end, end, False
        for b in _CURLY.finditer(text, m.end(), end):
            depth += 1 if b.group() == "{" else -1
            if depth == 0:
                vend, nxt, closed = b.start(), b.start() + 1, True
                break
        items.append(TagValue(m.group(1), text[m.end() : vend], line_of(i), text[gap:i], closed))
        pos = gap = nxt
    return tuple(items), text[gap:end]


class _Lexer:
    """Reads blocks from ``text``; line numbers refer to the whole text."""

    def __init__(self, text: str, split: bool) -> None:
        self.text, self.split = text, split
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self.eols: list[str] = []

    def line_of(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1

    def unit(self, pos: int) -> tuple[list[Block], int, int]:
        """Blocks from ``pos`` up to the end (or a top-level ``$`` when ``split``).

        Returns the blocks, where the text after the last block starts, and the end.
        """
        text, blocks = self.text, []
        gap = pos
        pattern = _GAP_END if self.split else _OPEN
        while (m := pattern.search(text, pos)) is not None and m.group() == "{":
            block, pos = self._block(m.start(), text[gap : m.start()])
            blocks.append(block)
            gap = pos
        return blocks, gap, (m.start() if m is not None else len(text))

    def _block(self, pos: int, before: str) -> tuple[Block, int]:
        text, line, split = self.text, self.line_of(pos), self.split
        m = _BLOCK_OPEN.match(text, pos)
        if m is None:
            cs, (ce, end, closed) = pos + 1, _nested_end(text, pos + 1, split)
            return RawBlock("", text[cs:ce], False, closed, line, before), end
        name, cs = m.group(1), m.end()
        if name in ("1", "2"):
            ce, end, closed = _flat_end(text, cs, split)
            header = BasicHeader if name == "1" else AppHeader
            return header.parse(text[cs:ce], closed=closed, line=line, before=before), end
        if name == "4" and not text.startswith("{", cs):
            ce, end, closed = _text_end(text, cs, split)
            tb, eols = parse_text_block(text[cs:ce], line=line, closed=closed, before=before)
            self.eols.extend(e for e in eols if e not in self.eols)
            return tb, end
        ce, end, closed = _nested_end(text, cs, split)
        if cs == ce or text.startswith("{", cs):
            items, after = _items(text, cs, ce, self.line_of)
            return TagBlock(name, items, after, closed, line, before), end
        return RawBlock(name, text[cs:ce], True, closed, line, before), end


def _decode(payload: str | bytes) -> tuple[str, str]:
    if isinstance(payload, str):
        return payload, "utf-8"
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return payload.decode("latin-1"), "latin-1"


def _messages(blocks: list[Block]) -> tuple[MtMessage, ...]:
    out: list[list[Block]] = []
    for b in blocks:
        if not out or (b.name == "1" and out[-1]):
            out.append([])
        out[-1].append(b)
    return tuple(MtMessage(tuple(group)) for group in out)


def _unit(lexer: _Lexer, start: int, encoding: str) -> tuple[ParsedMt, int]:
    lexer.eols = []
    blocks, after_at, end = lexer.unit(start)
    parsed = ParsedMt(
        _messages(blocks),
        after=lexer.text[after_at:end],
        eol=lexer.eols[0] if lexer.eols else "\r\n",
        mixed_line_endings=len(lexer.eols) > 1,
        encoding=encoding,
        line=lexer.line_of(start),
        after_line=lexer.line_of(after_at),
    )
    return parsed, end


def parse_mt(payload: str | bytes) -> ParsedMt:
    """Parse one FIN transmission (a message, or service message(s) + user message).

    Bytes are read as UTF-8, else Latin-1 (``encoding`` says which). A top-level
    ``$`` is kept as unparsed text: use :func:`parse_mt_batch` for RJE batches.
    """
    text, encoding = _decode(payload)
    return _unit(_Lexer(text, split=False), 0, encoding)[0]


def parse_mt_batch(payload: str | bytes) -> list[ParsedMt]:
    """Parse an RJE batch: one :class:`ParsedMt` per ``$``-separated entry, in order
    (an empty entry, e.g. after a final ``$``, is a unit without messages)."""
    text, encoding = _decode(payload)
    lexer, units, pos = _Lexer(text, split=True), [], 0
    while True:
        unit, end = _unit(lexer, pos, encoding)
        units.append(unit)
        if end >= len(text):
            return units
        pos = end + 1


def render_mt(parsed: ParsedMt | MtMessage, eol: str | None = None) -> str:
    """The text of a parsed or built unit; text blocks use ``eol`` (default: the
    unit's own, CrLf for a bare message)."""
    if isinstance(parsed, MtMessage):
        parsed = ParsedMt((parsed,))
    brk = eol or parsed.eol
    body = "".join(b.before + b.render(brk) for m in parsed.messages for b in m.blocks)
    return body + parsed.after


def render_mt_batch(units: list[ParsedMt]) -> str:
    return "$".join(render_mt(u) for u in units)


# ------------------------------------------------------------------------- detection

_DETECT_HEADER = re.compile(r"\{1:[A-Z]?([0-9]{2})?|\{2:([IO]?)([0-9]{3})")
_DETECT_119 = re.compile(r"\{119:([A-Z]{3,5})\}")


def detect_mt(payload: str | bytes) -> MessageId | None:
    """The message id of the first user message, from block 2 and block 3 tag 119.

    Reads headers only (one regular-expression pass, no parse): the first ``{2:``
    not preceded by a service message's block 1 (service id other than 01).
    ``None`` when there is none.
    """
    text = payload.decode("latin-1") if isinstance(payload, bytes) else payload
    service: str | None = None
    for m in _DETECT_HEADER.finditer(text):
        if m.group(0).startswith("{1:"):
            service = m.group(1)
            continue
        if service not in (None, "01"):
            continue
        b3, b4 = text.find("{3:", m.end()), text.find("{4:", m.end())
        flag = None
        if b3 >= 0 and (b4 < 0 or b3 < b4):
            found = _DETECT_119.search(text, b3, b4 if b4 >= 0 else len(text))
            flag = found.group(1) if found else None
        return MessageId(f"fin.{m.group(3)}" + (f".{flag}" if flag else ""))
    return None


# ------------------------------------------------------------------------- validation

#: Structure findings listed per unit; a hostile payload can produce one per block.
MAX_FINDINGS = 500
_ORDER = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "S": 6}


def validate_mt_structure(parsed: ParsedMt) -> list[Finding]:
    """Findings on the block structure of one unit (see module docstring), at most
    :data:`MAX_FINDINGS` of them (then a last ``mt.too_many_findings``)."""
    found = list(islice(_findings(parsed), MAX_FINDINGS + 1))
    if len(found) > MAX_FINDINGS:
        message = f"More than {MAX_FINDINGS} structure findings; the rest are not listed."
        found[MAX_FINDINGS:] = [mt_finding("mt.too_many_findings", message)]
    return found


def _findings(parsed: ParsedMt) -> Iterator[Finding]:
    if parsed.encoding != "utf-8":
        yield mt_finding("mt.encoding", "The payload is not UTF-8; read as Latin-1.")
    if not parsed.messages:
        yield mt_finding("mt.empty", "No FIN block found.", parsed.line)
        return
    yield from (_outside(u) for u in parsed.unparsed if u.where == "outside blocks")
    if parsed.mixed_line_endings:
        message = f"Text blocks mix CrLf and Lf; rendered with {parsed.eol!r}."
        yield mt_finding("mt.mixed_line_endings", message)
    for msg in parsed.messages:
        yield from _check_message(msg)
    if parsed.user_message is None:
        yield mt_finding("mt.no_user_message", "Only service messages.", parsed.line)


def _outside(piece: Unparsed) -> Finding:
    text = piece.text.strip()
    if "}" in text:
        return mt_finding("mt.unbalanced_braces", "A '}' closes no block.", piece.line)
    hint = " (an RJE separator: use parse_mt_batch)" if text.startswith("$") else ""
    message = f"{len(text)} character(s) outside any block{hint}; kept as unparsed."
    return mt_finding("mt.text_outside_blocks", message, piece.line)


def _check_message(msg: MtMessage) -> Iterator[Finding]:
    service = msg.is_service_message
    seen: set[str] = set()
    rank = 0
    for b in msg.blocks:
        where, name = f"{{{b.name}:}}", b.name
        if isinstance(b, RawBlock) and not b.named:
            yield mt_finding("mt.block_malformed", "'{' without a block name.", b.line)
            continue
        if name not in _ORDER:
            yield mt_finding("mt.block_unknown", f"Block {name!r}.", b.line, where)
        elif name in seen:
            yield mt_finding("mt.block_duplicate", f"Block {name} again.", b.line, where)
        elif _ORDER[name] < rank:
            yield mt_finding("mt.block_order", f"Block {name} is late.", b.line, where)
        seen.add(name)
        rank = max(rank, _ORDER.get(name, 0))
        if not b.closed:
            message = f"Block {name} not closed by '}}'."
            yield mt_finding("mt.unbalanced_braces", message, b.line, where)
        yield from _check_block(b, where, service)
    if not service:
        line = msg.blocks[0].line
        yield from (
            mt_finding("mt.block_missing", f"No block {n}.", line, f"{{{n}:}}")
            for n in ("1", "2", "4")
            if n not in seen
        )


#: Characters of a malformed header quoted in its finding (a valid block 2 has at most 47):
#: a report names the problem, it does not carry the payload.
_QUOTED = 50


def _quoted(text: str) -> str:
    return repr(text) if len(text) <= _QUOTED else f"{text[:_QUOTED]!r}... ({len(text)} characters)"


def _check_block(b: Block, where: str, service: bool) -> Iterator[Finding]:
    if isinstance(b, BasicHeader) and not b.valid:
        message = (
            f"Basic header {_quoted(b.content())} is not F01 + LT address + session + sequence."
        )
        yield mt_finding("mt.block1_malformed", message, b.line, where)
    if isinstance(b, AppHeader) and not b.valid:
        message = (
            f"Application header {_quoted(b.content())} is neither I + type + receiver "
            "[+ priority, monitoring, obsolescence] nor the 47-character output form."
        )
        yield mt_finding("mt.block2_malformed", message, b.line, where)
    if isinstance(b, TextBlock):
        yield from check_text_block(b)
    if isinstance(b, RawBlock) and b.name in _ORDER:
        form = "a text block" if b.name == "4" else "{tag:value} items"
        yield mt_finding("mt.block_malformed", f"Block {b.name} is not {form}.", b.line, where)
    if not isinstance(b, TagBlock):
        return
    message = "Text not in {tag:value} form; kept as unparsed."
    yield from (mt_finding("mt.block_malformed", message, u.line, where) for u in _unparsed_in(b))
    yield from (
        mt_finding("mt.unbalanced_braces", "Item not closed.", i.line, f"{{{b.name}:{i.tag}}}")
        for i in b.items
        if not i.closed
    )
    if b.name == "4" and not service:
        message = "Block 4 of a user message must be a text block (CrLf, fields, CrLf -)."
        yield mt_finding("mt.block_malformed", message, b.line, where)
