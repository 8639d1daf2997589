"""The element tree of an outbound message: values written, then emitted in XSD order.

:class:`TreeWriter` writes canonical values into a light tree of :class:`Node` s
along the paths a :class:`~gateway.mapping.render_plan.RenderPlan` resolved (an
element is created on first use and shared by every field under it; a ``many`` list
repeats its deepest repeating element), then writes the markup with the children of
each complex type in XSD order and parses it once into lxml elements (values escaped;
a carriage return kept as ``&#13;``). Empty elements are never emitted; mandatory children
(XSD ``minOccurs`` >= 1, mandatory choices) that no value filled are
``mapping.missing_mandatory`` findings, and values that cannot be written are
``mapping.invalid_value`` findings: nothing is ever defaulted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Container
from typing import Any

from lxml import etree

from gateway.mapping.render_plan import FieldPlan, RenderPlan, Step
from gateway.report import Finding, finding

__all__ = ["Node", "TreeWriter"]

#: What element text and attribute values must escape.
_SPECIAL = re.compile("[&<>\r]")
_ATTR_SPECIAL = re.compile('[&<>"\t\n\r]')
_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\r": "&#13;",
}
_local = threading.local()


def _escape(text: str) -> str:
    # a literal CR would be read back as LF: keep it as a character reference
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], text)


def _escape_attr(text: str) -> str:
    return _ATTR_SPECIAL.sub(lambda m: _ESCAPES[m.group()], text)


def _parser() -> etree.XMLParser:
    """A parser for markup this module wrote (one per thread, as lxml requires)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
        )
    return parser


#: Values that read back as absent (an empty element is no element).
_EMPTY: tuple[Any, ...] = ("", [], {})
#: Characters XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Node:
    """An element being built."""

    __slots__ = ("attr", "kids", "parent", "step", "text")

    def __init__(self, step: Step, parent: Node | None) -> None:
        self.step = step
        self.parent = parent
        self.text: str | None = None
        self.attr: str | None = None
        self.kids: dict[str, list[Node]] | None = None

    def child(self, step: Step) -> Node:
        """The first child element ``step``, created when absent."""
        kids = self.kids
        if kids is None:
            node = Node(step, self)
            self.kids = {step.name: [node]}
            return node
        found = kids.get(step.name)
        if found:
            return found[0]
        node = Node(step, self)
        kids[step.name] = [node]
        return node

    def add(self, step: Step) -> Node:
        """A new child element ``step`` after any others of that name."""
        node = Node(step, self)
        if self.kids is None:
            self.kids = {step.name: [node]}
        else:
            self.kids.setdefault(step.name, []).append(node)
        return node

    def path(self) -> str:
        """``/Document/.../CdtTrfTxInf[2]/Dbtr``: 1-based index where names repeat."""
        steps: list[str] = []
        node: Node | None = self
        while node is not None:
            name = node.step.name
            parent = node.parent
            if parent is not None and parent.kids is not None:
                same = parent.kids.get(name, [])
                if len(same) > 1:
                    name = f"{name}[{next(i for i, n in enumerate(same) if n is node) + 1}]"
            steps.append(name)
            node = parent
        return "/" + "/".join(reversed(steps))


def spot(node: Node, item: FieldPlan) -> str:
    """The path of ``item``'s element below ``node`` (for findings)."""
    return node.path() + "".join("/" + s.name for s in item.steps)


class TreeWriter:
    def __init__(self, plan: RenderPlan) -> None:
        self.plan = plan
        self.findings: list[Finding] = []
        self.missing: set[str] = set()

    # -- findings ----------------------------------------------------------------------

    def invalid(self, where: str, why: str, **context: Any) -> None:
        self.findings.append(
            finding("mapping.invalid_value", f"{where}: {why}.", xpath=where, context=context)
        )

    def missing_at(self, where: str, why: str, **context: Any) -> None:
        if where not in self.missing:
            self.missing.add(where)
            self.findings.append(
                finding("mapping.missing_mandatory", why, xpath=where, context=context)
            )

    # -- values ------------------------------------------------------------------------

    def fields(self, node: Node, item: FieldPlan, value: Any) -> None:
        """Write the object ``value`` of ``item`` (an object or group) under ``node``.
        Keys the mapping has no field for are left out (``unmapped`` reports them)."""
        index = item.index
        for key, sub in value.items():
            child = index.get(key)
            if child is not None and (sub or (sub is not None and sub not in _EMPTY)):
                self.write(node, child, sub)
        for child in item.mandatory:
            sub = value.get(child.target)
            if sub is not None and sub not in _EMPTY:
                continue
            if child.kind == "group":  # a dotted group absent as a whole: its own needs
                self.fields(node, child, {})
            else:
                where = spot(node, child)
                self.missing_at(
                    where,
                    f"{where} is required by the mapping, but {child.label} is absent; "
                    f"never defaulted.",
                    target=child.label,
                )

    def write(self, at: Node, item: FieldPlan, value: Any) -> None:
        """Write ``value`` (present) of ``item`` below ``at``."""
        if item.kind == "group":
            self.fill(at, item, value)
        elif item.many:
            if not isinstance(value, list):
                self.invalid(spot(at, item), f"{item.label} must be a list")
                return
            base = at
            steps = item.steps
            for step in steps[: item.split]:
                base = base.child(step)
            for entry in value:
                if entry is None or entry in _EMPTY:
                    continue  # read back, an empty item is no item: never written
                node = base.add(steps[item.split])
                for step in steps[item.split + 1 :]:
                    node = node.child(step)
                self.set(node, item, entry)
        else:
            node = at
            for step in item.steps:
                node = node.child(step)
            self.set(node, item, value)

    def fill(self, node: Node, item: FieldPlan, value: Any) -> None:
        if isinstance(value, dict):
            self.fields(node, item, value)
        else:
            self.invalid(node.path(), f"{item.label} must be an object")

    def set(self, node: Node, item: FieldPlan, value: Any) -> None:
        if item.kind != "leaf":
            self.fill(node, item, value)
            return
        converted: tuple[str, str | None] | None
        if item.plain and value.__class__ is str and not _NOT_XML.search(value):
            converted = (value, None)
        else:
            converted = self.convert(node, item, value)
            if converted is None:
                return
        if node.text is None:
            node.text, node.attr = converted
        elif (node.text, node.attr) != converted:
            self.invalid(
                node.path(),
                f"two canonical fields go to this element with different values "
                f"({item.label} is one)",
                target=item.label,
            )

    def convert(self, node: Node, item: FieldPlan, value: Any) -> tuple[str, str | None] | None:
        """(text, currency) of a leaf value; None (reported) when it cannot be written."""
        attr: str | None = None
        if isinstance(value, str) and item.type in ("string", "decimal"):
            text = value
        elif item.type == "amount":
            if not (
                isinstance(value, dict)
                and isinstance(value.get("value"), str)
                and isinstance(value.get("currency"), str)
            ):
                self.invalid(node.path(), f"{item.label} must be an amount (value, currency)")
                return None
            text, attr = value["value"], value["currency"]
        elif item.type == "bool" and isinstance(value, bool):
            text = "true" if value else "false"
        else:
            kind = "true or false" if item.type == "bool" else "a string"
            self.invalid(node.path(), f"{item.label} must be {kind}")
            return None
        if item.codes is not None:
            code = item.codes.get(text)
            if code is None:
                self.invalid(
                    node.path(),
                    f"{item.label} {text!r} has no code in {self.plan.mapping.file.name}",
                    target=item.label,
                )
                return None
            text = code
        if _NOT_XML.search(text) or (attr is not None and _NOT_XML.search(attr)):
            self.invalid(node.path(), f"{item.label} holds characters XML cannot carry")
            return None
        return text, attr

    # -- emission ----------------------------------------------------------------------

    def document(self, root: Node) -> etree._Element:
        """The tree below ``root`` (the ``Document`` node) as lxml elements. The markup is
        written as text (children in XSD order, values escaped) and parsed once: several
        times faster than creating each element through lxml's API."""
        namespace = _escape_attr(self.plan.namespace)
        out = [f'<{root.step.name} xmlns="{namespace}">']
        for kids in (root.kids or {}).values():
            for node in kids:
                self.emit(out, node)
        out.append(f"</{root.step.name}>")
        return etree.fromstring("".join(out).encode("utf-8"), _parser())

    def emit(self, out: list[str], node: Node) -> bool:
        """Append ``node``'s markup (children in XSD order) to ``out``; False when it
        holds nothing (an element without content is never written)."""
        tag = node.step.name
        kids = node.kids
        if kids is None:
            text = node.text
            if text is None:
                return False
            if _SPECIAL.search(text):
                text = _escape(text)
            if node.attr is None:
                out.append(f"<{tag}>{text}</{tag}>")
            else:
                out.append(f'<{tag} Ccy="{_escape_attr(node.attr)}">{text}</{tag}>')
            return True
        info = node.step.info
        assert info is not None  # a node with children is of a complex type
        mark = len(out)
        out.append(f"<{tag}>")
        names = sorted(kids, key=info.order.__getitem__) if len(kids) > 1 else kids
        gone: list[str] = []
        for name in names:
            written = False
            for kid in kids[name]:
                written = self.emit(out, kid) or written
            if not written:
                gone.append(name)
        if len(out) == mark + 1:
            del out[mark:]
            return False
        out.append(f"</{tag}>")
        if info.required or info.choices:
            have: Container[str] = kids.keys() - set(gone) if gone else kids
            self.check(node, have, info.required, info.choices)
        return True

    def check(
        self,
        node: Node,
        have: Container[str],
        required: tuple[str, ...],
        choices: tuple[tuple[str, ...], ...],
    ) -> None:
        """Mandatory children the events did not fill (never defaulted)."""
        for name in required:
            if name not in have:
                where = f"{node.path()}/{name}"
                self.missing_at(
                    where,
                    f"{where} is mandatory in the XSD ({node.step.type_name}), but the events "
                    f"carry nothing the mapping writes there; never defaulted.",
                )
        for names in choices:
            if not any(name in have for name in names):
                where = f"{node.path()}/{names[0]}"
                self.missing_at(
                    where,
                    f"{node.path()} needs one of {', '.join(names)} ({node.step.type_name}), "
                    f"but the events carry none of them; never defaulted.",
                )
