"""A mapping compiled for the engine: per scope, a trie of element paths and field ops.

The engine walks each scope element's subtree once. Each relative path the mapping
knows is a :class:`Node` of a trie, keyed by local name and then by the full
(namespaced) tag the message uses; each field is an :class:`Op` that names its node's
slot. The walk files each element under its node's slot (a list index), so reading a
field is a list look-up; an element outside the trie is data no field reads (coverage).
Plans are compiled once per mapping (:func:`plan_of`) and shared by all threads: the
only state they gain later is the tag cache of each node, a bounded dict whose entries
are computed the same way by any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gateway.mapping.spec import CompiledField, Mapping, Scope

__all__ = [
    "EVALUATE",
    "GROUP",
    "LEAF",
    "MANY",
    "MANY_OBJECT",
    "NO_ELEMENT",
    "OBJECT",
    "REQUIRED",
    "Node",
    "Op",
    "ScopePlan",
    "plan_of",
    "walk",
    "walk_item",
]

#: Op kinds: a dotted group (no element), an object read from one element, a value, a
#: list of values, a list of objects (each item indexed on its own).
GROUP, OBJECT, LEAF, MANY, MANY_OBJECT = range(5)
#: Distinct tags remembered per node (hostile input with ever new names is resolved by
#: local name each time instead).
_TAG_LIMIT = 256


#: Node modes: a path the fields read (or an ancestor of one); a path on the way to the
#: scope's iteration elements that no field reads; the iteration path itself; no path of
#: the trie (:data:`OFF`).
COVERED, UNCOVERED, STOP, OUTSIDE = range(4)


class Node:
    """One relative element path of a scope (or of a list item)."""

    __slots__ = ("mode", "names", "path", "slot", "tags")

    def __init__(self, path: str, mode: int) -> None:
        self.slot = 0  # where the walk files its elements (0: no field reads them)
        self.path = path  # "A/B" relative to the scope element ("" for the scope itself)
        self.mode = mode
        self.names: dict[str, Node] = {}
        self.tags: dict[str, Node] = {}

    def child(self, tag: str) -> Node:
        """The node of a child element with ``tag`` (:data:`OFF`: outside the trie)."""
        node = self.names.get(tag.rpartition("}")[2], OFF)
        if len(self.tags) < _TAG_LIMIT:
            self.tags[tag] = node
        return node


#: Where a tag outside the trie leads.
OFF = Node("", OUTSIDE)


class _Trie:
    def __init__(self) -> None:
        self.root = Node("", COVERED)
        self.size = 2  # slot 0 collects the elements no field reads; slot 1 stays empty

    def add(self, path: tuple[str, ...], mode: int) -> Node:
        node = self.root
        for depth, name in enumerate(path):
            sub = node.names.get(name)
            if sub is None:
                sub = Node("/".join(path[: depth + 1]), UNCOVERED)
                node.names[name] = sub
            node = sub
        if mode != UNCOVERED:
            node.mode = mode
        return node

    def slot(self, path: tuple[str, ...], covered: bool) -> int:
        """A slot of its own for the node a field reads."""
        node = self.add(path, COVERED if covered else UNCOVERED)
        if not node.slot:
            node.slot = self.size
            self.size += 1
        return node.slot


@dataclass(frozen=True, slots=True)
class Op:
    """One compiled field."""

    target: str
    kind: int
    slot: int  # the slot of the field's element (GROUP: unused)
    rel: tuple[str, ...]  # its path from the indexed element (messages only)
    type: str
    codes: dict[str, str] | None
    required: bool
    children: tuple[Op, ...] = ()
    item: Node | None = None  # MANY_OBJECT: the trie of one item
    item_size: int = 0
    plain: bool = False  # a string as written (no type, no code map)
    #: what its absence means: nothing, a missing mandatory field, or (a dotted group,
    #: which has no element of its own) evaluate the children
    absent: int = 0


#: :attr:`Op.absent` values
REQUIRED, EVALUATE = 1, 2
#: the slot of dotted groups: never filled
NO_ELEMENT = 1


@dataclass(frozen=True, slots=True)
class ScopePlan:
    scope: Scope
    absolute: tuple[str, ...]  # path under Document
    path: str  # "/Document/..." of the scope element
    root: Node
    size: int
    ops: tuple[Op, ...]
    each: ScopePlan | None


def _ops(
    fields: tuple[CompiledField, ...], trie: _Trie, covered: set[tuple[str, ...]]
) -> tuple[Op, ...]:
    out: list[Op] = []
    for spec in fields:
        codes = dict(spec.codes) if spec.codes is not None else None
        absent = REQUIRED if spec.required else 0
        common = (spec.rel, spec.type, codes, spec.required)
        if spec.children and not spec.many and not spec.path:
            children = _ops(spec.children, trie, covered)
            out.append(
                Op(spec.target, GROUP, NO_ELEMENT, *common, children,
                   absent=EVALUATE)
            )  # fmt: skip
            continue
        slot = trie.slot(spec.rel, spec.rel in covered)
        if spec.children and not spec.many:
            children = _ops(spec.children, trie, covered)
            out.append(
                Op(spec.target, OBJECT, slot, *common, children,
                   absent=absent)
            )  # fmt: skip
        elif spec.children:
            item = _Trie()
            children = _ops(spec.children, item, _closed(spec.children))
            out.append(
                Op(spec.target, MANY_OBJECT, slot, *common, children, item.root, item.size,
                   absent=absent)
            )  # fmt: skip
        else:
            kind = MANY if spec.many else LEAF
            plain = spec.type == "string" and codes is None
            out.append(Op(spec.target, kind, slot, *common, plain=plain, absent=absent))
    return tuple(out)


def _closed(fields: tuple[CompiledField, ...]) -> set[tuple[str, ...]]:
    """Every ``rel`` of ``fields`` (an item's nodes need no coverage flag)."""
    out: set[tuple[str, ...]] = set()
    for spec in fields:
        out.add(spec.rel)
        if not spec.many:
            out |= _closed(spec.children)
    return out


def _scope(mapping: Mapping, scope: Scope, absolute: tuple[str, ...]) -> ScopePlan:
    covered = mapping.consumed.get(absolute, set())
    trie = _Trie()
    for covered_path in sorted(covered):
        trie.add(covered_path, COVERED)
    ops = _ops(scope.fields, trie, covered)
    if scope.each is not None:
        trie.add(scope.each.path, STOP)
    each = _scope(mapping, scope.each, absolute + scope.each.path) if scope.each else None
    where = "/Document/" + "/".join(absolute)
    return ScopePlan(scope, absolute, where, trie.root, trie.size, ops, each)


_PLANS: dict[int, tuple[Mapping, Scope, ScopePlan]] = {}


def plan_of(mapping: Mapping) -> ScopePlan:
    """The compiled plan of ``mapping`` (built on first use, kept while it is loaded)."""
    cached = _PLANS.get(id(mapping))
    if cached is not None and cached[0] is mapping and cached[1] is mapping.root:
        return cached[2]
    plan = _scope(mapping, mapping.root, mapping.root.path)
    if len(_PLANS) > 1024:
        _PLANS.clear()
    _PLANS[id(mapping)] = (mapping, mapping.root, plan)
    return plan


Found = list[list[etree._Element] | None]
#: An element no field reads: (element, its path from the scope element, whether its
#: descendants are outside the trie too).
Loose = tuple[etree._Element, str, bool]


def walk(
    element: etree._Element, root: Node, size: int
) -> tuple[Found, list[etree._Element], list[Loose]]:
    """Index ``element``'s subtree by node slot.

    Returns the elements per slot, the elements at the stop node (not descended into)
    and the elements outside the covered paths (:data:`Loose`). The walk goes level by
    level: elements of one path are all on one level, so each list is in document order."""
    found: Found = [None] * size
    stopped: list[etree._Element] = []
    loose: list[Loose] = []
    queue: list[tuple[etree._Element, Node]] = [(element, root)]
    for parent, node in queue:  # grows while it is read
        tags = node.tags
        for child in parent[:]:  # (a slice: cheaper than an iterator per parent)
            tag = child.tag
            if tag.__class__ is not str:
                continue
            sub = tags.get(tag) or node.child(tag)
            mode = sub.mode
            if mode:
                if mode == OUTSIDE:
                    local = tag.rpartition("}")[2]
                    loose.append((child, f"{node.path}/{local}" if node.path else local, True))
                    continue
                if mode == STOP:
                    stopped.append(child)
                    continue
                loose.append((child, sub.path, False))
            listed = found[sub.slot]
            if listed is None:
                found[sub.slot] = [child]
            else:
                listed.append(child)
            if len(child):
                queue.append((child, sub))
    return found, stopped, loose


def walk_item(element: etree._Element, root: Node, size: int) -> Found:
    """Index one list item's subtree by node slot (no coverage: the scope has it)."""
    found: Found = [None] * size
    queue: list[tuple[etree._Element, Node]] = [(element, root)]
    for parent, node in queue:
        tags = node.tags
        for child in parent[:]:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            sub = tags.get(tag) or node.child(tag)
            if sub is OFF:
                continue
            listed = found[sub.slot]
            if listed is None:
                found[sub.slot] = [child]
            else:
                listed.append(child)
            if sub.names and len(child):
                queue.append((child, sub))
    return found
