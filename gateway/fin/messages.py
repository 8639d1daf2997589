"""Message structure: a text block's fields against its type's definition, then the
type's network validated rules.

Implements the "Format Specifications" of SWIFT Standards MT (release SR 2025) for
the types of :mod:`gateway.fin.definitions`: which fields, in which order, with which
letter options, mandatory or optional, how often, in which sequences. The network
validated rules (C/D/E-codes) are in :mod:`gateway.fin.network`; field formats
(T-codes) in :mod:`gateway.fin.fields`.

How a message is judged: the definition is compiled once into a small automaton (one
state per position in the field table; sequences, repetitions and optional rows as
transitions) and the message's tags are aligned with it at the least number of
problems (a Viterbi pass: a field placed in an allowed option costs nothing; a field
left out costs 2, a mandatory row or sequence with no field 3, a field put on a row that
does not allow its letter option 4). Every problem of the cheapest alignment
is one finding, so a shuffled, truncated or padded message gets the few findings a reader
would give, not a cascade:

* ``mt.field_unexpected`` - a tag the type does not define, or a letter option its row
  does not allow (``52D`` in an MT 103 STP);
* ``mt.field_missing`` - a mandatory field, or a mandatory sequence (``Sequence B`` of
  an MT 202 COV), with no field; not reported when the field is there out of order;
* ``mt.field_repeated`` - more occurrences than the rows for that tag allow;
* ``mt.field_order`` - a defined field at a place the table does not allow it.

SWIFT error codes (``context["swift_error"]``): FIN reports all four as **T13** ("field
tag not expected at this location: a mandatory field is missing, the sequence of fields
is incorrect or the field is not allowed at this point"), confirmed in the FIN Error
Codes reference. T10/T11 (a repetitive sequence more/less often than its maximum/
minimum) do not arise: no supported type bounds a repetitive sequence.

A type without a definition gets one ``mt.type_unsupported`` warning and nothing else.
Nothing here raises on message content.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import Any, Literal

from gateway.fin.definitions import (
    DEFINITIONS,
    AnyFields,
    FieldSpec,
    Item,
    MessageDefinition,
    SequenceSpec,
)
from gateway.fin.network import RuleInput, check_network
from gateway.mt import MAX_FINDINGS, Field, MtMessage
from gateway.report import Finding, finding

__all__ = ["Gap", "Layout", "Placement", "align", "check_message"]

_STRUCTURE_ERROR = "T13"

Row = FieldSpec | AnyFields
Op = Literal["match", "option", "skip"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the alignment put one field: its row (``None`` when left out) and the
    label of the sequence that row belongs to (``None`` outside sequences)."""

    field: Field
    op: Op
    row_id: int  # the row's index in the compiled definition, -1 when left out
    row: Row | None
    sequence: str | None


@dataclass(frozen=True, slots=True)
class Gap:
    """A mandatory row or sequence without a field, before the field at ``before``
    (``len(fields)``: at the end)."""

    item: FieldSpec | SequenceSpec
    sequence: str | None
    before: int


@dataclass(frozen=True, slots=True)
class Layout:
    """The cheapest alignment of a message's fields with a definition."""

    definition: MessageDefinition
    placements: tuple[Placement, ...]
    gaps: tuple[Gap, ...]

    def sequences(self) -> dict[str, tuple[Field, ...]]:
        """The fields placed in each sequence, by sequence label."""
        out: dict[str, list[Field]] = {}
        for p in self.placements:
            if p.row is not None and p.sequence is not None:
                out.setdefault(p.sequence, []).append(p.field)
        return {label: tuple(fields) for label, fields in out.items()}


# ------------------------------------------------------------------------ automaton

_Gap = tuple[FieldSpec | SequenceSpec, str | None]


class _Automaton:
    """States are positions in a definition; ``consume`` edges read one field with a
    row, ``eps`` edges move without reading (costing ``_MISSING`` when they pass a
    mandatory row or sequence, which they then name)."""

    def __init__(self, definition: MessageDefinition) -> None:
        self.rows: list[Row] = []
        self.row_sequence: list[str | None] = []
        self.consume: list[list[tuple[int, int]]] = []
        self.eps: list[list[tuple[int, int, _Gap | None]]] = []
        self.start = self._state()
        self.end = self._items(definition.items, self.start, None)

    def _state(self) -> int:
        self.consume.append([])
        self.eps.append([])
        return len(self.consume) - 1

    def _row(self, row: Row, sequence: str | None) -> int:
        self.rows.append(row)
        self.row_sequence.append(sequence)
        return len(self.rows) - 1

    def _items(self, items: Sequence[Item], state: int, sequence: str | None) -> int:
        for item in items:
            state = self._item(item, state, sequence)
        return state

    def _item(self, item: Item, s: int, sequence: str | None) -> int:
        if isinstance(item, AnyFields):  # any number of copied fields, here
            self.consume[s].append((self._row(item, item.label), s))
            return s
        gap: _Gap | None = (item, sequence) if item.mandatory else None
        if isinstance(item, FieldSpec):
            row, t = self._row(item, sequence), self._state()
            self.consume[s].append((row, t))
            self.eps[s].append((t, _MISSING if item.mandatory else 0, gap))
            if item.max_count is None:
                self.consume[t].append((row, t))
            for _ in range((item.max_count or 1) - 1):  # bounded repeats: optional copies
                u = self._state()
                self.consume[t].append((row, u))
                self.eps[t].append((u, 0, None))
                t = u
            return t
        inner = self._state()
        self.eps[s].append((inner, 0, None))
        inner_end = self._items(item.items, inner, item.label)
        e = self._state()
        self.eps[inner_end].append((e, 0, None))
        self.eps[s].append((e, _MISSING if item.mandatory else 0, gap))
        if item.max_count is None:
            self.eps[inner_end].append((inner, 0, None))
        return e


@cache
def _automaton(definition: MessageDefinition) -> _Automaton:
    return _Automaton(definition)


_INF = 1 << 30
# Costs of the alignment. A missing row costs a bit more than a field left out, so an
# extra field is reported as such rather than as the start of a copy or a repetition
# that leaves a row empty. A field in a letter option its row does not allow costs more
# than leaving it out, so it takes the row only when the row would otherwise be missing
# (50B for 50a: one finding), never another field's place (77T on 77B).
_SKIP, _MISSING, _OPTION = 2, 3, 4


def _closure(
    auto: _Automaton, dist: list[int]
) -> tuple[list[int], dict[int, tuple[int, _Gap | None]]]:
    """Cheapest costs after epsilon moves (Dijkstra), with each improved state's parent."""
    dist = dist[:]
    back: dict[int, tuple[int, _Gap | None]] = {}
    heap = [(d, s) for s, d in enumerate(dist) if d < _INF]
    heapq.heapify(heap)
    done: set[int] = set()
    while heap:
        d, s = heapq.heappop(heap)
        if s in done or d > dist[s]:
            continue
        done.add(s)
        for t, cost, gap in auto.eps[s]:
            if t not in done and d + cost < dist[t]:
                dist[t] = d + cost
                back[t] = (s, gap)
                heapq.heappush(heap, (dist[t], t))
    return dist, back


def align(fields: Sequence[Field], definition: MessageDefinition) -> Layout:
    """The cheapest alignment of ``fields`` with ``definition`` (see module docstring)."""
    auto = _automaton(definition)
    n_states = len(auto.consume)
    dist = [_INF] * n_states
    dist[auto.start] = 0
    eps_back: list[dict[int, tuple[int, _Gap | None]]] = []
    step_back: list[dict[int, tuple[int, Op, int]]] = []
    for f in fields:
        dist, eback = _closure(auto, dist)
        eps_back.append(eback)
        nxt = [_INF] * n_states
        sback: dict[int, tuple[int, Op, int]] = {}
        for q, d in enumerate(dist):
            if d >= _INF:
                continue
            for row, t in auto.consume[q]:
                spec = auto.rows[row]
                op: Op
                if spec.accepts(f.tag):
                    cost, op = d, "match"
                elif isinstance(spec, FieldSpec) and spec.number == f.number:
                    cost, op = d + _OPTION, "option"
                else:
                    continue
                if cost < nxt[t]:
                    nxt[t], sback[t] = cost, (q, op, row)
            if d + _SKIP < nxt[q]:  # leave the field out
                nxt[q], sback[q] = d + _SKIP, (q, "skip", -1)
        step_back.append(sback)
        dist = nxt
    dist, eback = _closure(auto, dist)
    eps_back.append(eback)
    return _trace(auto, definition, fields, eps_back, step_back)


def _trace(
    auto: _Automaton,
    definition: MessageDefinition,
    fields: Sequence[Field],
    eps_back: list[dict[int, tuple[int, _Gap | None]]],
    step_back: list[dict[int, tuple[int, Op, int]]],
) -> Layout:
    placements: list[Placement] = []
    gaps: list[Gap] = []
    state = auto.end
    for layer in range(len(fields), -1, -1):
        while state in eps_back[layer]:
            state, gap = eps_back[layer][state]
            if gap is not None:
                gaps.append(Gap(gap[0], gap[1], layer))
        if layer == 0:
            break
        state, op, row = step_back[layer - 1][state]
        f = fields[layer - 1]
        if row < 0:
            placements.append(Placement(f, op, row, None, None))
        else:
            placements.append(Placement(f, op, row, auto.rows[row], auto.row_sequence[row]))
    return Layout(definition, tuple(reversed(placements)), tuple(reversed(gaps)))


# ------------------------------------------------------------------------- findings


def check_message(message: MtMessage) -> Iterator[Finding]:
    """``message``'s fields and sequences against its type's definition, then the
    type's network validated rules; at most :data:`~gateway.mt.MAX_FINDINGS`."""
    message_id = message.message_id
    if message_id is None:
        return  # no block 2: the structure findings of gateway.mt say so
    definition = DEFINITIONS.get(str(message_id))
    if definition is None:
        b2 = message.app_header
        yield finding(
            "mt.type_unsupported",
            f"No definition for {message_id}: only the FIN structure is checked.",
            line=b2.line if b2 is not None else None,
            mt_tag="{2:}",
            context={"message_id": str(message_id)},
        )
        return
    text = message.text
    if text is None:
        return  # no text block: the structure findings of gateway.mt say so
    layout = align(text.fields, definition)
    data = RuleInput(message, text.fields, layout.sequences())
    found = [*_structure(layout, text.line), *check_network(definition.message_id, data)]
    yield from islice(found, MAX_FINDINGS)
    if len(found) > MAX_FINDINGS:
        more = len(found) - MAX_FINDINGS
        yield finding("mt.too_many_findings", f"{more} more message findings not listed.")


def _label(definition: MessageDefinition) -> str:
    """``MT 103 STP`` for ``fin.103.STP``."""
    return "MT " + " ".join(definition.message_id.split(".")[1:])


def _context(sequence: str | None, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"swift_error": _STRUCTURE_ERROR}
    if sequence is not None:
        context["sequence"] = sequence
    return {**context, **extra}


def _structure(layout: Layout, block_line: int) -> Iterator[Finding]:
    definition, placements = layout.definition, layout.placements
    mt = _label(definition)
    auto = _automaton(definition)
    used = {p.row_id for p in placements if p.row is not None}
    misplaced: list[Field] = []
    for p in placements:
        f = p.field
        if p.op == "option" and isinstance(p.row, FieldSpec):
            allowed = ", ".join(p.row.tags)
            yield finding(
                "mt.field_unexpected",
                f"{mt}: {f.tag} is not an allowed option of field {p.row.tag} "
                f"({p.row.name}); allowed: {allowed}.",
                mt_tag=f.location,
                line=f.line,
                context=_context(p.sequence, allowed=list(p.row.tags)),
            )
        elif p.op == "skip":
            kind, message, extra = _left_out(f, auto.rows, used, mt)
            if kind == "mt.field_order":
                misplaced.append(f)
            yield finding(
                kind, message, mt_tag=f.location, line=f.line, context=_context(None, **extra)
            )
    fields = [p.field for p in placements]
    for gap in layout.gaps:
        item = gap.item
        if isinstance(item, FieldSpec) and any(item.accepts(f.tag) for f in misplaced):
            continue  # the field is there, out of order: that finding says it
        line = fields[gap.before].line if gap.before < len(fields) else None
        if line is None:
            line = fields[-1].line if fields else block_line
        if isinstance(item, SequenceSpec):
            where = item.location
            message = f"{mt}: mandatory {item.location} ({item.name}) is missing."
        else:
            where, message = (
                f":{item.tag}:",
                f"{mt}: mandatory field {item.tag} ({item.name}) is missing.",
            )
            if gap.sequence is not None and len(gap.sequence) == 1:
                message = message[:-1] + f" in sequence {gap.sequence}."
        yield finding(
            "mt.field_missing", message, mt_tag=where, line=line, context=_context(gap.sequence)
        )


def _left_out(
    f: Field, rows: Sequence[Row], used: set[int], mt: str
) -> tuple[str, str, dict[str, Any]]:
    """Why a field the alignment left out does not fit: code, message, context.

    No row takes the tag: unexpected (naming the options of its field number, if the
    type has it). Every row that takes it is bounded and was used: repeated. Else the
    field stands where the table does not allow it: order.
    """
    accepting = [i for i, r in enumerate(rows) if r.accepts(f.tag)]
    if not accepting:
        numbered = (r for r in rows if isinstance(r, FieldSpec) and r.number == f.number)
        same = sorted({t for r in numbered for t in r.tags})
        if same:
            message = (
                f"{mt}: field {f.tag} is not allowed; field {f.number} takes {', '.join(same)}."
            )
            return "mt.field_unexpected", message, {"allowed": same}
        message = f"{mt}: field {f.tag} is not defined for this message type."
        return "mt.field_unexpected", message, {}
    limits = [_limit(rows[i]) for i in accepting]
    if all(limit is not None for limit in limits) and all(i in used for i in accepting):
        most = sum(limit or 0 for limit in limits)
        message = f"{mt}: field {f.tag} occurs more often than allowed (at most {most})."
        return "mt.field_repeated", message, {"max": most}
    message = f"{mt}: field {f.tag} is out of order{_between(rows, accepting[0])}."
    return "mt.field_order", message, {}


def _between(rows: Sequence[Row], i: int) -> str:
    """``; defined after 20 and before 32A`` for the row at ``i``."""
    before = next((r.tag for r in reversed(rows[:i]) if isinstance(r, FieldSpec)), None)
    after = next((r.tag for r in rows[i + 1 :] if isinstance(r, FieldSpec)), None)
    if before is None and after is None:
        return ""
    if before is None:
        return f"; it comes before {after}"
    return f"; it comes after {before}" + (f" and before {after}" if after else "")


def _limit(row: Row) -> int | None:
    """How often a row may occur (``None``: no limit)."""
    return row.max_count if isinstance(row, FieldSpec) else None
