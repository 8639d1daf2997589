"""Apply an MT mapping (:mod:`gateway.fin.mapping`) to one FIN user message.

One event per message (MT 103, 103 STP, 202 and 202 COV carry one transaction; an
MT 940/950 statement, an MT 900/910 notification, an n92 request and an n96 answer
are one event each, with their entries in lists). The rules are read in file order;
each reads its sources (fields, code words, block 3 tags, sender/receiver), records
where every value came from (the locator that gives a rule finding on
``debtor_account.iban`` the ``:50K:`` it was read from) and marks the units it
consumed (sequences and their occurrences: :mod:`gateway.fin.mapping_layout`; an
``each`` item reads the fields of its occurrence). Afterwards every unit present and
not consumed is one ``mapping.unmapped`` warning per field or block 3 tag (never silent data loss);
required data that is absent is ``mapping.missing_mandatory`` and a code outside its
map ``mapping.invalid_value`` (errors). Event ids are uuid5 of ``seed:position`` in the
namespace of the MX engine, so the same payload from the same tenant always yields
the same id. Nothing here raises on message content.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.fin.field_base import Text
from gateway.fin.fields import FIELD_SPECS, Code, FieldValue, parse_field
from gateway.fin.mapping import FinMapping
from gateway.fin.mapping_compile import OUTSIDE, Rule
from gateway.fin.mapping_layout import places_of
from gateway.fin.mapping_parts import PARTS, Kind, describe_unit, field_units, kind_of, words_of
from gateway.fin.values import mt_header
from gateway.mapping.engine import EVENT_NAMESPACE
from gateway.mt import Field, MtMessage
from gateway.report import Finding, Location, finding

__all__ = ["MtLocator", "MtMapResult", "run"]

#: (event index, dotted canonical field) -> the MT tag (and line) it was read from.
MtLocator = Callable[[int, str], Location | None]
_ALL = "*"


@dataclass(frozen=True, slots=True)
class _Src:
    """One selected source: what coverage calls it, its value and kind, where it is."""

    key: tuple[str, str]  # ("f", field index) or ("3", block 3 tag); ("h", name) headers
    value: Any
    kind: Kind
    location: Location
    word: int | None = None  # index of the code word in its field
    coded: bool = False  # the code word was selected by its code (`words: [ACC]`)


@dataclass(slots=True)
class MtMapResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    trace: dict[str, Location] = field(default_factory=dict)

    def locate(self, event: int, target: str) -> Location | None:
        """The MT location of canonical field ``target`` of event ``event``: the field
        it was read from, else that of its nearest mapped ancestor or descendant."""
        if event != 0 or not self.events:
            return None
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            hit = self.trace.get(".".join(parts[:end]))
            if hit is not None:
                return hit
        prefix = target + "."
        return next((loc for path, loc in self.trace.items() if path.startswith(prefix)), None)


class _Run:
    def __init__(self, message: MtMessage, mapping: FinMapping) -> None:
        self.message, self.mapping = message, mapping
        text = message.text
        self.fields: tuple[Field, ...] = text.fields if text is not None else ()
        self.parsed: dict[int, FieldValue | None] = {}
        self.places = places_of(message, self.fields) if mapping.uses_sequences else None
        self.scope: frozenset[int] | None = None  # the occurrence an `each` item reads
        self.consumed: dict[tuple[str, str], set[str]] = {}
        self.unreadable: set[int] = set()  # fields reported as not having their format
        self.result = MtMapResult()
        header = mt_header(message)
        self.header = {
            "sender": header.from_bic if header else None,
            "receiver": header.to_bic if header else None,
        }
        # Input messages come from the block 1 address to the block 2 receiver; output
        # messages from the block 2 MIR address to the block 1 address (mt_header).
        output = message.app_header is not None and message.app_header.direction == "O"
        self.header_block = {
            "sender": "{2:}" if output else "{1:}",
            "receiver": "{1:}" if output else "{2:}",
        }

    # -- sources -------------------------------------------------------------------

    def sequence_of(self, index: int) -> str | None:
        return self.places.sequences.get(index) if self.places is not None else None

    def value_of(self, index: int) -> FieldValue | None:
        if index not in self.parsed:
            f = self.fields[index]
            self.parsed[index] = (
                parse_field(f.tag, f.value) if f.tag in FIELD_SPECS else Text(f.value)
            )
        return self.parsed[index]

    def kind_of(self, index: int) -> Kind:
        tag = self.fields[index].tag
        return (kind_of(FIELD_SPECS[tag].kind) if tag in FIELD_SPECS else "text") or "text"

    def select(self, rule: Rule, inherited: _Src | None) -> list[_Src]:
        if rule.tags:
            return self._fields(rule)
        if rule.block3 is not None:
            return self._block3(rule.block3)
        if rule.header is not None:
            bic = self.header.get(rule.header)
            where = Location(mt_tag=self.header_block[rule.header])
            return [_Src(("h", rule.header), bic, "header", where)] if bic else []
        return [inherited] if inherited is not None else []

    def _fields(self, rule: Rule) -> list[_Src]:
        out: list[_Src] = []
        for i, f in enumerate(self.fields):
            if f.tag not in rule.tags:
                continue
            if rule.sequence is None:
                if self.scope is not None and i not in self.scope:
                    continue
            elif self.sequence_of(i) != (None if rule.sequence == OUTSIDE else rule.sequence):
                continue
            value = self.value_of(i)
            where = Location(line=f.line or None, mt_tag=f.location)
            if value is None:
                if i not in self.unreadable:
                    self.unreadable.add(i)
                    self._invalid(where, f"Field {f.tag} does not have its format: not mapped.")
                continue
            if rule.when is not None and not (isinstance(value, Code) and value.code in rule.when):
                continue
            if rule.kind != "word":
                out.append(_Src(("f", str(i)), value, self.kind_of(i), where))
                continue
            text = value.text if isinstance(value, Text) else ""
            for j, word in enumerate(words_of(text)):
                if rule.words is not None and word.code not in rule.words:
                    continue
                if rule.words_except is not None and word.code in rule.words_except:
                    continue
                coded = rule.words is not None
                out.append(_Src(("f", str(i)), word, "word", where, j, coded))
        return out

    def _block3(self, tag: str) -> list[_Src]:
        block = self.message.user_header
        for item in block.items if block is not None else ():
            if item.tag == tag:
                where = Location(line=item.line or None, mt_tag=f"{{3:{tag}}}")
                return [_Src(("3", tag), item.value, "block3", where)]
        return []

    # -- values --------------------------------------------------------------------

    def read(self, src: _Src, part_name: str) -> Any:
        part = PARTS[src.kind][part_name]
        value = part.read(src.value)
        if value is None or value in ([], ""):
            return None
        units = self.consumed.setdefault(src.key, set())
        if src.word is not None:
            units.update(f"word{src.word}.{unit}" for unit in part.units)
            if src.coded:
                units.add(f"word{src.word}.code")
        elif part.units == (_ALL,):
            units.add(_ALL)
        else:
            units.update(part.units)
        return value

    def evaluate(self, rule: Rule, inherited: _Src | None, path: str) -> Any:
        value = self._evaluate(rule, inherited, path)
        if value is None and rule.required:
            tags = [r.mt_tag for r in (rule, *rule.alternatives) if r.mt_tag]
            where = tags[0] if tags else inherited.location.mt_tag if inherited else None
            self.result.findings.append(
                finding(
                    "mapping.missing_mandatory",
                    f"{path} is required by the canonical event but {where or 'its source'} "
                    "does not give it.",
                    mt_tag=where,
                    context={"field": path},
                )
            )
        return value

    def _evaluate(self, rule: Rule, inherited: _Src | None, path: str) -> Any:
        if rule.first:
            for alt in rule.first:
                value = self.evaluate(alt, inherited, path)
                if value is not None:
                    return value
            return None
        if rule.all:
            items: list[Any] = []
            for alt in rule.all:
                items.extend(self.evaluate(alt, inherited, path) or ())
            return items or None
        if rule.join:
            texts = [self.evaluate(alt, inherited, path) for alt in rule.join]
            return "\n".join(t for t in texts if t) or None
        if rule.value is not None:
            value = self.literal(rule, inherited, path)
        elif not rule.has_source and rule.part is None:  # an object read from the same source
            value = self.object(rule.children, inherited, path)
        else:
            sources = self.select(rule, inherited)
            if rule.each is not None:
                return self.each(rule, sources, path)
            if rule.many:
                return _flat(self.one(rule, src, path) for src in sources)
            value = self.one(rule, sources[0], path) if sources else None
        if rule.is_list and value is not None and not isinstance(value, list):
            return [value]
        return value

    def literal(self, rule: Rule, inherited: _Src | None, path: str) -> Any:
        """A rule's ``value``: when its source is present (always, without one)."""
        if not rule.has_source:
            if inherited is not None:
                self.result.trace.setdefault(path, inherited.location)
            return rule.value
        sources = self.select(rule, inherited)
        if not sources:
            return None
        self.result.trace.setdefault(path, sources[0].location)
        return rule.value

    def each(self, rule: Rule, sources: list[_Src], path: str) -> list[Any] | None:
        """One item per source, each read within its sequence occurrence."""
        items: list[Any] = []
        outer = self.scope
        for src in sources:
            index = int(src.key[1])
            self.scope = self.places.occurrence(index) if self.places else frozenset({index})
            try:
                item = self.one(rule, src, path)
            finally:
                self.scope = outer
            if item is not None:
                items.append(item)
        return items or None

    def one(self, rule: Rule, src: _Src, path: str) -> Any:
        if rule.children:
            return self.object(rule.children, src, path)
        value = self.read(src, rule.part or "text")
        if value is None:
            return None
        if rule.codes is not None:
            if value not in rule.codes:
                allowed = ", ".join(sorted(rule.codes))
                self._invalid(src.location, f"{path}: {value!r} is not one of {allowed}.")
                return None
            value = rule.codes[value]
        self.result.trace.setdefault(path, src.location)
        return value

    def object(self, rules: tuple[Rule, ...], src: _Src | None, path: str) -> Any:
        out: dict[str, Any] = {}
        for rule in rules:
            here = f"{path}.{rule.target}" if path else rule.target
            value = self.evaluate(rule, src, here)
            if value is not None:
                out[rule.target] = _merge(out.get(rule.target), value)
        return out or None

    def _invalid(self, where: Location, why: str) -> None:
        self.result.findings.append(
            finding("mapping.invalid_value", why, line=where.line, mt_tag=where.mt_tag)
        )

    # -- coverage ------------------------------------------------------------------

    def not_carried(self) -> None:
        for item in self.mapping.not_carried:
            if item.block3 is not None:
                self.consumed.setdefault(("3", item.block3), set()).add(_ALL)
                continue
            for i, f in enumerate(self.fields):
                if f.tag == item.tag and (not item.values or f.value.strip() in item.values):
                    self.consumed.setdefault(("f", str(i)), set()).add(_ALL)

    def unmapped(self) -> list[Finding]:
        out: list[Finding] = []
        for i, f in enumerate(self.fields):
            value = self.value_of(i)
            units = field_units(value, self.kind_of(i)) if value is not None else {"value"}
            done = self.consumed.get(("f", str(i)), set())
            left = set() if _ALL in done else units - done
            if not left:
                continue
            words = words_of(value.text) if isinstance(value, Text) else ()
            parts = sorted({describe_unit(unit, words, left) for unit in left})
            what = "is present" if left == units else f"has {', '.join(parts)}"
            out.append(
                finding(
                    "mapping.unmapped",
                    f"Field {f.tag} {what} but no mapping rule carries it into the "
                    "canonical event.",
                    line=f.line or None,
                    mt_tag=f.location,
                    context={"parts": parts},
                )
            )
        block = self.message.user_header
        for item in block.items if block is not None else ():
            if ("3", item.tag) not in self.consumed:
                out.append(
                    finding(
                        "mapping.unmapped",
                        f"Block 3 tag {item.tag} is present but no mapping rule carries it "
                        "into the canonical event.",
                        line=item.line or None,
                        mt_tag=f"{{3:{item.tag}}}",
                    )
                )
        return out


def _flat(values: Any) -> list[Any] | None:
    """The values present, list values flattened (``many`` over a list part)."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return out or None


def _merge(current: Any, value: Any) -> Any:
    if isinstance(current, dict) and isinstance(value, dict):
        out = dict(current)
        for key, item in value.items():
            out[key] = _merge(out.get(key), item)
        return out
    return value


def run(
    message: MtMessage, mapping: FinMapping, *, seed: str, source: dict[str, Any]
) -> MtMapResult:
    """See :func:`gateway.fin.mapping.map_mt`."""
    state = _Run(message, mapping)
    values = state.object(mapping.rules, None, "") or {}
    state.not_carried()
    result = state.result
    result.findings.extend(state.unmapped())
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{seed}:0")),
        "event_type": mapping.event_type,
        "schema_version": "1",
        "source": {**source, "transaction_index": 0, "mapping": mapping.label},
    }
    event.update(values)
    result.events.append(event)
    return result
