"""Apply a compiled mapping to a parsed Document: canonical events plus findings.

For each scope element (the message, then each iterated element) the engine
walks the element's subtree once and indexes it by relative path of local
names; every field is then a dictionary look-up. The same index tells which
leaf elements no rule consumed: they become ``mapping.unmapped`` findings,
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

from gateway.mapping.spec import CompiledField, Mapping, Scope
from gateway.report import Finding, finding

__all__ = ["EVENT_NAMESPACE", "MapResult", "map_inbound"]

#: uuid5 namespace of event ids: the same message (and tenant) always yields the same ids.
EVENT_NAMESPACE = uuid.UUID("8a0e4a34-3f5e-5b4e-9f5b-3c2f1f0c6b1d")

Path = tuple[str, ...]
Index = dict[Path, list[etree._Element]]
#: The xs:decimal lexical space (after whitespace collapsing): "+1", "10.", ".5", "-0.50".
_XS_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _decimal(text: str | None) -> str | None:
    """The canonical decimal string of an xs:decimal value ("+0100.50" -> "100.50", "10." ->
    "10", ".5" -> "0.5"; fraction digits as written), or None when it is not one."""
    if text is None:
        return None
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


def _join(scope_path: str, here: Path) -> str:
    return f"{scope_path}/{'/'.join(here)}"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


#: tag -> local name, and (parent path, local name) -> path: the same few hundred tags and
#: paths recur in every message of a type, so they are built once (bounded: hostile input
#: with ever new names falls back to building them per element).
_LOCALS: dict[str, str] = {}
_PATHS: dict[tuple[Path, str], Path] = {}
_CACHE_LIMIT = 50_000


def _index(element: etree._Element, stop: Path | None) -> tuple[Index, list[etree._Element]]:
    """Index ``element``'s descendants by relative path, in document order; elements
    at ``stop`` are returned separately and not descended into."""
    index: Index = {}
    stopped: list[etree._Element] = []
    stack: list[tuple[etree._Element, Path]] = [(element, ())]
    locals_, paths = _LOCALS, _PATHS
    while stack:
        node, path = stack.pop()
        pending: list[tuple[etree._Element, Path]] = []
        for child in node:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            local = locals_.get(tag)
            if local is None:
                local = tag.rpartition("}")[2]
                if len(locals_) < _CACHE_LIMIT:
                    locals_[tag] = local
            here = paths.get((path, local))
            if here is None:
                here = (*path, local)
                if len(paths) < _CACHE_LIMIT:
                    paths[(path, local)] = here
            if here == stop:
                stopped.append(child)
                continue
            found = index.get(here)
            if found is None:
                index[here] = [child]
            else:
                found.append(child)
            if len(child):  # only elements with children (or comments) are walked
                pending.append((child, here))
        stack.extend(reversed(pending))  # pop in document order
    return index, stopped


class _Run:
    def __init__(self, mapping: Mapping, seed: str, source: dict[str, Any]) -> None:
        self.mapping = mapping
        self.seed = seed
        self.source = source
        self.findings: list[Finding] = []
        self.unmapped: dict[str, _Unmapped] = {}

    # -- values ------------------------------------------------------------------

    def _convert(
        self, spec: CompiledField, element: etree._Element, scope_path: str, here: Path
    ) -> Any:
        # A comment or processing instruction splits an element's text: join all of it.
        text = element.text if len(element) == 0 else "".join(element.itertext())
        if spec.type == "string" and spec.codes is None:
            return text
        if spec.type == "amount":
            currency = element.get("Ccy")
            value = _decimal(text)
            if value is None or currency is None:
                self._invalid(
                    element, scope_path, here, "an amount needs a decimal value and a Ccy"
                )
                return None
            return {"value": value, "currency": currency}
        if text is None:
            return None
        if spec.type == "bool":
            flag = text.strip()
            if flag in ("true", "1"):
                return True
            if flag in ("false", "0"):
                return False
            self._invalid(element, scope_path, here, f"{flag!r} is not a boolean")
            return None
        if spec.type == "decimal":
            number = _decimal(text)
            if number is None:
                self._invalid(element, scope_path, here, f"{text!r} is not a decimal")
            return number
        if spec.codes is not None:
            table = dict(spec.codes)
            if text not in table:
                self._invalid(element, scope_path, here, f"code {text!r} has no mapping")
                return None
            return table[text]
        return text

    def _invalid(self, element: etree._Element, scope_path: str, here: Path, why: str) -> None:
        where = _join(scope_path, here)
        self.findings.append(
            finding(
                "mapping.invalid_value",
                f"{where}: {why}.",
                line=element.sourceline,
                xpath=where,
            )
        )

    def values(
        self,
        fields: tuple[CompiledField, ...],
        index: Index,
        scope_el: etree._Element,
        scope_path: str,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in fields:
            here = spec.rel
            value: Any = None
            present = False  # a required object is satisfied by its element being there
            if spec.children and not spec.many:
                # An element's ancestors are indexed too: absent path => nothing below it.
                if not spec.path:
                    group = self.values(spec.children, index, scope_el, scope_path)
                    value = _Group(group) if group else None
                elif here in index:
                    present = True
                    value = self.values(spec.children, index, scope_el, scope_path) or None
            else:
                found = index.get(here) if spec.path else None
                if not found:
                    pass
                elif spec.many:
                    items = []
                    for element in found:
                        if spec.children:
                            sub, _ = _index(element, None)
                            where = _join(scope_path, here)
                            item = self.values(spec.children, sub, element, where)
                        else:
                            item = self._convert(spec, element, scope_path, here)
                        if item:
                            items.append(item)
                    value = items or None
                else:
                    value = self._convert(spec, found[0], scope_path, here)
                    if len(found) > 1:
                        self._note_unmapped(_join(scope_path, here), found[1], len(found) - 1)
            if value is None:
                if spec.required and not present:
                    where = _join(scope_path, here)
                    self.findings.append(
                        finding(
                            "mapping.missing_mandatory",
                            f"{where} is required by the canonical event but absent.",
                            line=scope_el.sourceline,
                            xpath=where,
                        )
                    )
                continue
            out[spec.target] = value
        return out

    # -- coverage ----------------------------------------------------------------

    def _note_unmapped(self, path: str, element: etree._Element, count: int = 1) -> None:
        entry = self.unmapped.get(path)
        if entry is None:
            self.unmapped[path] = _Unmapped(count, element.sourceline)
        else:
            entry.count += count

    def coverage(self, index: Index, covered: set[Path], scope_path: str) -> None:
        # ``covered``: read paths and their ancestors; only the rest can hold lost data.
        for path in index.keys() - covered:
            for element in index[path]:
                if len(element) == 0 or not any(isinstance(c.tag, str) for c in element):
                    if not element.attrib and not "".join(element.itertext()).strip():
                        continue  # an empty element carries nothing that could be lost
                    self._note_unmapped(f"{scope_path}/{'/'.join(path)}", element)

    # -- scopes ------------------------------------------------------------------

    def walk(
        self,
        scope: Scope,
        element: etree._Element,
        absolute: Path,
        inherited: dict[str, Any],
        counter: Iterator[int],
        result: MapResult,
        chain: tuple[etree._Element, ...],
    ) -> None:
        scope_path = "/Document/" + "/".join(absolute)
        index, children = _index(element, scope.each.path if scope.each else None)
        own = self.values(scope.fields, index, element, scope_path)
        self.coverage(index, self.mapping.consumed.get(absolute, set()), scope_path)
        merged = _merge(inherited, own)
        chain = (*chain, element)
        if scope.each is None or not children:
            # no iteration element (a group-only pacs.002 status, a camt.056 cancelling a
            # whole group): one event carries what the message says, never nothing
            result.events.append(self.event(merged, next(counter)))
            result.scopes.append(chain)
            return
        for child in children:
            path = absolute + scope.each.path
            self.walk(scope.each, child, path, merged, counter, result, chain)

    def event(self, values: dict[str, Any], position: int) -> dict[str, Any]:
        event_id = str(uuid.uuid5(EVENT_NAMESPACE, f"{self.seed}:{position}"))
        head: dict[str, Any] = {
            "event_id": event_id,
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
    run.walk(mapping.root, top[0], mapping.root.path, {}, counter, result, ())
    result.findings.extend(run.findings)
    result.findings.extend(run.unmapped_findings())
    return result
