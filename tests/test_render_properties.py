"""Property-based: events generated from a mapping's own targets survive render -> read.

For each mapped message id whose XSD is installed, a strategy is built from the compiled
mapping file and the XSD alone (not from the renderer): every field becomes a value of
its element's simple type (lengths, patterns, enumerations, digits; amounts with a
currency; booleans; dates), nested objects and ``many`` lists follow their elements.
Generated events are canonical events the message can carry, so ``map_outbound`` must
render them without a finding into an XSD-valid document that ``map_inbound`` reads back
as the same events, with either placement.

What the XSD makes impossible is left out of the strategy, never forced through the
renderer: one branch per ``xs:choice``; no element whose type has a mandatory child the
mapping cannot fill (e.g. ``AdrTp/Prtry`` needs ``Issr``, ``CtctDtls/Othr`` needs
``ChanlTp``); ``NOT_GENERATED`` lists those targets per message id and a test pins it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.events import PaymentEvent
from gateway.mapping import Mapping, map_inbound, map_outbound, render_xml
from gateway.mapping.render import IDENTITY, Placement
from gateway.mapping.spec import CompiledField, Scope
from gateway.pipeline import Gateway
from gateway.xsdmodel import XS_NAMESPACE, ChildInfo, XsdModel

MESSAGE_IDS = (
    "pacs.008.001.08",
    "pacs.008.001.12",
    "pain.001.001.09",
    "pain.001.001.03",
    "pacs.009.001.08",
)
_XS = "{" + XS_NAMESPACE + "}"
#: Targets the strategy never generates, and why: the XSD needs data the canonical
#: event has no field for, so no event can render them validly.
_ISSR = "Prtry is a GenericIdentification30 whose Issr is mandatory"
NOT_GENERATED_2019 = {
    "postal_address.address_type.proprietary": _ISSR,
    "contact.other": "CtctDtls/Othr needs ChanlTp",
}
_EQVT = {"amounts.equivalent": "Amt/EqvtAmt needs CcyOfTrf"}
NOT_GENERATED = {
    "pacs.008.001.08": NOT_GENERATED_2019,
    "pacs.009.001.08": NOT_GENERATED_2019,
    "pain.001.001.09": {**NOT_GENERATED_2019, **_EQVT},
    "pain.001.001.03": _EQVT,
    "pacs.008.001.12": {
        **NOT_GENERATED_2019,
        "remittance.structured.referred_documents.related_date": "RltdDt needs Tp",
    },
}

# XML 1.0 characters that survive a write/parse round trip in element text.
TEXT_CHARS = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    exclude_characters="\ufffe\uffff",
    include_characters="\t\n\r",
)
MAX_ITEMS = 2


# --- the XSD's simple types -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facets:
    base: str
    min_length: int = 0
    max_length: int | None = None
    patterns: tuple[str, ...] = ()
    enumeration: tuple[str, ...] = ()
    total_digits: int | None = None
    fraction_digits: int | None = None
    min_inclusive: Decimal | None = None


def read_facets(path: Path, model: XsdModel) -> dict[str, Facets]:
    root = etree.parse(str(path)).getroot()
    out: dict[str, Facets] = {}
    for simple in root.iterfind(f"{_XS}simpleType"):
        name = simple.get("name")
        restriction = simple.find(f"{_XS}restriction")
        values: dict[str, list[str]] = {}
        for facet in restriction:
            if isinstance(facet.tag, str):
                values.setdefault(etree.QName(facet).localname, []).append(facet.get("value"))

        def one(key: str, values: dict[str, list[str]] = values) -> str | None:
            return values[key][0] if key in values else None

        length = one("length")
        out[name] = Facets(
            base=model.builtin_base(name) or "?",
            min_length=int(length or one("minLength") or 0),
            max_length=int(length) if length else _int(one("maxLength")),
            patterns=tuple(values.get("pattern", ())),
            enumeration=tuple(values.get("enumeration", ())),
            total_digits=_int(one("totalDigits")),
            fraction_digits=_int(one("fractionDigits")),
            min_inclusive=Decimal(v) if (v := one("minInclusive")) else None,
        )
    return out


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def decimals(facets: Facets) -> st.SearchStrategy[str]:
    """Canonical decimal strings (as the inbound mapping normalises them)."""
    total = min(facets.total_digits or 18, 18)
    places = min(facets.fraction_digits if facets.fraction_digits is not None else 5, total - 1)
    negative_ok = facets.min_inclusive is None or facets.min_inclusive < 0

    @st.composite
    def build(draw: st.DrawFn) -> str:
        fraction = draw(st.integers(0, places))
        whole = draw(st.integers(0, 10 ** min(total - fraction, 12) - 1))
        digits = draw(st.text("0123456789", min_size=fraction, max_size=fraction))
        text = f"{whole}.{digits}" if fraction else str(whole)
        if negative_ok and Decimal(text) != 0 and draw(st.booleans()):
            text = "-" + text
        return text

    return build()


def strings(facets: Facets) -> st.SearchStrategy[str] | None:
    if facets.enumeration:
        return st.sampled_from(facets.enumeration)
    low, high = max(facets.min_length, 1), min(facets.max_length or 35, 35)
    if facets.patterns:
        options = []
        for pattern in facets.patterns:
            try:
                re.compile(pattern)
            except re.error:
                return None  # an XSD-only construct (e.g. \p{..}): not generated
            options.append(st.from_regex(pattern, fullmatch=True))
        return st.one_of(options).filter(lambda s: low <= len(s) <= (facets.max_length or 10**6))
    return st.text(TEXT_CHARS, min_size=low, max_size=high)


DATES = st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)).map(dt.date.isoformat)
TIMES = st.times().map(lambda t: t.isoformat())
ZONES = st.sampled_from(["", "Z", "+02:00", "-05:30"])
DATETIMES = st.builds(
    lambda d, z: d.isoformat() + z,
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)),
    ZONES,
)


class Types:
    """Value strategies for the simple types of one XSD."""

    def __init__(self, model: XsdModel, facets: dict[str, Facets]) -> None:
        self.model = model
        self.facets = facets

    def simple(self, type_name: str) -> Facets:
        info = self.model.complex_type(type_name)
        if info is not None and info.base is not None:  # simpleContent: an amount
            type_name = info.base
        return self.facets.get(type_name) or Facets(base=type_name)

    def leaf(self, item: CompiledField, type_name: str) -> st.SearchStrategy[Any] | None:
        facets = self.simple(type_name)
        if item.type == "amount":
            currency = self.model.attributes(type_name).get("Ccy")
            if currency is None:
                return None
            ccy = strings(self.facets[currency]) if currency in self.facets else None
            if ccy is None:
                return None
            return st.fixed_dictionaries({"value": decimals(facets), "currency": ccy})
        if item.type == "bool":
            return st.booleans() if facets.base == "xs:boolean" else None
        if item.type == "decimal":
            return decimals(facets) if facets.base == "xs:decimal" else None
        if item.codes is not None:
            allowed = set(facets.enumeration) if facets.enumeration else None
            values = sorted({v for k, v in item.codes if allowed is None or k in allowed})
            return st.sampled_from(values) if values else None
        if facets.base == "xs:string":
            return strings(facets)
        if facets.base == "xs:decimal":
            return decimals(facets)
        if facets.base == "xs:gYear":
            return st.integers(1900, 2200).map(str)
        return {"xs:date": DATES, "xs:dateTime": DATETIMES, "xs:time": TIMES}.get(facets.base)


# --- the mapping as a tree of elements ---------------------------------------------------


@dataclass(slots=True)
class Node:
    """An element the mapping writes: leaf values, a list, or child elements."""

    type_name: str
    label: str
    kids: dict[str, Node] = field(default_factory=dict)
    leaves: list[tuple[tuple[str, ...], CompiledField]] = field(default_factory=list)
    many: Many | None = None
    required: bool = False  # by the mapping


@dataclass(slots=True)
class Many:
    keys: tuple[str, ...]
    item: CompiledField
    tail: tuple[str, ...]  # steps below the repeated element
    leaf_type: str
    cap: int
    objects: Node | None = None  # object items: their own tree


class Tree:
    def __init__(self, model: XsdModel, types: Types) -> None:
        self.model = model
        self.types = types
        self._feasible: dict[int, bool] = {}
        self.excluded: set[str] = set()

    def build(self, fields: tuple[CompiledField, ...], type_name: str, label: str) -> Node:
        node = Node(type_name, label)
        for item in fields:
            self.add(node, item, ())
        return node

    def walk(self, node: Node, steps: tuple[str, ...]) -> Node:
        for name in steps:
            child = self.model.child(node.type_name, name)
            assert child is not None, f"{node.label}/{name}"
            node = node.kids.setdefault(name, Node(child.type_name, f"{node.label}/{name}"))
        return node

    def add(self, node: Node, item: CompiledField, keys: tuple[str, ...]) -> None:
        keys = (*keys, item.target)
        if not item.path:
            for child in item.children:
                self.add(node, child, keys)
            return
        if item.many:
            infos = self.infos(node.type_name, item.path)
            split = max((i for i, c in enumerate(infos) if c.repeats), default=len(infos) - 1)
            at = self.walk(node, item.path[: split + 1])
            end = infos[-1].type_name
            cap = infos[split].max_occurs or MAX_ITEMS
            at.many = Many(keys, item, item.path[split + 1 :], end, min(cap, MAX_ITEMS))
            if item.children:
                at.many.objects = self.build(item.children, end, at.label)
            return
        end_node = self.walk(node, item.path)
        end_node.required = end_node.required or item.required
        if item.children:
            for child in item.children:
                self.add(end_node, child, keys)
        else:
            end_node.leaves.append((keys, item))

    def infos(self, type_name: str, path: tuple[str, ...]) -> list[ChildInfo]:
        out = []
        for name in path:
            child = self.model.child(type_name, name)
            assert child is not None
            out.append(child)
            type_name = child.type_name
        return out

    # -- what the XSD allows -------------------------------------------------------------

    def required_names(self, type_name: str) -> tuple[list[str], list[list[str]]]:
        """(mandatory sequence children, mandatory choices) of a complex type."""
        info = self.model.complex_type(type_name)
        children = info.children.values() if info is not None else ()
        names = [c.name for c in children if c.choice is None and c.min_occurs >= 1]
        groups: dict[int, list[ChildInfo]] = {}
        for c in children:
            if c.choice is not None:
                groups.setdefault(c.choice, []).append(c)
        choices = [[c.name for c in g] for g in groups.values() if all(c.min_occurs for c in g)]
        return names, choices

    def feasible(self, node: Node, provided: frozenset[str] = frozenset()) -> bool:
        """Can the element be written non-empty and XSD-valid from canonical values?"""
        key = id(node)
        if key not in self._feasible:
            self._feasible[key] = self._check(node, provided)
            if not self._feasible[key]:
                self.excluded.add(node.label)
        return self._feasible[key]

    def _check(self, node: Node, provided: frozenset[str]) -> bool:
        if node.leaves:
            return all(self.types.leaf(f, node.type_name) is not None for _, f in node.leaves)
        if node.many is not None:
            return not node.kids and self._many_ok(node)
        names, choices = self.required_names(node.type_name)
        ok = {n for n, kid in node.kids.items() if self.feasible(kid)} | provided
        return (
            bool(ok)
            and all(n in ok for n in names)
            and all(any(n in ok for n in group) for group in choices)
        )

    def _many_ok(self, node: Node) -> bool:
        many = node.many
        assert many is not None
        type_name = node.type_name
        for name in many.tail:  # each repeated element holds the next step, nothing else
            names, choices = self.required_names(type_name)
            if any(n != name for n in names) or any(name not in g for g in choices):
                return False
            child = self.model.child(type_name, name)
            assert child is not None
            type_name = child.type_name
        if many.objects is not None:
            return self.feasible(many.objects)
        return self.types.leaf(many.item, many.leaf_type) is not None

    # -- drawing -------------------------------------------------------------------------

    def draw(self, draw: st.DrawFn, node: Node, out: dict[str, Any], skip: str = "") -> None:
        if node.leaves:
            strategy = self.types.leaf(node.leaves[0][1], node.type_name)
            assert strategy is not None
            value = draw(strategy)
            for keys, _ in node.leaves:  # aliases (MsgId as group and ids) share it
                assign(out, keys, value)
            return
        if node.many is not None:
            many = node.many
            count = draw(st.integers(1, many.cap))
            items: list[Any] = []
            for _ in range(count):
                if many.objects is not None:
                    item: dict[str, Any] = {}
                    self.draw(draw, many.objects, item)
                    items.append(item)
                else:
                    strategy = self.types.leaf(many.item, many.leaf_type)
                    assert strategy is not None
                    items.append(draw(strategy))
            assign(out, many.keys, items)
            return
        info = self.model.complex_type(node.type_name)
        assert info is not None
        chosen: list[str] = []
        groups: dict[int, list[str]] = {}
        for name, kid in node.kids.items():
            if name == skip or not self.feasible(kid):
                continue
            child = info.children[name]
            if child.choice is not None:
                groups.setdefault(child.choice, []).append(name)
            elif child.min_occurs >= 1 or kid.required or draw(_sometimes):
                chosen.append(name)
        for choice, options in groups.items():
            branches = [c for c in info.children.values() if c.choice == choice]
            must = all(c.min_occurs for c in branches) or any(
                node.kids[o].required for o in options
            )
            if must or draw(_sometimes):
                chosen.append(draw(st.sampled_from(options)))
        if not chosen and skip == "":  # an element is never empty
            options = [n for n, k in node.kids.items() if self.feasible(k)]
            chosen.append(draw(st.sampled_from(options)))
        for name in chosen:
            self.draw(draw, node.kids[name], out)


_sometimes = st.integers(0, 2).map(lambda n: n == 2)  # a third of the time; shrinks to no


def assign(out: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        out = out.setdefault(key, {})
    out[keys[-1]] = value


def groups_of(fields: tuple[CompiledField, ...]) -> dict[str, Any]:
    """Which targets are dotted groups (merged key by key when an inner scope has them)."""
    return {f.target: groups_of(f.children) for f in fields if not f.path}


def merge(outer: dict[str, Any], inner: dict[str, Any], groups: dict[str, Any]) -> dict[str, Any]:
    """The inbound rule: an inner scope's value wins; dotted groups merge key by key."""
    out = dict(outer)
    for key, value in inner.items():
        if key in groups and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value, groups[key])
        else:
            out[key] = value
    return out


# --- events ---------------------------------------------------------------------------


@dataclass(slots=True)
class Level:
    tree: Node
    each: str  # the child element the next level provides ("" at the innermost)
    groups: dict[str, Any]


def levels_of(mapping: Mapping, model: XsdModel, tree: Tree) -> list[Level]:
    out: list[Level] = []
    scope: Scope | None = mapping.root
    type_name = model.root_type
    while scope is not None:
        type_name = model.resolve_from(type_name, scope.path) or "?"
        each = scope.each.path[0] if scope.each is not None else ""
        node = tree.build(scope.fields, type_name, "/".join(scope.path))
        assert tree.feasible(node, frozenset({each}) if each else frozenset()), node.label
        out.append(Level(node, each, groups_of(scope.fields)))
        scope = scope.each
    return out


def events_strategy(levels: list[Level], tree: Tree, event_type: str) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> list[dict[str, Any]]:
        def scope(index: int, inherited: dict[str, Any]) -> list[dict[str, Any]]:
            level = levels[index]
            own: dict[str, Any] = {}
            tree.draw(draw, level.tree, own, skip=level.each or "")
            merged = merge(inherited, own, level.groups)
            if index == len(levels) - 1:
                return [merged]
            count = draw(st.integers(1, 3 if index == len(levels) - 2 else 2))
            return [e for _ in range(count) for e in scope(index + 1, merged)]

        events = scope(0, {})
        for n, event in enumerate(events):
            event.update(
                event_id=f"e{n}", event_type=event_type, schema_version="1",
                source={"message_id": "test", "payload_sha256": "0", "transaction_index": n},
            )  # fmt: skip
        return events

    return build()


@cache
def setup(
    gateway: Gateway, message_id: str
) -> tuple[Mapping, XsdModel, st.SearchStrategy[Any], Tree]:
    entry = gateway.schemas.get(message_id)
    mapping = gateway.mappings.get(message_id)
    assert entry is not None and mapping is not None
    model = XsdModel.load(entry.path)
    tree = Tree(model, Types(model, read_facets(entry.path, model)))
    levels = levels_of(mapping, model, tree)
    return mapping, model, events_strategy(levels, tree, mapping.event_type), tree


def _need(gateway: Gateway, message_id: str) -> None:
    if gateway.schemas.get(message_id) is None:
        pytest.skip(f"no XSD installed for {message_id}")


def payload_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in IDENTITY} for e in events]


@pytest.mark.parametrize("placement", ["innermost", "outermost"])
@pytest.mark.parametrize("message_id", MESSAGE_IDS)
def test_generated_events_round_trip(
    gateway: Gateway, message_id: str, placement: Placement
) -> None:
    _need(gateway, message_id)
    mapping, model, strategy, _ = setup(gateway, message_id)
    entry = gateway.schemas.get(message_id)
    assert entry is not None

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(events=strategy)
    def check(events: list[dict[str, Any]]) -> None:
        for event in events:
            PaymentEvent.model_validate(event)  # the strategy makes canonical events
        result = map_outbound(events, mapping, model, placement=placement)
        assert result.findings == []
        document = etree.fromstring(render_xml(result.document))
        assert gateway.schemas.validate(document, entry) == []
        back = map_inbound(document, mapping, seed="s", source={})
        assert back.findings == []
        assert payload_of(back.events) == payload_of(events)

    check()


@pytest.mark.parametrize("message_id", MESSAGE_IDS)
def test_what_the_strategy_leaves_out(gateway: Gateway, message_id: str) -> None:
    """Only elements the XSD cannot accept from canonical data are left out."""
    _need(gateway, message_id)
    *_, tree = setup(gateway, message_id)
    excluded = {label.split("/")[-1] for label in tree.excluded}
    expected = {
        "postal_address.address_type.proprietary": "Prtry",
        "contact.other": "Othr",
        "amounts.equivalent": "EqvtAmt",
        "remittance.structured.referred_documents.related_date": "RltdDt",
    }
    assert excluded == {expected[t] for t in NOT_GENERATED[message_id]}
