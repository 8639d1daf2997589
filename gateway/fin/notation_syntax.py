"""The syntax of the SWIFT field format notation: its tree and its reader.

Reads a notation of SWIFT *Standards MT General Information* (Standards MT November
2025, "Field Format Conventions"; the notation is described in
:mod:`gateway.fin.notation`, which compiles the tree this module builds) into lines
of nodes: :class:`Chars` (a component such as ``3!a``), :class:`Lit` (a literal such
as ``/``), :class:`Opt` (``[...]``) and :class:`Multi` (``4*35x``, ``4*(1!n/33x)``),
each component carrying the name of the subfield it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.mt_fields import X_CHARACTERS

__all__ = [
    "BREAK",
    "CHARSETS",
    "DESCRIBE",
    "MIXED",
    "Chars",
    "Line",
    "Lit",
    "Multi",
    "Node",
    "NotationError",
    "Opt",
    "max_lines",
    "name_of",
    "read_notation",
]

_Y = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,-()/='+:?!\"%&*<>; ")
#: Characters of each notation class.
CHARSETS: dict[str, frozenset[str]] = {
    "n": frozenset("0123456789"),
    "a": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "c": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    "h": frozenset("0123456789ABCDEF"),
    "x": X_CHARACTERS,
    "y": _Y,
    "z": X_CHARACTERS | _Y | frozenset("@#_{"),
    "d": frozenset("0123456789,"),
    "e": frozenset(" "),
    "A": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    "B": frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
}
#: How a diagnosis names each class.
DESCRIBE = {
    "n": "digits",
    "a": "upper-case letters",
    "c": "upper-case letters or digits",
    "h": "hexadecimal digits",
    "x": "SWIFT X characters",
    "y": "EDIFACT level A characters",
    "z": "SWIFT Z characters",
    "d": "digits and a decimal comma",
    "e": "a space",
    "A": "letters",
    "B": "letters or digits",
}
_LENGTH = re.compile(r"(\d+)(?:(!)|\.\.(\d+)|(\*)(\d+)?)?")


class NotationError(ValueError):
    """A notation string that is not valid SWIFT field notation (a programming error)."""


@dataclass(frozen=True, slots=True)
class Chars:
    """A component: ``cls`` (``n``, ``a``, ``x``...) repeated ``lo`` to ``hi`` times."""

    cls: str
    lo: int
    hi: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Lit:
    """Literal text (``/``, ``//``); :data:`BREAK` is the line break."""

    text: str
    name: str | None = None  # the subfield the literal introduces, for diagnoses


@dataclass(frozen=True, slots=True)
class Opt:
    """An optional group ``[...]``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Multi:
    """Up to ``count`` lines of ``items``: ``4*35x``, ``4*(1!n/33x)``."""

    count: int
    items: tuple[Node, ...]  # one line
    name: str | None = None


Node = Chars | Lit | Opt | Multi
BREAK = Lit("\n")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a notation; ``optional`` when made only of optional groups."""

    items: tuple[Node, ...]
    optional: bool


# ----------------------------------------------------------------------- parsing


def _parse(text: str, i: int, closer: str) -> tuple[list[Node], int]:
    items: list[Node] = []
    literal = ""
    while i < len(text):
        ch = text[i]
        if literal and (ch in "[]()$\n" or ch.isdigit()):
            items.append(Lit(literal))
            literal = ""
        if ch == closer:
            return items, i + 1
        if ch == "[":
            inner, i = _parse(text, i + 1, "]")
            items.append(Opt(tuple(inner)))
        elif ch in "$\n":
            items.append(BREAK)
            i += 1
        elif ch.isdigit():
            node, i = _component(text, i)
            items.append(node)
        elif ch in "])(":
            raise NotationError(f"unexpected {ch!r} at {i} in {text!r}")
        else:
            literal += ch
            i += 1
    if closer:
        raise NotationError(f"missing {closer!r} in {text!r}")
    if literal:
        items.append(Lit(literal))
    return items, i


def _component(text: str, i: int) -> tuple[Node, int]:
    m = _LENGTH.match(text, i)
    assert m is not None  # text[i] is a digit
    first, fixed, upto, star, width = m.groups()
    i = m.end()
    if star:
        if width is None:  # 4*(1!n/33x)
            if not text.startswith("(", i):
                raise NotationError(f"'*' needs a width or a group at {i} in {text!r}")
            inner, i = _parse(text, i + 1, ")")
            return Multi(int(first), tuple(inner)), i
        cls = text[i : i + 1]
        if cls not in CHARSETS:
            raise NotationError(f"no character class after {m.group()!r} in {text!r}")
        return Multi(int(first), (Chars(cls, 1, int(width)),)), i + 1
    cls = text[i : i + 1]
    if cls not in CHARSETS:
        raise NotationError(f"no character class after {m.group()!r} in {text!r}")
    lo, hi = (int(first), int(upto)) if upto else (int(first) if fixed else 1, int(first))
    if lo > hi or hi == 0:
        raise NotationError(f"bad length {m.group()!r} in {text!r}")
    return Chars(cls, lo, hi), i + 1


class _Namer:
    """Gives each unit its name, in order; literals take the name of what follows."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names, self.index = list(names), 0

    def next(self) -> str | None:
        name = self.names[self.index] if self.index < len(self.names) else None
        self.index += 1
        return name or None

    def seq(self, items: Sequence[Node]) -> tuple[Node, ...]:
        named = [self.node(node) for node in items]
        out: list[Node] = []
        for pos, node in enumerate(named):
            if isinstance(node, Lit) and node is not BREAK:
                after = next((name_of(n) for n in named[pos + 1 :] if not isinstance(n, Lit)), None)
                out.append(Lit(node.text, after))
            else:
                out.append(node)
        return tuple(out)

    def node(self, node: Node) -> Node:
        if isinstance(node, Chars):
            return Chars(node.cls, node.lo, node.hi, self.next())
        if isinstance(node, Multi):  # one unit; its parts carry its name for diagnoses
            name = self.next()
            return Multi(node.count, tuple(_renamed(n, name) for n in node.items), name)
        if isinstance(node, Opt):
            return Opt(self.seq(node.items))
        return node


def _renamed(node: Node, name: str | None) -> Node:
    if isinstance(node, Chars):
        return Chars(node.cls, node.lo, node.hi, name)
    if isinstance(node, Lit):
        return node if node is BREAK else Lit(node.text, name)
    if isinstance(node, Opt):
        return Opt(tuple(_renamed(n, name) for n in node.items))
    return Multi(node.count, tuple(_renamed(n, name) for n in node.items), name)


MIXED = "\0"


def name_of(node: Node) -> str | None:
    """A unit's name; an optional group's common name (``MIXED`` when its units differ)."""
    if isinstance(node, Chars | Multi):
        return node.name
    if isinstance(node, Lit):
        return None
    names = {name_of(n) for n in node.items if not isinstance(n, Lit)}
    return names.pop() if len(names) == 1 else MIXED


def _split_lines(items: Sequence[Node]) -> tuple[Line, ...]:
    lines: list[list[Node]] = [[]]
    for node in items:
        if node is BREAK:
            lines.append([])
        else:
            lines[-1].append(node)
    return tuple(
        Line(tuple(line), bool(line) and all(isinstance(n, Opt) for n in line)) for line in lines
    )


def max_lines(lines: Sequence[Line]) -> int:
    """The most lines a value of this notation can have."""
    return sum(max([1, *(n.count for n in line.items if isinstance(n, Multi))]) for line in lines)


def read_notation(notation: str, names: Sequence[str]) -> tuple[Line, ...]:
    """The lines of ``notation``, units named in order from ``names`` (across lines)."""
    items, _ = _parse(notation, 0, "")
    namer = _Namer(names)
    return tuple(Line(namer.seq(line.items), line.optional) for line in _split_lines(items))
