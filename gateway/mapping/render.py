"""Outbound: canonical payment events back to an ISO 20022 message (``map_outbound``).

The mirror of :func:`gateway.mapping.engine.map_inbound`, driven by the *same*
mapping file read backwards (:mod:`gateway.mapping.render_plan`), so that
``map_inbound(map_outbound(events))`` gives the events back:

* **Scopes.** The message element is written once; each event becomes one element of
  the innermost ``each`` scope, in event order. With a nested scope (pain.001
  ``PmtInf`` / ``CdtTrfTxInf``) consecutive events that agree on every value only the
  outer scope maps (payment information id, debtor, debtor account, ...) share one
  block. Values only the message scope maps (the group header) are written once; when
  the events disagree on one, that is a ``mapping.invalid_value`` error and the first
  event's value is written — reported, never a silent pick.
* **Values mapped at several scopes** (pacs.008 ``payment_type``,
  ``dates.interbank_settlement``, the instructing/instructed agents; pain.001
  ``payment_type``, ``charge_bearer``, ``ultimate_debtor``, ...) are placed by a rule
  the inbound reading undoes (an inner scope's value wins over an outer one):

  - ``placement="innermost"`` (default): on each transaction that has one, at the
    innermost scope mapping it; the outer scopes stay empty. This is how CBPR+ and
    FedNow pacs.008 carry them (their group header has no agents, dates or payment type).
  - ``placement="outermost"``: once at the outermost scope mapping it when every event
    below that scope element has the same value (and that scope carries all of it), else
    one level further in, down to each transaction (SEPA style: the payment type once
    per ``PmtInf``, the settlement date once per message).

  A level whose field is marked ``required`` in the mapping always gets the value.
  Dotted targets are placed leaf by leaf (``dates.interbank_settlement`` on its own).
* **Order and shape** come from the XSD (:mod:`gateway.mapping.render_tree`): children
  in the order of their complex type at every level, only elements the XSD declares.
  Amounts get their ``Ccy`` attribute, booleans ``true``/``false``, code maps are
  applied in reverse, ``many`` lists repeat their deepest repeating element.
* **Nothing is invented.** A value the XSD or the mapping requires but the events do
  not carry stays absent: ``mapping.missing_mandatory``. A value that cannot be written
  (wrong type, no code for it, characters XML cannot carry, events that disagree on a
  value written once) is ``mapping.invalid_value``. Canonical data the mapping has no
  element for is a ``mapping.unmapped`` warning (no silent data loss). The caller
  validates the document against the XSD as well (``SchemaRegistry.validate``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from gateway.mapping.render_plan import LEAF, FieldPlan, Placement, RenderPlan, Slot, compile_plan
from gateway.mapping.render_tree import Node, TreeWriter, spot
from gateway.mapping.spec import Mapping
from gateway.report import Finding, finding
from gateway.xsdmodel import XsdModel

__all__ = ["IDENTITY", "Placement", "RenderResult", "map_outbound", "plan_for", "render_xml"]

#: Event attributes that identify the event rather than the payment: never rendered.
IDENTITY = frozenset({"event_id", "event_type", "schema_version", "source"})
_EMPTY: tuple[Any, ...] = ("", [], {})
_PLANS: OrderedDict[tuple[int, int, str], RenderPlan] = OrderedDict()
_PLAN_CACHE_SIZE = 32


@dataclass(slots=True)
class RenderResult:
    """The rendered ``Document`` element and what kept it from being a complete message."""

    document: etree._Element
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class _Block:
    """One element of a scope level and the events (indices) it holds."""

    events: list[int]
    node: Node
    children: list[_Block] = field(default_factory=list)


def _present(value: Any) -> bool:
    return value is not None and value not in _EMPTY


def _get(event: MappingABC[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event.get(path[0])
    for key in path[1:]:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _project(item: FieldPlan, value: Any) -> Any:
    """The part of ``value`` that ``item`` writes (None when nothing): what the events
    of an outer scope element must agree on."""
    if not _present(value):
        return None
    if item.kind == "leaf":
        return value
    if item.many and isinstance(value, list):
        items = [_project_object(item, v) for v in value]
        return [v for v in items if v is not None] or None
    return _project_object(item, value)


def _project_object(item: FieldPlan, value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for child in item.children:
        sub = _project(child, value.get(child.target))
        if sub is not None:
            out[child.target] = sub
    return out or None


def plan_for(mapping: Mapping, model: XsdModel, namespace: str | None = None) -> RenderPlan:
    """The compiled plan of ``mapping`` against ``model``, cached per process (the cache
    holds the objects themselves, so their ids cannot be reused while cached)."""
    key = (id(mapping), id(model), namespace or model.namespace)
    plan = _PLANS.get(key)
    if plan is None or plan.mapping is not mapping or plan.model is not model:
        plan = compile_plan(mapping, model, namespace)
        _PLANS[key] = plan
        while len(_PLANS) > _PLAN_CACHE_SIZE:
            _PLANS.popitem(last=False)
    return plan


class _Run(TreeWriter):
    def __init__(
        self, plan: RenderPlan, events: list[MappingABC[str, Any]], placement: Placement
    ) -> None:
        super().__init__(plan)
        self.events = events
        self.placement = placement
        self.innermost = len(plan.levels) - 1

    # -- scopes ------------------------------------------------------------------------

    def blocks(self, root: Node) -> list[list[_Block]]:
        """Per scope level, its elements in document order."""
        plan = self.plan
        top = root
        for step in plan.levels[0]:
            top = top.child(step)
        levels = [[_Block(list(range(len(self.events))), top)]]
        for level in range(1, len(plan.levels)):
            steps = plan.levels[level]
            keys = [s for s in plan.slots if s.candidates[-1] == level]
            current: list[_Block] = []
            for parent in levels[-1]:
                for group in self.partition(parent.events, level, keys):
                    node = parent.node
                    for step in steps[:-1]:
                        node = node.child(step)
                    block = _Block(group, node.add(steps[-1]))
                    parent.children.append(block)
                    current.append(block)
            levels.append(current)
        return levels

    def partition(self, events: list[int], level: int, slots: list[Slot]) -> list[list[int]]:
        """Consecutive events that agree on the values no inner level can take (those
        ``level`` maps and no level inside it) share one element of it; at the innermost
        level each event has its own."""
        if level == self.innermost:
            return [[e] for e in events]
        groups: list[list[int]] = []
        previous: list[Any] | None = None
        for e in events:
            key = [_project(s.fields[level], _get(self.events[e], s.path)) for s in slots]
            if key == previous:
                groups[-1].append(e)
            else:
                groups.append([e])
            previous = key
        return groups

    # -- placement ---------------------------------------------------------------------

    def place(self, slot: Slot, levels: list[list[_Block]]) -> None:
        candidates = slot.candidates
        if self.placement == "innermost" or len(candidates) == 1:
            for block in levels[candidates[-1]]:
                self.put(slot, candidates[-1], block)
            return
        for block in levels[candidates[0]]:
            self.hoist(slot, candidates, 0, block)

    def hoist(self, slot: Slot, candidates: tuple[int, ...], index: int, block: _Block) -> None:
        level = candidates[index]
        if index == len(candidates) - 1:
            self.put(slot, level, block)
            return
        if self.put(slot, level, block, uniform=slot.fields[candidates[-1]]):
            return
        blocks = [block]
        for _ in range(candidates[index + 1] - level):
            blocks = [child for b in blocks for child in b.children]
        for inner in blocks:
            self.hoist(slot, candidates, index + 1, inner)

    def put(
        self, slot: Slot, level: int, block: _Block, *, uniform: FieldPlan | None = None
    ) -> bool:
        """Write ``slot`` at ``block``; True when written. ``uniform`` (the slot's
        innermost field): write only when every event of the block has the same value
        and this level carries all of it. Otherwise the events of an outer block must
        agree (reported when they do not; the first event's value is written)."""
        item = slot.fields[level]
        events = block.events
        first = _get(self.events[events[0]], slot.path)
        key, reference = item, None
        if uniform is not None:
            key, reference = uniform, _project(uniform, first)
            if reference is None or _project(item, first) != reference:
                return False
        for e in events[1:]:
            other = _get(self.events[e], slot.path)
            if other == first:
                continue
            if reference is None:
                reference = _project(key, first)
            if _project(key, other) == reference:
                continue
            if uniform is not None:
                return False
            self.invalid(
                spot(block.node, item),
                f"canonical field {slot.label} differs between events {events[0]} and {e}, "
                f"but {self.plan.mapping.message_id} carries one value here; event "
                f"{events[0]}'s value was written",
                target=slot.label,
                events=[events[0], e],
            )
            break
        if not _present(first):
            if level in slot.required:
                where = spot(block.node, item)
                self.missing_at(
                    where,
                    f"{where} is required by the mapping, but the events carry no "
                    f"{slot.label}; never defaulted.",
                    target=slot.label,
                )
            return False
        self.write(block.node, item, first)
        return True

    # -- lost data ---------------------------------------------------------------------

    def unmapped(self) -> None:
        """Canonical values no element of this message can carry: one warning per field."""
        lost: dict[str, int] = {}
        cover = self.plan.cover
        for event in self.events:
            for key, value in event.items():
                if key in IDENTITY or value is None or value in _EMPTY:
                    continue
                below = cover.get(key)
                if below is None:
                    lost[key] = lost.get(key, 0) + 1
                elif below is not LEAF:
                    _lost(value, below, key, lost)
        for label, count in sorted(lost.items()):
            self.findings.append(
                finding(
                    "mapping.unmapped",
                    f"canonical field {label} ({count}x) has no element in "
                    f"{self.plan.mapping.message_id} ({self.plan.mapping.file.name}): "
                    f"not rendered.",
                    context={"target": label, "count": count},
                )
            )

    def render(self) -> RenderResult:
        plan = self.plan
        root = Node(plan.document, None)
        if not self.events:
            self.missing_at(
                plan.level_paths[-1],
                f"No events: {plan.mapping.message_id} needs at least one transaction.",
            )
            return RenderResult(self.document(root), self.findings)
        levels = self.blocks(root)
        direct, others = plan.direct[self.placement]
        for slot in others:
            self.place(slot, levels)
        for block in levels[-1]:
            self.fields(block.node, direct, self.events[block.events[0]])
        self.unmapped()
        document = self.document(root)
        return RenderResult(document, self.findings)


def _lost(value: Any, cover: dict[str, Any], label: str, lost: dict[str, int]) -> None:
    """Count the keys below ``value`` (an object or a list of them) ``cover`` lacks."""
    for entry in value if isinstance(value, list) else (value,):
        if not isinstance(entry, dict):
            continue
        for key, sub in entry.items():
            if sub is None or sub in _EMPTY:
                continue
            below = cover.get(key)
            if below is None:
                name = f"{label}.{key}"
                lost[name] = lost.get(name, 0) + 1
            elif below is not LEAF:
                _lost(sub, below, f"{label}.{key}", lost)


def map_outbound(
    events: Sequence[MappingABC[str, Any]],
    mapping: Mapping,
    model: XsdModel,
    *,
    namespace: str | None = None,
    placement: Placement = "innermost",
) -> RenderResult:
    """Render canonical events (dicts shaped as :class:`gateway.events.PaymentEvent`, as
    ``map_inbound`` gives them) into a ``Document`` of ``mapping``'s message, shaped and
    ordered by ``model`` (that message's XSD). ``namespace`` defaults to the XSD's target
    namespace; ``placement`` decides where values mapped at several levels go (module
    docstring). Raises :class:`~gateway.errors.MappingError` when the mapping names an
    element or type the XSD does not have; every content problem is a finding."""
    plan = plan_for(mapping, model, namespace)
    return _Run(plan, list(events), placement).render()


def render_xml(document: etree._Element) -> bytes:
    """The document as UTF-8 bytes with an XML declaration, indented."""
    body: bytes = etree.tostring(document, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
