"""From a canonical field of an event back to the element it was read from.

Rules judge canonical events; their findings must still point at the message.
The mapping knows, for every target, the element path it reads relative to its
scope; the engine records the scope elements of each event. Together they give
the element (or, for an absent field, its nearest present ancestor on the
mapped path, so a "missing" finding points where the value belongs).
"""

from __future__ import annotations

from lxml import etree

from gateway.mapping.spec import CompiledField, Mapping, Scope

__all__ = ["FieldLocator"]


def _scopes(root: Scope) -> list[Scope]:
    out: list[Scope] = []
    scope: Scope | None = root
    while scope is not None:
        out.append(scope)
        scope = scope.each
    return out


def _resolve(fields: tuple[CompiledField, ...], parts: list[str]) -> tuple[str, ...] | None:
    """The element path of the dotted target ``parts`` relative to the scope element,
    or None when this scope does not map it."""
    path: tuple[str, ...] = ()
    current = fields
    for index, part in enumerate(parts):
        spec = next((f for f in current if f.target == part), None)
        if spec is None:
            return None
        path = path + spec.path
        if spec.many or index == len(parts) - 1:
            return path  # a list: its first item stands for the whole
        current = spec.children
    return path


class FieldLocator:
    """``locate(event_index, "debtor_account.iban")`` for one mapped message."""

    def __init__(self, mapping: Mapping, scopes: list[tuple[etree._Element, ...]]) -> None:
        self._levels = _scopes(mapping.root)
        self._chains = scopes
        self._cache: dict[tuple[int, str], tuple[str, ...] | None] = {}

    def __call__(self, event: int, field: str) -> etree._Element | None:
        """The element ``field`` was read from: the innermost scope that holds it
        (transaction values win over group values, as in the mapping), else the nearest
        present ancestor of the path in the innermost scope that maps the field."""
        if not 0 <= event < len(self._chains):
            return None
        chain = self._chains[event]
        parts = field.split(".")
        fallback: etree._Element | None = None
        for depth in range(len(chain) - 1, -1, -1):
            key = (depth, field)
            if key not in self._cache:
                self._cache[key] = _resolve(self._levels[depth].fields, parts)
            path = self._cache[key]
            if path is None:
                continue
            node, complete = _nearest(chain[depth], path)
            if complete:
                return node
            if fallback is None:
                fallback = node
        if fallback is not None:
            return fallback
        return chain[-1] if chain else None


def _nearest(scope: etree._Element, path: tuple[str, ...]) -> tuple[etree._Element, bool]:
    """The element at ``path`` (True), or its nearest present ancestor (False)."""
    namespace = scope.tag[: scope.tag.index("}") + 1] if scope.tag.startswith("{") else ""
    node = scope
    for name in path:
        child = node.find(f"{namespace}{name}")
        if child is None:
            return node, False
        node = child
    return node, True
