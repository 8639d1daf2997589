"""A mapping file read backwards against its XSD: the plan outbound rendering follows.

:func:`compile_plan` resolves every field of a compiled mapping
(:mod:`gateway.mapping.spec`) against the message's :class:`~gateway.xsdmodel.XsdModel`:
each path step becomes the XSD child it names (its type, whether it repeats, the child
order and mandatory children of a complex type), so rendering looks nothing up in the
XSD model. A path the XSD does not know, an amount without a ``Ccy`` attribute or a
value type on an element with children is a :class:`~gateway.errors.MappingError`
here: such a mapping cannot render any message.

The fields are regrouped into *slots*: one per canonical value that a scope writes
as a whole. Dotted targets (``ids.end_to_end_id``) are merged field by field when
read, so each of their leaves is a slot of its own (``("ids", "end_to_end_id")``);
any other field (a leaf, an amount, a list, an object such as a party) is one slot,
replaced whole by an inner scope's value when read. A slot lists every scope level
that maps it (``payment_type``: the group header and the transaction), which is
what the placement rule of :mod:`gateway.mapping.render` decides between.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gateway.errors import MappingError
from gateway.mapping.spec import CompiledField, FieldType, Mapping, Scope
from gateway.xsdmodel import XsdModel

__all__ = [
    "LEAF",
    "FieldPlan",
    "Placement",
    "RenderPlan",
    "Slot",
    "Step",
    "TypeInfo",
    "compile_plan",
]

Kind = Literal["group", "object", "leaf"]
#: Where a value mapped at several scope levels goes (see :mod:`gateway.mapping.render`).
Placement = Literal["innermost", "outermost"]
#: Marks a canonical value written whole (a leaf, an amount, a list of strings).
LEAF: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Step:
    """One element on a path: local name and XSD type."""

    name: str
    type_name: str
    repeats: bool = False
    info: TypeInfo | None = None  # complex types with child elements


@dataclass(frozen=True, slots=True)
class FieldPlan:
    target: str
    label: str  # the dotted canonical name, for messages ("debtor.postal_address.country")
    kind: Kind  # group: a dotted target's object, written into the same element
    steps: tuple[Step, ...]  # from the element the field is written under
    type: FieldType = "string"
    required: bool = False
    many: bool = False
    split: int = 0  # many: the step created anew for each item (the deepest repeating one)
    children: tuple[FieldPlan, ...] = ()
    codes: dict[str, str] | None = None  # canonical value -> message code
    #: children by target, and those required (or dotted groups holding one): rendering
    #: walks the keys a value has, then looks for what it lacks
    index: dict[str, FieldPlan] = field(init=False, repr=False, compare=False)
    mandatory: tuple[FieldPlan, ...] = field(init=False, repr=False, compare=False)
    #: a string written as is (no code map, no conversion): the common case, kept fast
    plain: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {c.target: c for c in self.children})
        mandatory = tuple(
            c for c in self.children if c.required or (c.kind == "group" and c.mandatory)
        )
        object.__setattr__(self, "mandatory", mandatory)
        plain = self.kind == "leaf" and self.type in ("string", "decimal") and not self.codes
        object.__setattr__(self, "plain", plain)


@dataclass(frozen=True, slots=True)
class Slot:
    """One canonical value (by key path) and the scope levels that map it."""

    path: tuple[str, ...]
    label: str
    fields: dict[int, FieldPlan]  # level -> how that scope writes it
    levels: tuple[int, ...]  # ascending
    required: tuple[int, ...]  # levels whose field is marked ``required``

    @property
    def candidates(self) -> tuple[int, ...]:
        """The levels the value may be written at: a level that requires it must get it."""
        return self.required or self.levels


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """What rendering needs of a complex type: child order and mandatory children."""

    order: dict[str, int]
    required: tuple[str, ...]  # sequence children with minOccurs >= 1
    choices: tuple[tuple[str, ...], ...]  # mandatory choices: one of these names


@dataclass(slots=True)
class RenderPlan:
    mapping: Mapping
    model: XsdModel
    namespace: str
    document: Step  # the Document element
    levels: list[tuple[Step, ...]]  # per scope level, its path from the enclosing scope element
    level_paths: list[str]  # per level, the readable path of its element ("/Document/...")
    slots: list[Slot]
    cover: dict[str, Any]  # canonical keys any scope can write (LEAF: everything below)
    #: per placement: the innermost level's fields written straight from each event (no
    #: choice of level to make; a group whose children are those fields), and the other
    #: slots, placed one by one
    direct: dict[str, tuple[FieldPlan, list[Slot]]] = field(default_factory=dict)


def _type_info(model: XsdModel, type_name: str) -> TypeInfo:
    complex_type = model.complex_type(type_name)
    children = complex_type.children if complex_type is not None else {}
    groups: dict[int, list[str]] = {}
    required: list[str] = []
    optional_choices: set[int] = set()
    for child in children.values():
        if child.choice is None:
            if child.min_occurs >= 1:
                required.append(child.name)
            continue
        groups.setdefault(child.choice, []).append(child.name)
        if child.min_occurs < 1:
            optional_choices.add(child.choice)
    return TypeInfo(
        order={name: index for index, name in enumerate(children)},
        required=tuple(required),
        choices=tuple(tuple(v) for k, v in groups.items() if k not in optional_choices),
    )


class _Compiler:
    def __init__(self, mapping: Mapping, model: XsdModel) -> None:
        self.mapping = mapping
        self.model = model
        self.types: dict[str, TypeInfo] = {}

    def step(self, name: str, type_name: str, repeats: bool = False) -> Step:
        info: TypeInfo | None = None
        if not self.model.is_leaf(type_name):
            info = self.types.get(type_name)
            if info is None:
                info = self.types[type_name] = _type_info(self.model, type_name)
        return Step(name, type_name, repeats, info)

    def fail(self, label: str, why: str) -> MappingError:
        return MappingError(
            f"{self.mapping.file.name}: {label}: {why} (schema {self.model.path.name}); "
            f"this mapping cannot render {self.mapping.message_id}"
        )

    def steps(self, type_name: str, path: tuple[str, ...], label: str) -> tuple[Step, ...]:
        out: list[Step] = []
        current = type_name
        for name in path:
            child = self.model.child(current, name)
            if child is None:
                raise self.fail(label, f"{'/'.join(path)}: {name} is not a child of {current}")
            out.append(self.step(name, child.type_name, child.repeats))
            current = child.type_name
        return tuple(out)

    def field(self, spec: CompiledField, type_name: str, prefix: str) -> FieldPlan:
        label = f"{prefix}.{spec.target}" if prefix else spec.target
        if not spec.path:  # a dotted target's object: its fields sit in the same element
            children = tuple(self.field(c, type_name, label) for c in spec.children)
            return FieldPlan(spec.target, label, "group", (), children=children)
        steps = self.steps(type_name, spec.path, label)
        reached = steps[-1].type_name
        split = 0
        if spec.many:
            split = max((i for i, s in enumerate(steps) if s.repeats), default=len(steps) - 1)
        if spec.children:
            if self.model.is_leaf(reached):
                raise self.fail(label, f"an object needs child elements; {reached} has none")
            children = tuple(self.field(c, reached, label) for c in spec.children)
            return FieldPlan(
                spec.target, label, "object", steps, required=spec.required, many=spec.many,
                split=split, children=children,
            )  # fmt: skip
        if not self.model.is_simple(reached):
            raise self.fail(label, f"a {spec.type} value needs a simple element, not {reached}")
        if spec.type == "amount" and "Ccy" not in self.model.attributes(reached):
            raise self.fail(label, f"an amount needs a Ccy attribute; {reached} has none")
        codes: dict[str, str] | None = None
        if spec.codes is not None:
            codes = {}
            for code, canonical in spec.codes:
                codes.setdefault(canonical, code)  # several codes for one value: the first
        return FieldPlan(
            spec.target, label, "leaf", steps, type=spec.type, required=spec.required,
            many=spec.many, split=split, codes=codes,
        )  # fmt: skip


def _slots(
    fields: tuple[FieldPlan, ...],
    level: int,
    key: tuple[str, ...],
    out: dict[tuple[str, ...], dict[int, FieldPlan]],
) -> None:
    """Collect ``fields`` by canonical key path: dotted groups are opened up, anything
    else is one slot (see the module docstring)."""
    for item in fields:
        path = (*key, item.target)
        if item.kind == "group":
            _slots(item.children, level, path, out)
        else:
            out.setdefault(path, {})[level] = item


def _only(
    fields: tuple[FieldPlan, ...], keep: set[tuple[str, ...]], key: tuple[str, ...] = ()
) -> tuple[FieldPlan, ...]:
    """``fields`` reduced to the slots in ``keep`` (dotted groups keep what is left)."""
    out: list[FieldPlan] = []
    for item in fields:
        path = (*key, item.target)
        if item.kind == "group":
            children = _only(item.children, keep, path)
            if children:
                out.append(replace(item, children=children))
        elif path in keep:
            out.append(item)
    return tuple(out)


def _cover(item: FieldPlan, into: dict[str, Any]) -> None:
    """Add the canonical keys ``item`` writes to ``into`` (the union of all levels)."""
    if item.kind == "leaf":
        into[item.target] = LEAF
        return
    below = into.get(item.target)
    if below is LEAF:
        return
    if below is None:
        below = into[item.target] = {}
    for child in item.children:
        _cover(child, below)


def compile_plan(mapping: Mapping, model: XsdModel, namespace: str | None = None) -> RenderPlan:
    """Resolve ``mapping`` against ``model``; raises :class:`MappingError` when a path,
    type or attribute it names is not the XSD's."""
    namespace = namespace or model.namespace
    compiler = _Compiler(mapping, model)
    document = compiler.step(model.root_element, model.root_type)
    levels: list[tuple[Step, ...]] = []
    level_paths: list[str] = []
    fields: tuple[FieldPlan, ...] = ()
    by_path: dict[tuple[str, ...], dict[int, FieldPlan]] = {}
    cover: dict[str, Any] = {}
    scope: Scope | None = mapping.root
    type_name, where = model.root_type, f"/{model.root_element}"
    while scope is not None:
        label = "document" if not levels else f"each[{len(levels)}]"
        steps = compiler.steps(type_name, scope.path, label)
        type_name = steps[-1].type_name
        where = f"{where}/{'/'.join(scope.path)}"
        fields = tuple(compiler.field(spec, type_name, "") for spec in scope.fields)
        _slots(fields, len(levels), (), by_path)
        for item in fields:
            _cover(item, cover)
        levels.append(steps)
        level_paths.append(where)
        scope = scope.each
    slots = [
        Slot(
            path=path,
            label=".".join(path),
            fields=per_level,
            levels=tuple(sorted(per_level)),
            required=tuple(sorted(lv for lv, f in per_level.items() if f.required)),
        )
        for path, per_level in by_path.items()
    ]
    plan = RenderPlan(mapping, model, namespace, document, levels, level_paths, slots, cover)
    innermost = len(levels) - 1
    for placement in ("innermost", "outermost"):
        direct = {
            s.path
            for s in slots
            if s.candidates[-1] == innermost
            and (placement == "innermost" or len(s.candidates) == 1)
        }
        rest = [s for s in slots if s.path not in direct]
        top = FieldPlan("", "", "group", (), children=_only(fields, direct))
        plan.direct[placement] = (top, rest)
    return plan
