"""The SWIFT field format notation, compiled to matchers with named subfields.

Implements the notation of SWIFT *Standards MT General Information* (Standards MT
November 2025, "Field Format Conventions"; unchanged in substance since the 2010
edition) as SWIFT MyStandards also summarises it ("How to define an MT format"):

============  ====================================================================
``n``         digits 0-9
``a``         upper-case letters A-Z
``c``         upper-case letters and digits
``h``         hexadecimal: digits and upper-case A-F
``x``         the SWIFT X character set (CrLf only between lines)
``y``         EDIFACT level A: upper case, digits, space and ``.,-()/='+:?!"%&*<>;``
``z``         the Z set: X, Y and ``@#_{``
``d``         decimal: digits and the decimal comma, which counts in the length
``e``         a space
``A`` ``B``   upper/lower-case letters; upper/lower-case letters and digits
``3n``        up to 3; ``3!n`` exactly 3; ``1..3n`` 1 to 3
``4*35x``     up to 4 lines of up to 35; ``4*(1!n/33x)`` up to 4 lines of that form
``[...]``     optional; a line made only of optional parts is an optional line
``$``         line break (CrLf; the prowide-core convention); a newline works too
other         literal (``/``, ``//``, ``,``; a letter without a length: ``N``)
============  ====================================================================

:func:`compile_notation` turns a notation and the names of its *units* (each
component, e.g. ``6!n``, and each multi-line component, in order, optional groups
included) into a cached :class:`Matcher`: a regular expression with one named group
per subfield (consecutive units with the same name form one subfield, so
``4!a2!a2!c[3!c]`` named ``("bic",) * 4`` is one ``bic`` group). Matching runs the
regular expression only; :meth:`Matcher.diagnose` explains a mismatch (which line,
which subfield, too long or wrong character) with a small backtracking search over
the same structure, run only for values that do not match.

SWIFT error codes of a mismatch: ``T33`` when a part is longer than its maximum
(or there are more lines than allowed), ``T34`` otherwise (too short, a character
outside the part's set, a separator missing). FIN error codes (SWIFT *FIN Error
Codes*) define T34 as "length of field, line, subfield, or component contents is
too short, or a character does not belong to the right character set"; T33 is its
counterpart for "too long" (inferred from T34's wording, not confirmed verbatim).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from gateway.fin.notation_syntax import (
    BREAK,
    CHARSETS,
    DESCRIBE,
    MIXED,
    Chars,
    Line,
    Lit,
    Multi,
    Node,
    NotationError,
    Opt,
    max_lines,
    name_of,
    read_notation,
)

__all__ = ["CHARSETS", "Matcher", "Mismatch", "NotationError", "compile_notation"]

_CLASS_RE = {
    "n": "[0-9]",
    "a": "[A-Z]",
    "c": "[A-Z0-9]",
    "h": "[0-9A-F]",
    "x": r"[a-zA-Z0-9/\-?:().,'+ ]",
    "y": r"[A-Z0-9.,\-()/='+:?!\"%&*<>; ]",
    "z": r"[a-zA-Z0-9.,\-()/='+:?!\"%&*<>; @#_{]",
    "d": "[0-9,]",
    "e": " ",
    "A": "[A-Za-z]",
    "B": "[A-Za-z0-9]",
}
#: Diagnosis steps before giving up on explaining a mismatch (adversarial input).
_BUDGET = 20_000


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Why a value does not match: SWIFT ``code`` (T33/T34), ``reason``, the
    ``subfield`` where it happened (``None`` when outside any named subfield), and
    the 0-based ``line`` and ``column`` in the value."""

    code: str
    reason: str
    subfield: str | None
    line: int
    column: int


# ----------------------------------------------------------------------- regex


def _emit_seq(items: Sequence[Node], open_name: str | None, seen: set[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(items):
        name = name_of(items[i])
        if name is None or name in (MIXED, open_name) or isinstance(items[i], Lit):
            out.append(_emit(items[i], open_name, seen))
            i += 1
            continue
        j = i + 1
        while j < len(items):  # a run of units with this name, literals between them
            k = j
            while k < len(items) and isinstance(items[k], Lit) and items[k] is not BREAK:
                k += 1
            if k < len(items) and name_of(items[k]) == name:
                j = k + 1
            else:
                break
        if j - i == 1 and isinstance(items[i], Opt):  # name it inside: [/34x] -> /(?P<..>)
            out.append(_emit(items[i], open_name, seen))
        else:
            if name in seen:
                raise NotationError(f"subfield name {name!r} used for separate parts")
            seen.add(name)
            out.append(f"(?P<{name}>{_emit_seq(items[i:j], name, seen)})")
        i = j
    return "".join(out)


def _emit(node: Node, open_name: str | None, seen: set[str]) -> str:
    if isinstance(node, Chars):
        count = f"{{{node.lo}}}" if node.lo == node.hi else f"{{{node.lo},{node.hi}}}"
        return _CLASS_RE[node.cls] + count
    if isinstance(node, Lit):
        return re.escape(node.text)
    if isinstance(node, Opt):
        return f"(?:{_emit_seq(node.items, open_name, seen)})?"
    line = _emit_seq(node.items, open_name, seen)
    more = f"(?:\\n(?:{line})){{0,{node.count - 1}}}" if node.count > 1 else ""
    return f"(?:{line}){more}"


def _emit_lines(lines: Sequence[Line], seen: set[str]) -> str:
    out: list[str] = []
    first = True
    for line in lines:
        body = _emit_seq(line.items, None, seen)
        if not line.optional:
            out.append(("" if first else "\\n") + body)
            first = False
        elif first:  # present: followed by a line break and a line, or the end
            out.append(f"(?:(?=[^\\n]){body}(?:\\n(?=[^\\n])|\\Z))?")
        else:
            out.append(f"(?:\\n(?=[^\\n]){body})?")
    return "".join(out)


# ----------------------------------------------------------------------- diagnosis


class _Exhausted(Exception):
    pass


class _Search:
    """Backtracking over the notation's structure, remembering the furthest failure."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.best = -1
        self.what: Node | str | None = None
        self.long: dict[int, Chars] = {}  # position just past a component cut at its maximum
        self.ended: dict[int, Node] = {}  # position just past a component
        self.steps = 0

    def fail(self, pos: int, what: Node | str | None) -> bool:
        # At the same position the later expectation wins: after an optional part
        # failed, what the notation requires next says more.
        if pos >= self.best:
            self.best, self.what = pos, what
        return False

    def eol(self, pos: int) -> bool:
        return pos == len(self.s) or self.s[pos] == "\n" or self.fail(pos, "eol")

    def seq(self, items: Sequence[Node], i: int, pos: int, k: Callable[[int], bool]) -> bool:
        self.steps += 1
        if self.steps > _BUDGET:
            raise _Exhausted
        if i == len(items):
            return k(pos)
        node, s = items[i], self.s
        if isinstance(node, Chars):
            allowed, j, end = CHARSETS[node.cls], pos, min(len(s), pos + node.hi + 1)
            while j < end and s[j] in allowed:
                j += 1
            run = j - pos
            if run > node.hi:
                self.long.setdefault(pos + node.hi, node)
                run = node.hi
            if run < node.lo:
                return self.fail(pos + run, node)
            for n in range(run, node.lo - 1, -1):
                self.ended.setdefault(pos + n, node)
                if self.seq(items, i + 1, pos + n, k):
                    return True
            return False
        if isinstance(node, Lit):
            if s.startswith(node.text, pos):
                return self.seq(items, i + 1, pos + len(node.text), k)
            return self.fail(pos, node)
        if isinstance(node, Opt):
            if self.seq(node.items, 0, pos, lambda p: self.seq(items, i + 1, p, k)):
                return True
            return self.seq(items, i + 1, pos, k)
        multi = node

        def more(p: int, count: int) -> bool:
            if not self.eol(p):
                return False
            if (
                count < multi.count
                and s.startswith("\n", p)
                and self.seq(multi.items, 0, p + 1, lambda q: more(q, count + 1))
            ):
                return True
            return self.seq(items, i + 1, p, k)

        return self.seq(multi.items, 0, pos, lambda q: more(q, 1))

    def lines(self, lines: Sequence[Line], idx: int, pos: int, first: bool) -> bool:
        s = self.s
        if idx == len(lines):
            return pos == len(s) or self.fail(pos, "end")
        line = lines[idx]
        if not line.optional:
            if not first:
                if not s.startswith("\n", pos):
                    return self.fail(pos, "newline")
                pos += 1
            return self.seq(
                line.items, 0, pos, lambda p: self.eol(p) and self.lines(lines, idx + 1, p, False)
            )
        start = pos if first else pos + 1
        if (first or s.startswith("\n", pos)) and start < len(s) and s[start] != "\n":

            def after(p: int) -> bool:
                if p == start or not self.eol(p):
                    return False
                if not first:
                    return self.lines(lines, idx + 1, p, False)
                if p == len(s):
                    return self.lines(lines, idx + 1, p, True)
                return (
                    p + 1 < len(s) and s[p + 1] != "\n" and self.lines(lines, idx + 1, p + 1, True)
                )

            if self.seq(line.items, 0, start, after):
                return True
        return self.lines(lines, idx + 1, pos, first)


def _label(name: str | None) -> str:
    return f"subfield {name}" if name else "the field"


def _classify(search: _Search) -> Mismatch:
    s, pos, what = search.s, search.best, search.what
    line = s.count("\n", 0, pos)
    column = pos - (s.rfind("\n", 0, pos) + 1)
    ch = s[pos] if pos < len(s) else None
    long = search.long.get(pos)
    if long is not None and ch is not None and ch != "\n":
        reason = f"{_label(long.name)} is longer than {long.hi} characters"
        return Mismatch("T33", reason, long.name, line, column)
    before = search.ended.get(pos)
    if ch == "." and isinstance(before, Chars) and before.cls == "d":
        reason = f"{_label(before.name)} has a decimal point; SWIFT writes a decimal comma"
        return Mismatch("T34", reason, before.name, line, column)
    if what == "end" and ch == "\n":
        reason = f"{s.count(chr(10)) + 1} lines: more than the format allows"
        return Mismatch("T33", reason, None, line + 1, 0)
    if isinstance(what, Chars):
        wanted = f"{DESCRIBE[what.cls]}" + (f", at least {what.lo}" if what.lo > 1 else "")
        found = "nothing" if ch in (None, "\n") else repr(ch)
        reason = f"{_label(what.name)}: expected {wanted}, found {found}"
        return Mismatch("T34", reason, what.name, line, column)
    if isinstance(what, Lit):
        found = "the end of the line" if ch in (None, "\n") else repr(ch)
        reason = f"expected {what.text!r} before {_label(what.name)}, found {found}"
        return Mismatch("T34", reason, what.name, line, column)
    if ch is None or ch == "\n":
        return Mismatch("T34", "a mandatory line is missing", None, line, column)
    name = before.name if isinstance(before, Chars | Multi) else None
    reason = f"unexpected character {ch!r}" + (f" after {_label(name)}" if name else "")
    # Text after a part is the part's problem only for decimals ("1000.50"): elsewhere
    # it is content the format has no room for.
    owner = name if isinstance(before, Chars) and before.cls == "d" else None
    return Mismatch("T34", reason, owner, line, column)


# ----------------------------------------------------------------------- API


@dataclass(frozen=True, slots=True, eq=False)
class Matcher:
    """A compiled notation: ``regex`` (full match, one group per named subfield) and
    ``max_lines``, the most lines a value can have."""

    notation: str
    names: tuple[str, ...]
    regex: re.Pattern[str]
    max_lines: int
    _lines: tuple[Line, ...]

    @property
    def subfields(self) -> tuple[str, ...]:
        """The subfield (group) names, in order."""
        return tuple(self.regex.groupindex)

    def match(self, text: str) -> re.Match[str] | None:
        """The full match of ``text`` (never of an empty text: a field has content)."""
        return self.regex.fullmatch(text) if text else None

    def diagnose(self, text: str) -> Mismatch | None:
        """Why ``text`` does not match (``None`` when it does)."""
        if not text:
            return Mismatch("T34", "the field is empty", None, 0, 0)
        if self.regex.fullmatch(text):
            return None
        search = _Search(text)
        try:
            matched = search.lines(self._lines, 0, 0, True)
        except (_Exhausted, RecursionError):
            return Mismatch("T34", f"does not match the format {self.notation}", None, 0, 0)
        if matched:  # the regex refused what the search accepts: explain generically
            return Mismatch("T34", f"does not match the format {self.notation}", None, 0, 0)
        return _classify(search)


@lru_cache(maxsize=512)
def _compile(notation: str, names: tuple[str, ...]) -> Matcher:
    lines = read_notation(notation, names)
    regex = re.compile(_emit_lines(lines, set()))
    return Matcher(notation, names, regex, max_lines(lines), lines)


def compile_notation(notation: str, names: Sequence[str] = ()) -> Matcher:
    """Compile ``notation`` (see module docstring); ``names`` name its units in order.

    Compiled matchers are cached. Raises :class:`NotationError` for a notation that
    cannot be read or names that would split one subfield into separate parts.
    """
    return _compile(notation, tuple(names))
