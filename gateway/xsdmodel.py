"""A small structural model of an ISO 20022 message XSD.

ISO 20022 message schemas are generated and use a narrow subset of XML Schema:
one global element ``Document``, named ``complexType``s whose content is an
``xs:sequence`` or ``xs:choice`` of ``xs:element``s (a sequence may hold an
inner ``xs:choice``; ``SupplementaryDataEnvelope`` holds an ``xs:any``),
``simpleContent`` extensions that add attributes such as ``Ccy`` to a simple
type, and named ``simpleType`` restrictions. This module reads exactly that
(anything else is a :class:`~gateway.errors.SchemaError`) into plain data:
for each type its child elements *in XSD order* with their type and
occurrence bounds, its attributes, and for simple types their built-in base
and enumeration. It is what the mapping linter checks paths against and what
outbound rendering uses to order elements.

Type names are the XSD's own (``PartyIdentification135``); built-in XML Schema
types are spelled ``xs:<name>`` (``xs:string``). Element paths are tuples of
local names; :meth:`XsdModel.resolve` takes a path from under ``Document``
(``("FIToFICstmrCdtTrf", "GrpHdr", "MsgId")``).

A *leaf* is an element without child elements: a simple type, a
``simpleContent`` type (an amount) or a complex type with no element particles
(an ``xs:any`` envelope). :meth:`XsdModel.leaf_count` counts the distinct leaf
paths below a type (an element of a leaf type counts as one, itself).
Recursive types do not occur in the ISO 20022 catalogue, but are tolerated: a
type met again below itself is counted as a single (truncated) leaf.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lxml import etree

from gateway.errors import SchemaCompileError, SchemaError

__all__ = ["XS_NAMESPACE", "ChildInfo", "ComplexTypeInfo", "SimpleTypeInfo", "XsdModel"]

XS_NAMESPACE = "http://www.w3.org/2001/XMLSchema"
_XS = "{" + XS_NAMESPACE + "}"

#: The built-in types the ISO 20022 catalogue restricts, plus the usual others.
_BUILTINS = frozenset(
    {
        "anySimpleType", "anyURI", "base64Binary", "boolean", "byte", "date", "dateTime",
        "decimal", "double", "duration", "float", "gDay", "gMonth", "gMonthDay", "gYear",
        "gYearMonth", "hexBinary", "ID", "IDREF", "int", "integer", "language", "long", "Name",
        "NCName", "negativeInteger", "NMTOKEN", "nonNegativeInteger", "nonPositiveInteger",
        "normalizedString", "positiveInteger", "QName", "short", "string", "time", "token",
        "unsignedByte", "unsignedInt", "unsignedLong", "unsignedShort",
    }
)  # fmt: skip

Content = Literal["elements", "simple", "empty"]


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """One child element of a complex type."""

    name: str
    type_name: str
    min_occurs: int = 1
    max_occurs: int | None = 1  # None: unbounded
    choice: int | None = None  # index of the xs:choice group it belongs to; None: sequence

    @property
    def repeats(self) -> bool:
        return self.max_occurs is None or self.max_occurs > 1

    @property
    def optional(self) -> bool:
        """May be absent: ``minOccurs="0"`` or one branch of a choice."""
        return self.min_occurs == 0 or self.choice is not None

    @property
    def max_label(self) -> str:
        return "unbounded" if self.max_occurs is None else str(self.max_occurs)


@dataclass(frozen=True, slots=True)
class SimpleTypeInfo:
    name: str
    base: str  # the type it restricts (``xs:string``, or another named simple type)
    enumeration: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ComplexTypeInfo:
    name: str
    content: Content  # child elements, simple content (text + attributes), or neither
    children: dict[str, ChildInfo] = field(default_factory=dict)  # in XSD order
    attributes: dict[str, str] = field(default_factory=dict)  # name -> type name
    base: str | None = None  # simpleContent: the simple type extended
    wildcard: bool = False  # holds an xs:any


def _occurs(raw: str | None, default: int | None = 1) -> int | None:
    if raw is None:
        return default
    if raw == "unbounded":
        return None
    return int(raw)


def _times(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


class XsdModel:
    """Types of one message XSD; see the module docstring."""

    def __init__(
        self,
        *,
        path: Path,
        namespace: str,
        root_element: str,
        root_type: str,
        complex_types: dict[str, ComplexTypeInfo],
        simple_types: dict[str, SimpleTypeInfo],
    ) -> None:
        self.path = path
        self.namespace = namespace
        self.root_element = root_element
        self.root_type = root_type
        self._complex = complex_types
        self._simple = simple_types
        self._leaf_counts: dict[str, int] = {}

    # -- loading -------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> XsdModel:
        """Parse ``path`` (no network, no DTD) into a model."""
        path = Path(path)
        parser = etree.XMLParser(
            no_network=True, resolve_entities=False, load_dtd=False, remove_comments=True
        )
        try:
            root = etree.parse(str(path), parser).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise SchemaCompileError(f"{path}: cannot read schema: {exc}") from exc
        if root.tag != f"{_XS}schema":
            raise SchemaError(f"{path}: not an XML Schema (root element {root.tag!r})")
        return _Reader(path, root).model()

    # -- types ---------------------------------------------------------------------

    def type_names(self) -> list[str]:
        """Every named type the schema defines (complex, then simple)."""
        return [*self._complex, *self._simple]

    def has_type(self, type_name: str) -> bool:
        return type_name in self._complex or type_name in self._simple or _builtin(type_name)

    def complex_type(self, type_name: str) -> ComplexTypeInfo | None:
        return self._complex.get(type_name)

    def simple_type(self, type_name: str) -> SimpleTypeInfo | None:
        return self._simple.get(type_name)

    def _check(self, type_name: str) -> None:
        if not self.has_type(type_name):
            raise KeyError(f"{self.path.name}: no type {type_name!r}")

    def children(self, type_name: str) -> dict[str, ChildInfo]:
        """Child elements (name -> info) in XSD order; empty for leaf types."""
        self._check(type_name)
        info = self._complex.get(type_name)
        return dict(info.children) if info is not None else {}

    def child(self, type_name: str, name: str) -> ChildInfo | None:
        info = self._complex.get(type_name)
        return info.children.get(name) if info is not None else None

    def is_simple(self, type_name: str) -> bool:
        """True when an element of this type carries text and no child elements:
        a simple type, a built-in, or a ``simpleContent`` type (e.g. an amount)."""
        self._check(type_name)
        info = self._complex.get(type_name)
        return info is None or info.content == "simple"

    def is_leaf(self, type_name: str) -> bool:
        """True when an element of this type has no child elements (simple types,
        amounts, and element-less complex types such as an ``xs:any`` envelope)."""
        self._check(type_name)
        info = self._complex.get(type_name)
        return info is None or not info.children

    def has_wildcard(self, type_name: str) -> bool:
        info = self._complex.get(type_name)
        return info is not None and info.wildcard

    def attributes(self, type_name: str) -> dict[str, str]:
        """Attribute name -> type name (``{"Ccy": "ActiveOrHistoricCurrencyCode"}``)."""
        self._check(type_name)
        info = self._complex.get(type_name)
        return dict(info.attributes) if info is not None else {}

    def builtin_base(self, type_name: str) -> str | None:
        """The built-in type at the bottom of a simple (or simpleContent) type,
        e.g. ``xs:decimal`` for ``ActiveCurrencyAndAmount``; None for element content."""
        self._check(type_name)
        seen: set[str] = set()
        current = type_name
        while current not in seen:
            seen.add(current)
            if _builtin(current):
                return current
            complex_info = self._complex.get(current)
            if complex_info is not None:
                if complex_info.base is None:
                    return None
                current = complex_info.base
                continue
            simple_info = self._simple.get(current)
            if simple_info is None:
                return None
            current = simple_info.base
        return None

    def enumeration(self, type_name: str) -> tuple[str, ...]:
        """The allowed values of an enumerated simple type; () when not enumerated."""
        self._check(type_name)
        info = self._simple.get(type_name)
        return info.enumeration if info is not None else ()

    # -- paths ---------------------------------------------------------------------

    def resolve_from(self, type_name: str, path: tuple[str, ...]) -> str | None:
        """Type of the element at ``path`` below an element of ``type_name``;
        None when a step is not a child element there."""
        current = type_name
        for step in path:
            info = self.child(current, step)
            if info is None:
                return None
            current = info.type_name
        return current

    def resolve(self, path: tuple[str, ...]) -> str | None:
        """Type of the element at ``path`` under ``Document`` (``()`` is Document's type)."""
        return self.resolve_from(self.root_type, path)

    def leaf_count(self, type_name: str) -> int:
        """Number of distinct leaf element paths at or below an element of this type."""
        self._check(type_name)
        cached = self._leaf_counts.get(type_name)
        if cached is None:
            cached, _ = self._count(type_name, ())
            self._leaf_counts[type_name] = cached
        return cached

    def _count(self, type_name: str, stack: tuple[str, ...]) -> tuple[int, bool]:
        """(count, truncated): ``truncated`` when a recursive reference was cut, in
        which case the count depends on ``stack`` and is not memoised."""
        cached = self._leaf_counts.get(type_name)
        if cached is not None:
            return cached, False
        info = self._complex.get(type_name)
        if info is None or not info.children:
            return 1, False
        if type_name in stack:
            return 1, True
        total = 0
        truncated = False
        inner = (*stack, type_name)
        for child in info.children.values():
            count, cut = self._count(child.type_name, inner)
            total += count
            truncated = truncated or cut
        if not truncated:
            self._leaf_counts[type_name] = total
        return total, truncated

    def leaf_paths(self, type_name: str, max_depth: int | None = None) -> Iterator[tuple[str, ...]]:
        """Leaf paths below an element of ``type_name`` in XSD order (``()`` for a leaf
        type). Paths are cut at ``max_depth`` steps and at a recursive reference."""
        self._check(type_name)
        yield from self._paths(type_name, (), (), max_depth)

    def _paths(
        self,
        type_name: str,
        prefix: tuple[str, ...],
        stack: tuple[str, ...],
        max_depth: int | None,
    ) -> Iterator[tuple[str, ...]]:
        info = self._complex.get(type_name)
        if (
            info is None
            or not info.children
            or type_name in stack
            or (max_depth is not None and len(prefix) >= max_depth)
        ):
            yield prefix
            return
        for child in info.children.values():
            yield from self._paths(
                child.type_name, (*prefix, child.name), (*stack, type_name), max_depth
            )


def _builtin(type_name: str) -> bool:
    return type_name.startswith("xs:") and type_name[3:] in _BUILTINS


class _Reader:
    """Builds an :class:`XsdModel` from a parsed ``xs:schema`` element."""

    def __init__(self, path: Path, root: etree._Element) -> None:
        self.path = path
        self.root = root

    def fail(self, where: str, why: str) -> SchemaError:
        return SchemaError(f"{self.path}: {where}: {why} (not supported by the XSD model)")

    def qname(self, node: etree._Element, value: str) -> str:
        """A type reference as a model type name (``xs:`` for built-ins)."""
        prefix, _, local = value.rpartition(":")
        namespace = node.nsmap.get(prefix or None)
        if namespace == XS_NAMESPACE:
            if local not in _BUILTINS:
                raise self.fail(value, "unknown built-in type")
            return f"xs:{local}"
        return local

    def model(self) -> XsdModel:
        namespace = self.root.get("targetNamespace") or ""
        complex_types: dict[str, ComplexTypeInfo] = {}
        simple_types: dict[str, SimpleTypeInfo] = {}
        root_element: tuple[str, str] | None = None
        for node in self.root:
            if not isinstance(node.tag, str):
                continue
            name = node.get("name") or ""
            if node.tag == f"{_XS}element":
                type_ref = node.get("type")
                if not type_ref:
                    raise self.fail(f"element {name}", "a global element without a type")
                if root_element is None or name == "Document":
                    root_element = (name, self.qname(node, type_ref))
            elif node.tag == f"{_XS}complexType":
                if not name or name in complex_types or name in simple_types:
                    raise self.fail(f"complexType {name!r}", "unnamed or duplicate type")
                complex_types[name] = self.complex_type(name, node)
            elif node.tag == f"{_XS}simpleType":
                if not name or name in complex_types or name in simple_types:
                    raise self.fail(f"simpleType {name!r}", "unnamed or duplicate type")
                simple_types[name] = self.simple_type(name, node)
            elif node.tag in (f"{_XS}annotation", f"{_XS}import", f"{_XS}include"):
                continue
            else:
                raise self.fail(name or node.tag, f"top-level {etree.QName(node).localname}")
        if root_element is None:
            raise SchemaError(f"{self.path}: no global element")
        model = XsdModel(
            path=self.path,
            namespace=namespace,
            root_element=root_element[0],
            root_type=root_element[1],
            complex_types=complex_types,
            simple_types=simple_types,
        )
        self.check_references(model, complex_types, simple_types)
        return model

    def check_references(
        self,
        model: XsdModel,
        complex_types: dict[str, ComplexTypeInfo],
        simple_types: dict[str, SimpleTypeInfo],
    ) -> None:
        refs: list[tuple[str, str]] = [("element " + model.root_element, model.root_type)]
        for info in complex_types.values():
            refs.extend((f"{info.name}/{c.name}", c.type_name) for c in info.children.values())
            refs.extend((f"{info.name}/@{a}", t) for a, t in info.attributes.items())
            if info.base is not None:
                refs.append((info.name, info.base))
        refs.extend((info.name, info.base) for info in simple_types.values())
        for where, type_name in refs:
            if not model.has_type(type_name):
                raise SchemaError(f"{self.path}: {where}: type {type_name!r} is not defined")

    def simple_type(self, name: str, node: etree._Element) -> SimpleTypeInfo:
        restriction = node.find(f"{_XS}restriction")
        base = restriction.get("base") if restriction is not None else None
        if restriction is None or not base:
            raise self.fail(f"simpleType {name}", "only xs:restriction with a base is read")
        values = tuple(
            value
            for facet in restriction.findall(f"{_XS}enumeration")
            if (value := facet.get("value")) is not None
        )
        return SimpleTypeInfo(name=name, base=self.qname(restriction, base), enumeration=values)

    def complex_type(self, name: str, node: etree._Element) -> ComplexTypeInfo:
        parts = [c for c in node if isinstance(c.tag, str) and c.tag != f"{_XS}annotation"]
        if not parts:
            return ComplexTypeInfo(name=name, content="empty")
        if len(parts) != 1:
            raise self.fail(f"complexType {name}", "more than one content particle")
        part = parts[0]
        if part.tag == f"{_XS}simpleContent":
            return self.simple_content(name, part)
        if part.tag not in (f"{_XS}sequence", f"{_XS}choice"):
            raise self.fail(f"complexType {name}", etree.QName(part).localname)
        children: dict[str, ChildInfo] = {}
        wildcard = self.group(
            name, part, children, choice=None, min_factor=1, max_factor=1, choices=[0]
        )
        return ComplexTypeInfo(
            name=name,
            content="elements" if children else "empty",
            children=children,
            wildcard=wildcard,
        )

    def group(
        self,
        type_name: str,
        group: etree._Element,
        children: dict[str, ChildInfo],
        *,
        choice: int | None,
        min_factor: int,
        max_factor: int | None,
        choices: list[int],
    ) -> bool:
        """Add ``group``'s elements to ``children``; True when it holds an xs:any.
        ``choices`` is a counter of choice groups met so far in the type."""
        group_min = _occurs(group.get("minOccurs")) or 0
        group_max = _occurs(group.get("maxOccurs"))
        min_factor = min_factor * group_min
        max_factor = _times(max_factor, group_max)
        if group.tag == f"{_XS}choice":
            choice = choices[0]
            choices[0] += 1
        wildcard = False
        for particle in group:
            if not isinstance(particle.tag, str) or particle.tag == f"{_XS}annotation":
                continue
            if particle.tag == f"{_XS}element":
                self.element(
                    type_name,
                    particle,
                    children,
                    choice=choice,
                    min_factor=min_factor,
                    max_factor=max_factor,
                )
            elif particle.tag in (f"{_XS}sequence", f"{_XS}choice"):
                inner = self.group(
                    type_name,
                    particle,
                    children,
                    choice=choice,
                    min_factor=min_factor,
                    max_factor=max_factor,
                    choices=choices,
                )
                wildcard = wildcard or inner
            elif particle.tag == f"{_XS}any":
                wildcard = True
            else:
                raise self.fail(f"complexType {type_name}", etree.QName(particle).localname)
        return wildcard

    def element(
        self,
        type_name: str,
        node: etree._Element,
        children: dict[str, ChildInfo],
        *,
        choice: int | None,
        min_factor: int,
        max_factor: int | None,
    ) -> None:
        name = node.get("name")
        type_ref = node.get("type")
        if not name or not type_ref:
            raise self.fail(
                f"complexType {type_name}", "an element without name and type (ref/inline)"
            )
        info = ChildInfo(
            name=name,
            type_name=self.qname(node, type_ref),
            min_occurs=(_occurs(node.get("minOccurs")) or 0) * min_factor,
            max_occurs=_times(_occurs(node.get("maxOccurs")), max_factor),
            choice=choice,
        )
        previous = children.get(name)
        if previous is not None and previous.type_name != info.type_name:
            raise self.fail(f"complexType {type_name}/{name}", "one name with two types")
        if previous is None:
            children[name] = info

    def simple_content(self, name: str, node: etree._Element) -> ComplexTypeInfo:
        extension = node.find(f"{_XS}extension")
        base = extension.get("base") if extension is not None else None
        if extension is None or not base:
            raise self.fail(f"complexType {name}", "simpleContent other than xs:extension")
        attributes: dict[str, str] = {}
        for attribute in extension:
            if not isinstance(attribute.tag, str) or attribute.tag == f"{_XS}annotation":
                continue
            attr_name = attribute.get("name")
            attr_type = attribute.get("type")
            if attribute.tag != f"{_XS}attribute" or not attr_name or not attr_type:
                raise self.fail(f"complexType {name}", "only named, typed xs:attribute")
            attributes[attr_name] = self.qname(attribute, attr_type)
        return ComplexTypeInfo(
            name=name,
            content="simple",
            attributes=attributes,
            base=self.qname(extension, base),
        )
