"""One walk of a message element's subtree, shared by the checks of one message.

Several scheme checks look for elements by name anywhere below the Document (every
``FinInstnId``, every ``PstlAdr``, ``//InstgAgt``) or read every leaf (the CBPR+
character sets). Each walking the tree on its own costs a C-level iteration and a
Python object per element each time; :class:`ElementIndex` walks it once per message
(:meth:`gateway.rules.model.Subject.index`) and files the elements by tag, in
document order, and the leaves (elements without element children). ``memo`` keeps
what a check derives from the index for the other rules of the same check.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

__all__ = ["ElementIndex"]

_NONE: tuple[etree._Element, ...] = ()


def _no_element_child(element: etree._Element) -> bool:
    """Comments and processing instructions only (they do not make a leaf a parent)."""
    return not any(child.tag.__class__ is str for child in element)


class ElementIndex:
    """The elements of ``root``'s subtree (``root`` included), by namespaced tag."""

    __slots__ = ("by_tag", "leaves", "memo", "root")

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        by_tag: dict[str, list[etree._Element]] = {}
        leaves: list[etree._Element] = []
        for element in root.iter(etree.Element):  # elements only: no comments or PIs
            tag = element.tag
            listed = by_tag.get(tag)
            if listed is None:
                by_tag[tag] = [element]
            else:
                listed.append(element)
            # a leaf: no children, or (rare) comments and processing instructions only;
            # a first child that is an element decides the usual case
            if not len(element) or (
                element[0].tag.__class__ is not str and _no_element_child(element)
            ):
                leaves.append(element)
        self.by_tag = by_tag
        #: leaf elements in document order
        self.leaves = leaves
        #: check name -> what it derived from this index
        self.memo: dict[str, Any] = {}

    def tagged(self, tag: str) -> list[etree._Element] | tuple[etree._Element, ...]:
        """The elements with ``tag`` (``{namespace}local``), in document order."""
        return self.by_tag.get(tag, _NONE)
