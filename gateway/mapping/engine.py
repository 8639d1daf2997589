"""Apply a compiled mapping to a parsed Document: canonical events plus findings.

For each scope element (the message, then each iterated element) the engine
walks the element's subtree once, filing each element under the node of the
mapping's path trie it reaches (:mod:`gateway.mapping.plan`); every field is then
a list look-up. Elements outside the paths the fields read are those no rule
consumed: leaves among them that carry data become ``mapping.unmapped`` findings,
aggregated per path with a count and the first line (no silent data loss).
A field marked ``required`` that is absent is a ``mapping.missing_mandatory``
finding; nothing is ever filled in by default.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway.ids import uuid5_text
from gateway.mapping.plan import (
    EVALUATE,
    LEAF,
    MANY,
    OBJECT,
    Found,
    Loose,
    Op,
    ScopePlan,
    plan_of,
    walk,
    walk_item,
)
from gateway.mapping.spec import Mapping
from gateway.report import Finding, finding

__all__ = ["EVENT_NAMESPACE", "MapResult", "map_inbound"]

#: uuid5 namespace of event ids: the same message (and tenant) always yields the same ids.
EVENT_NAMESPACE = uuid.UUID("8a0e4a34-3f5e-5b4e-9f5b-3c2f1f0c6b1d")

#: The xs:decimal lexical space (after whitespace collapsing): "+1", "10.", ".5", "-0.50".
_XS_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
#: Decimals already in canonical form ("1250.00", "0.5", "0"): no sign, no leading zero,
#: digits after a point.
_CANONICAL = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def _decimal(text: str | None) -> str | None:
    """The canonical decimal string of an xs:decimal value ("+0100.50" -> "100.50", "10." ->
    "10", ".5" -> "0.5"; fraction digits as written), or None when it is not one."""
    if text is None:
        return None
    if _CANONICAL.fullmatch(text):
        return text
    value = text.strip()
    if not _XS_DECIMAL.match(value):
        return None
    number = Decimal(value)
    return format(number.copy_abs() if number.is_zero() else number, "f")


@dataclass(slots=True)
class MapResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: per event, the scope elements it was read from (outermost first): locates fields
    scopes: list[tuple[etree._Element, ...]] = field(default_factory=list)


@dataclass(slots=True)
class _Unmapped:
    count: int
    line: int | None


def _join(scope_path: str, here: tuple[str, ...]) -> str:
    return f"{scope_path}/{'/'.join(here)}"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(element: etree._Element) -> str | None:
    # A comment or processing instruction splits an element's text: join all of it.
    return element.text if len(element) == 0 else "".join(element.itertext())


def _blank(element: etree._Element) -> bool:
    """No attribute and no text (of a leaf): nothing that could be lost."""
    return not element.attrib and not "".join(element.itertext()).strip()


class _Run:
    def __init__(self, mapping: Mapping, seed: str, source: dict[str, Any]) -> None:
        self.mapping = mapping
        self.seed = seed
        self.source = source
        self.findings: list[Finding] = []
        self.unmapped: dict[str, _Unmapped] = {}

    # -- values ------------------------------------------------------------------

    def _convert(self, op: Op, element: etree._Element, scope_path: str) -> Any:
        text = _text(element)
        kind = op.type
        if kind == "amount":
            currency = element.get("Ccy")
            value = _decimal(text)
            if value is None or currency is None:
                self._invalid(
                    element, scope_path, op.rel, "an amount needs a decimal value and a Ccy"
                )
                return None
            return {"value": value, "currency": currency}
        if text is None:
            return None
        if kind == "bool":
            flag = text.strip()
            if flag in ("true", "1"):
                return True
            if flag in ("false", "0"):
                return False
            self._invalid(element, scope_path, op.rel, f"{flag!r} is not a boolean")
            return None
        if kind == "decimal":
            number = _decimal(text)
            if number is None:
                self._invalid(element, scope_path, op.rel, f"{text!r} is not a decimal")
            return number
        table = op.codes
        if table is not None:
            if text not in table:
                self._invalid(element, scope_path, op.rel, f"code {text!r} has no mapping")
                return None
            return table[text]
        return text

    def _invalid(
        self, element: etree._Element, scope_path: str, here: tuple[str, ...], why: str
    ) -> None:
        where = _join(scope_path, here)
        self.findings.append(
            finding(
                "mapping.invalid_value",
                f"{where}: {why}.",
                line=element.sourceline,
                xpath=where,
            )
        )

    def _missing(self, op: Op, scope_el: etree._Element, scope_path: str) -> None:
        where = _join(scope_path, op.rel)
        self.findings.append(
            finding(
                "mapping.missing_mandatory",
                f"{where} is required by the canonical event but absent.",
                line=scope_el.sourceline,
                xpath=where,
            )
        )

    def values(
        self, ops: tuple[Op, ...], found: Found, scope_el: etree._Element, scope_path: str
    ) -> dict[str, Any]:
        """The values of ``ops`` read from ``found`` (elements by slot)."""
        out: dict[str, Any] = {}
        for op in ops:
            value: Any
            elements = found[op.slot]
            if elements is None:
                absent = op.absent
                if absent == EVALUATE:  # a dotted group: its fields have elements
                    value = self.values(op.children, found, scope_el, scope_path)
                    if value:
                        out[op.target] = _Group(value)
                    elif op.required:
                        self._missing(op, scope_el, scope_path)
                elif absent:
                    self._missing(op, scope_el, scope_path)
                continue
            kind = op.kind
            if kind == LEAF:
                element = elements[0]
                if op.plain:
                    value = element.text if len(element) == 0 else "".join(element.itertext())
                else:
                    value = self._convert(op, element, scope_path)
                if len(elements) > 1:
                    self._note_unmapped(_join(scope_path, op.rel), elements[1], len(elements) - 1)
            elif kind == OBJECT:
                # present: a required object is satisfied by its element being there
                value = self.values(op.children, found, scope_el, scope_path)
                if value:
                    out[op.target] = value
                continue
            elif kind == MANY:
                items = [self._convert(op, element, scope_path) for element in elements]
                value = [item for item in items if item] or None
            else:
                assert op.item is not None
                where = _join(scope_path, op.rel)
                items = []
                for element in elements:
                    sub = walk_item(element, op.item, op.item_size)
                    item = self.values(op.children, sub, element, where)
                    if item:
                        items.append(item)
                value = items or None
            if value is None:
                if op.absent:
                    self._missing(op, scope_el, scope_path)
                continue
            out[op.target] = value
        return out

    # -- coverage ----------------------------------------------------------------

    def _note_unmapped(self, path: str, element: etree._Element, count: int = 1) -> None:
        entry = self.unmapped.get(path)
        if entry is None:
            self.unmapped[path] = _Unmapped(count, element.sourceline)
        else:
            entry.count += count

    def coverage(self, loose: list[Loose], scope_path: str) -> None:
        """Elements no field reads that carry data: leaves with text or attributes."""
        for element, path, deep in loose:
            if deep:
                self._uncovered(element, f"{scope_path}/{path}")
            elif not any(isinstance(c.tag, str) for c in element) and not _blank(element):
                self._note_unmapped(f"{scope_path}/{path}", element)

    def _uncovered(self, element: etree._Element, path: str) -> None:
        children = [c for c in element if isinstance(c.tag, str)]
        if not children:
            if not _blank(element):
                self._note_unmapped(path, element)
            return
        for child in children:
            self._uncovered(child, f"{path}/{_local(child.tag)}")

    # -- scopes ------------------------------------------------------------------

    def walk(
        self,
        plan: ScopePlan,
        element: etree._Element,
        inherited: dict[str, Any],
        counter: Iterator[int],
        result: MapResult,
        chain: tuple[etree._Element, ...],
    ) -> None:
        found, children, loose = walk(element, plan.root, plan.size)
        own = self.values(plan.ops, found, element, plan.path)
        if loose:
            self.coverage(loose, plan.path)
        merged = _merge(inherited, own)
        chain = (*chain, element)
        if plan.each is None or not children:
            # no iteration element (a group-only pacs.002 status, a camt.056 cancelling a
            # whole group): one event carries what the message says, never nothing
            result.events.append(self.event(merged, next(counter)))
            result.scopes.append(chain)
            return
        for child in children:
            self.walk(plan.each, child, merged, counter, result, chain)

    def event(self, values: dict[str, Any], position: int) -> dict[str, Any]:
        head: dict[str, Any] = {
            "event_id": uuid5_text(EVENT_NAMESPACE, f"{self.seed}:{position}"),
            "event_type": self.mapping.event_type,
            "schema_version": "1",
            "source": {**self.source, "transaction_index": position},
        }
        head.update(values)
        return head

    def unmapped_findings(self) -> list[Finding]:
        return [
            finding(
                "mapping.unmapped",
                f"{path} is present ({entry.count}x) but no mapping rule carries it "
                f"into the canonical event.",
                line=entry.line,
                xpath=path,
                context={"count": entry.count},
            )
            for path, entry in sorted(self.unmapped.items())
        ]


class _Group(dict[str, Any]):
    """Values of dotted targets (``ids.end_to_end_id``): merged field by field with the
    same object from an outer scope. Any other object (a party, an agent, an account read
    from one element) replaces the outer one whole, so two levels never blend into one
    party that the message does not contain."""


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    if not base:
        return over
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        if isinstance(value, _Group) and isinstance(current, dict):
            out[key] = _Group(_merge(current, value))
        else:
            out[key] = value
    return out


def map_inbound(
    document: etree._Element, mapping: Mapping, *, seed: str, source: dict[str, Any]
) -> MapResult:
    """Map a ``Document`` element to canonical events (dicts shaped as
    :class:`gateway.events.PaymentEvent`)."""
    run = _Run(mapping, seed, {**source, "mapping": mapping.label})
    result = MapResult()
    top = [c for c in document if isinstance(c.tag, str) and _local(c.tag) == mapping.document]
    if not top:
        result.findings.append(
            finding(
                "mapping.missing_mandatory",
                f"Document has no {mapping.document} element.",
                line=document.sourceline,
                xpath="/Document",
            )
        )
        return result
    counter = iter(range(1 << 62))
    run.walk(plan_of(mapping), top[0], {}, counter, result, ())
    result.findings.extend(run.findings)
    result.findings.extend(run.unmapped_findings())
    return result
