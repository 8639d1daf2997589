"""Text for MT fields: the SWIFT X character set, lines of 35, code words, truncation.

SWIFT *Standards MT General Information* (SR 2025): the X character set (``a-z A-Z
0-9 / - ? : ( ) . , ' + space``), lines of at most 35 characters (``n*35x``), and the
"structured line formats" of narrative fields (72: ``/CODE/text`` then ``//``
continuation lines). The CBPR+ MX to MT translation conventions: text outside the X
set is transliterated (accents removed) and any character still outside replaced by
``.`` (reported ``translate.replaced``); text longer than its field is cut and ends
with ``+`` (reported ``translate.truncated``).

:class:`Context` is what every MT field renderer of the translation shares (the event
reader, the ledger, the clearing code map, the source element of a canonical path).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.translate_report import EventReader, Ledger, translate_finding, truncate

__all__ = [
    "NOT_PROVIDED",
    "PLACEHOLDER_ADDRESS",
    "WIDTH",
    "Context",
    "chunks",
    "coded",
    "cut",
    "fit_lines",
    "narrative_lines",
    "placeholder_taken",
    "same_bic",
    "wrap",
    "x_text",
]

NOT_PROVIDED = "NOTPROVIDED"
#: The address CBPR+ MT -> MX writes for an agent known by name only (the translator's
#: own value, not data: never written back into MT).
PLACEHOLDER_ADDRESS = {"address_lines": [NOT_PROVIDED]}
WIDTH = 35
_NOT_X = re.compile(r"[^a-zA-Z0-9/\-?:().,'+ ]")
_WORD = re.compile(r"/([A-Z0-9]{1,8})/(.*)", re.DOTALL)


@dataclass(slots=True)
class Context:
    """What the field renderers share: the event, the ledger, the ISO -> MT clearing
    code map and the source element of a canonical path (MX sources)."""

    reader: EventReader
    ledger: Ledger
    clearing_codes: Mapping[str, str]
    xpath_of: Callable[[str], str | None]


def placeholder_taken(ctx: Context, path: str) -> bool:
    """The postal address at ``path`` is :data:`PLACEHOLDER_ADDRESS`: taken, True."""
    if ctx.reader.peek(path) == PLACEHOLDER_ADDRESS:
        ctx.reader.take(path)
        return True
    return False


def same_bic(a: str | None, b: str | None) -> bool:
    """Two BICs name the same institution and branch (``XXX`` = the BIC8 alone)."""
    if not a or not b:
        return False
    return (a + "XXX")[:11] == (b + "XXX")[:11]


# ----------------------------------------------------------------------- text


def x_text(ctx: Context, value: str, canonical: str, mt_tag: str) -> str:
    """``value`` in the SWIFT X character set: accents removed, any other character
    outside the set ``.`` (reported ``translate.replaced``)."""
    if not _NOT_X.search(value):
        return value
    decomposed = unicodedata.normalize("NFKD", value.replace("\n", " "))
    out = _NOT_X.sub(".", "".join(c for c in decomposed if not unicodedata.combining(c)))
    message = (
        f"{canonical}: characters outside the SWIFT X set in {mt_tag} replaced "
        "(accents removed, others '.')."
    )
    context = {"field": canonical, "rule": "SWIFT X character set", "original_length": len(value)}
    ctx.ledger.add(
        translate_finding(
            "translate.replaced",
            message,
            mt_tag=mt_tag,
            xpath=ctx.xpath_of(canonical),
            context=context,
        )
    )
    return out


def cut(ctx: Context, text: str, limit: int, canonical: str, mt_tag: str, rule: str) -> str:
    """``text`` within ``limit`` characters (cut with ``+``, reported)."""
    kept, was_cut = truncate(text, limit)
    if was_cut:
        ctx.ledger.truncated(
            canonical, text, kept, limit, rule, mt_tag=mt_tag, xpath=ctx.xpath_of(canonical)
        )
    return kept


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken at spaces where possible (the
    space at a break is dropped), else inside a word."""
    lines: list[str] = []
    rest = text.strip()
    while len(rest) > width:
        at = rest.rfind(" ", 1, width + 1)
        if at <= 0:
            lines.append(rest[:width])
            rest = rest[width:]
        else:
            lines.append(rest[:at].rstrip())
            rest = rest[at + 1 :].lstrip()
    if rest:
        lines.append(rest)
    return lines


def chunks(text: str, width: int) -> list[str]:
    """``text`` in pieces of exactly ``width`` (the last shorter): joined, they give
    ``text`` back (MT narrative fields are read as joined text)."""
    return [text[i : i + width] for i in range(0, len(text), width)]


def fit_lines(
    ctx: Context, lines: list[str], room: int, width: int, canonical: str, mt_tag: str
) -> list[str]:
    """Free text ``lines`` in at most ``room`` lines of ``width``: a longer line is
    wrapped; too many lines are joined with ``, `` and wrapped again; what is still
    too long is cut with ``+`` (reported); in no room, nothing (reported dropped)."""
    wrapped = [w for line in lines for w in ([line] if len(line) <= width else wrap(line, width))]
    if len(wrapped) <= room:
        return wrapped
    text = ", ".join(line.strip() for line in lines if line.strip())
    packed = wrap(text, width)
    if len(packed) <= room:
        return packed
    if room <= 0:
        rule = f"{mt_tag} has no line left"
        ctx.ledger.dropped(
            canonical, rule, value=text, mt_tag=mt_tag, xpath=ctx.xpath_of(canonical)
        )
        return []
    rule = f"{mt_tag} holds {room} line(s) of {width} characters here"
    return chunks(cut(ctx, text, room * width, canonical, mt_tag, rule), width)


def narrative_lines(
    ctx: Context,
    words: list[tuple[str, str | None, str]],
    max_lines: int,
    mt_tag: str,
) -> list[str]:
    """Code words ``(canonical path, code, text)`` as lines: ``/CODE/text`` then ``//``
    continuations of 33 characters; an uncoded word as text with ``//`` continuations.
    What does not fit in ``max_lines`` is cut (``+``) or dropped, word by word."""
    lines: list[str] = []
    for canonical, code, raw in words:
        text = x_text(ctx, raw, canonical, mt_tag)
        head = f"/{code}/" if code is not None else ""
        first = WIDTH - len(head)
        room = max_lines - len(lines)
        if room <= 0:
            rule = f"{mt_tag} holds {max_lines} lines of {WIDTH} characters; they are full"
            ctx.ledger.dropped(
                canonical, rule, value=text, mt_tag=mt_tag, xpath=ctx.xpath_of(canonical)
            )
            continue
        capacity = first + (room - 1) * (WIDTH - 2)
        rule = f"{mt_tag} holds {max_lines} lines of {WIDTH} characters"
        text = cut(ctx, text, capacity, canonical, mt_tag, rule)
        lines.append(head + text[:first])
        lines.extend("//" + c for c in chunks(text[first:], WIDTH - 2))
    return lines


def coded(information: str) -> tuple[str | None, str]:
    """``"/REC/PLEASE CALL"`` -> ``("REC", "PLEASE CALL")``; other text has no code."""
    m = _WORD.fullmatch(information)
    return (m.group(1), m.group(2)) if m else (None, information)
