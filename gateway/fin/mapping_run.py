"""Apply an MT mapping (:mod:`gateway.fin.mapping`) to one FIN user message.

One event per message (MT 103, 103 STP, 202 and 202 COV carry one transaction).
The rules are read in file order; each reads its sources (fields, code words, block 3
tags, sender/receiver), records where every value came from (the locator that gives a
rule finding on ``debtor_account.iban`` the ``:50K:`` it was read from) and marks the
units it consumed. Afterwards every unit present and not consumed is one
``mapping.unmapped`` warning per field or block 3 tag (never silent data loss);
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

from gateway.fin.definitions import DEFINITIONS
from gateway.fin.field_base import Text
from gateway.fin.fields import FIELD_SPECS, Code, FieldValue, parse_field
from gateway.fin.mapping import FinMapping, Rule
from gateway.fin.mapping_parts import PARTS, Kind, field_units, kind_of, words_of
from gateway.fin.messages import align
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
        self.sequences = self._sequences() if mapping.uses_sequences else {}
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

    def _sequences(self) -> dict[int, str | None]:
        message_id = self.message.message_id
        definition = DEFINITIONS.get(str(message_id)) if message_id is not None else None
        if definition is None:
            return {}
        layout = align(self.fields, definition)
        return {i: p.sequence for i, p in enumerate(layout.placements)}

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
            if rule.sequence is not None and self.sequences.get(i) != rule.sequence:
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
                out.append(_Src(("f", str(i)), word, "word", where, j))
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
            units.add(f"word{src.word}")
        elif part.units == (_ALL,):
            units.add(_ALL)
        else:
            units.update(part.units)
        return value

    def evaluate(self, rule: Rule, inherited: _Src | None, path: str) -> Any:
        value = self._evaluate(rule, inherited, path)
        if value is None and rule.required:
            tags = [r.mt_tag for r in (rule, *rule.first, *rule.all) if r.mt_tag]
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
        if not rule.has_source and rule.part is None:  # an object read from the same source
            value = self.object(rule.children, inherited, path)
        else:
            sources = self.select(rule, inherited)
            if rule.many:
                values = [self.one(rule, src, path) for src in sources]
                return [v for v in values if v is not None] or None
            value = self.one(rule, sources[0], path) if sources else None
        if rule.is_list and value is not None and not isinstance(value, list):
            return [value]
        return value

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
            parts = sorted(_describe(unit, words) for unit in left)
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


_UNITS = {
    "dc_mark": "the D/C mark",
    "details_8": "line 8/",
    "location": "the location",
    "account": "the account",
    "address_lines": "the address lines",
    "clearing_system": "the clearing system",
    "clearing_id": "the clearing member id",
    "identifiers": "the identifiers",
    "birth": "the date and place of birth",
}


def _describe(unit: str, words: tuple[Any, ...]) -> str:
    """``/BNF/`` for a code word, ``the D/C mark`` for a party unit."""
    if unit.startswith("word") and unit[4:].isdigit() and int(unit[4:]) < len(words):
        word = words[int(unit[4:])]
        return f"/{word.code}/" if word.code is not None else "text without a code word"
    return _UNITS.get(unit, f"the {unit}")


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
