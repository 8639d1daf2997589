"""Check a compiled mapping against the message XSD it claims to map.

:func:`lint_mapping` walks every scope and field of a :class:`Mapping` through
an :class:`~gateway.xsdmodel.XsdModel` and reports what can never work:

* ``document`` or an ``each`` path that is not where the XSD puts it;
* a path step that is not a child element of the type at that point;
* ``type: amount`` on an element without a ``Ccy`` attribute;
* ``type: bool`` / ``type: decimal`` on an element whose built-in base is not
  ``xs:boolean`` / a decimal type;
* a scalar field (string, bool, decimal, amount) on an element with child
  elements (or with no text at all, such as an ``xs:any`` envelope);
* an object field (``template`` / ``fields``) on an element without child elements;
* a ``codes`` key that the element's enumeration can never carry.

Each error names the mapping file, the canonical target (dotted, from the
event root) and the element path from under ``Document`` up to the impossible
step. Warnings are possible but lossy: a field that is not ``many`` while its
path repeats (only the first occurrence is read), a string/decimal read of an
amount (the ``Ccy`` is dropped), an ``each`` that can never repeat.

The coverage summary counts, per scope, the distinct leaf paths the mapping
reads against those the XSD allows (the nested ``each`` subtree belongs to the
inner scope), and lists the scope element's top-level children whose subtree
the mapping reads nothing from (``CdtTrfTxInf/Tax``, ``SplmtryData`` ...).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.errors import SchemaError
from gateway.mapping.spec import CompiledField, Mapping, Scope, field_paths
from gateway.schemas import SchemaEntry, SchemaRegistry
from gateway.xsdmodel import XsdModel

if TYPE_CHECKING:  # gateway.mapping may re-export this module
    from gateway.mapping import MappingRegistry

__all__ = ["LintResult", "ScopeCoverage", "lint_all", "lint_mapping"]

ElementPath = tuple[str, ...]

_BOOL_BASES = frozenset({"xs:boolean"})
_DECIMAL_BASES = frozenset(
    {
        "xs:decimal", "xs:integer", "xs:int", "xs:long", "xs:short", "xs:byte",
        "xs:nonNegativeInteger", "xs:positiveInteger", "xs:nonPositiveInteger",
        "xs:negativeInteger", "xs:unsignedLong", "xs:unsignedInt", "xs:unsignedShort",
        "xs:unsignedByte",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScopeCoverage:
    """How much of one scope element's subtree the mapping reads."""

    path: ElementPath  # absolute, from under Document
    type_name: str
    consumed: int  # distinct leaf paths the mapping reads in this scope
    total: int  # distinct leaf paths the XSD allows (inner scope excluded)
    unread: tuple[str, ...]  # top-level children whose subtree nothing reads, XSD order

    @property
    def ratio(self) -> float:
        return self.consumed / self.total if self.total else 1.0

    def describe(self) -> str:
        text = (
            f"{'/'.join(self.path)} ({self.type_name}): {self.consumed}/{self.total} "
            f"leaf paths read ({self.ratio:.0%})"
        )
        if self.unread:
            text += f"; nothing read from: {', '.join(self.unread)}"
        return text


@dataclass(slots=True)
class LintResult:
    message_id: str
    file: Path
    schema: Path | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    coverage: list[ScopeCoverage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        """A human-readable report: header, errors, warnings, coverage."""
        against = self.schema.name if self.schema is not None else "no schema"
        out = [
            f"{self.file.name} against {against}: "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        ]
        out.extend(f"  error: {text}" for text in self.errors)
        out.extend(f"  warning: {text}" for text in self.warnings)
        out.extend(f"  coverage: {item.describe()}" for item in self.coverage)
        return out


def _join(path: ElementPath) -> str:
    return "/".join(path)


def _dotted(prefix: str, target: str) -> str:
    return f"{prefix}.{target}" if prefix else target


class _Linter:
    def __init__(self, mapping: Mapping, model: XsdModel, result: LintResult) -> None:
        self.mapping = mapping
        self.model = model
        self.result = result
        self.file = mapping.file.name

    def error(self, target: str, path: ElementPath, why: str) -> None:
        self.result.errors.append(f"{self.file}: {target}: {_join(path)}: {why}")

    def warn(self, target: str, path: ElementPath, why: str) -> None:
        self.result.warnings.append(f"{self.file}: {target}: {_join(path)}: {why}")

    # -- paths ---------------------------------------------------------------------

    def walk(
        self, type_name: str, base: ElementPath, steps: ElementPath, target: str
    ) -> tuple[str | None, list[str]]:
        """Follow ``steps`` from an element of ``type_name`` at ``base``: the type reached
        (None after reporting the impossible step) and the repeating steps met."""
        current = type_name
        repeating: list[str] = []
        for index, step in enumerate(steps):
            here = base + steps[: index + 1]
            children = self.model.children(current)
            info = children.get(step)
            if info is None:
                if not children:
                    why = f"{step!r} is not a child element of {current}, which has none"
                else:
                    why = f"{step!r} is not a child element of {current}"
                    close = difflib.get_close_matches(step, list(children), n=1)
                    if close:
                        why += f" (did you mean {close[0]!r}?)"
                self.error(target, here, why)
                return None, repeating
            if info.repeats:
                repeating.append(f"{step} (maxOccurs {info.max_label})")
            current = info.type_name
        return current, repeating

    # -- fields --------------------------------------------------------------------

    def fields(
        self,
        fields: tuple[CompiledField, ...],
        type_name: str,
        base: ElementPath,
        prefix: str,
    ) -> None:
        for item in fields:
            self.field(item, type_name, base, prefix)

    def field(self, item: CompiledField, type_name: str, base: ElementPath, prefix: str) -> None:
        target = _dotted(prefix, item.target)
        here = base + item.path
        reached, repeating = self.walk(type_name, base, item.path, target)
        if reached is None:
            return
        last = item.path[-1] if item.path else (base[-1] if base else "Document")
        if repeating and not item.many:
            self.warn(
                target,
                here,
                f"{', '.join(repeating)} repeats but the field is not 'many': "
                f"only the first occurrence is read",
            )
        if item.children:
            if self.model.is_leaf(reached):
                self.error(
                    target,
                    here,
                    f"an object field (template/fields) needs an element with child "
                    f"elements, but {last} is {reached}, which has none",
                )
                return
            self.fields(item.children, reached, here, target)
            return
        self.scalar(item, target, here, last, reached)

    def scalar(
        self, item: CompiledField, target: str, here: ElementPath, last: str, reached: str
    ) -> None:
        model = self.model
        if not model.is_simple(reached):
            what = "has child elements" if not model.is_leaf(reached) else "carries no text"
            self.error(
                target,
                here,
                f"type {item.type!r} needs a simple element, but {last} is {reached}, which {what}",
            )
            return
        base = model.builtin_base(reached) or "?"
        has_ccy = "Ccy" in model.attributes(reached)
        if item.type == "amount" and not has_ccy:
            self.error(
                target,
                here,
                f"type 'amount' needs an element with a Ccy attribute, but {last} is "
                f"{reached}, which has none",
            )
        elif item.type == "bool" and base not in _BOOL_BASES:
            self.error(
                target,
                here,
                f"type 'bool' needs a boolean element, but {last} is {reached} ({base})",
            )
        elif item.type == "decimal" and base not in _DECIMAL_BASES:
            self.error(
                target,
                here,
                f"type 'decimal' needs a decimal element, but {last} is {reached} ({base})",
            )
        elif item.type in ("string", "decimal") and has_ccy:
            self.warn(
                target,
                here,
                f"{last} is an amount ({reached}); type {item.type!r} drops its Ccy "
                f"(use type: amount)",
            )
        allowed = model.enumeration(reached)
        if item.codes is not None and allowed:
            for code, _ in item.codes:
                if code not in allowed:
                    self.error(
                        target,
                        here,
                        f"code {code!r} is not a value of {reached} "
                        f"(allowed: {', '.join(allowed)})",
                    )

    # -- scopes --------------------------------------------------------------------

    def run(self) -> None:
        model = self.model
        top = model.children(model.root_type)
        info = top.get(self.mapping.document)
        if info is None:
            self.result.errors.append(
                f"{self.file}: document: {self.mapping.document!r} is not the message "
                f"element of {model.path.name} (expected one of: {', '.join(top)})"
            )
            return
        self.scope(self.mapping.root, info.type_name, (self.mapping.document,), "each")

    def scope(self, scope: Scope, type_name: str, absolute: ElementPath, label: str) -> None:
        inner_type: str | None = None
        inner = scope.each
        if inner is not None:
            inner_type, repeating = self.walk(type_name, absolute, inner.path, label)
            if inner_type is not None and not repeating:
                self.warn(
                    label,
                    absolute + inner.path,
                    "nothing on the 'each' path repeats: at most one iteration",
                )
            if inner_type is not None and self.model.is_leaf(inner_type):
                self.error(
                    label,
                    absolute + inner.path,
                    f"'each' needs an element with child elements, but "
                    f"{inner.path[-1]} is {inner_type}, which has none",
                )
                inner_type = None
        self.fields(scope.fields, type_name, absolute, "")
        self.result.coverage.append(self.coverage(scope, type_name, absolute, inner_type))
        if inner is not None and inner_type is not None:
            self.scope(inner, inner_type, absolute + inner.path, f"{label}.each")

    def coverage(
        self, scope: Scope, type_name: str, absolute: ElementPath, inner_type: str | None
    ) -> ScopeCoverage:
        model = self.model
        inner_path = scope.each.path if scope.each is not None else None

        def inside_inner(path: ElementPath) -> bool:
            return inner_path is not None and path[: len(inner_path)] == inner_path

        consumed = {
            path
            for path in field_paths(scope.fields)
            if path and not inside_inner(path)
            and (reached := model.resolve_from(type_name, path)) is not None
            and model.is_leaf(reached)
        }  # fmt: skip
        total = model.leaf_count(type_name)
        if inner_type is not None:
            total -= model.leaf_count(inner_type)
        read_heads = {path[0] for path in consumed}
        if inner_path is not None:
            read_heads.add(inner_path[0])
        unread = tuple(name for name in model.children(type_name) if name not in read_heads)
        return ScopeCoverage(
            path=absolute,
            type_name=type_name,
            consumed=len(consumed),
            total=total,
            unread=unread,
        )


def lint_mapping(mapping: Mapping, model: XsdModel) -> LintResult:
    """Errors, warnings and coverage of ``mapping`` against ``model``."""
    result = LintResult(message_id=str(mapping.message_id), file=mapping.file, schema=model.path)
    _Linter(mapping, model, result).run()
    return result


def lint_all(mappings: MappingRegistry, schemas: SchemaRegistry) -> list[LintResult]:
    """Lint every mapping against the active XSD of its message id (sorted by id)."""
    results: list[LintResult] = []
    for mapping in sorted(mappings.all(), key=lambda m: str(m.message_id)):
        entry: SchemaEntry | None = schemas.get(mapping.message_id)
        if entry is None:
            result = LintResult(message_id=str(mapping.message_id), file=mapping.file)
            # Not an error of the mapping: it is simply unusable (and unchecked) until the
            # schema is added; messages of that id are rejected with schema.not_installed.
            result.warnings.append(
                f"{mapping.file.name}: not checked: no XSD for {mapping.message_id} is installed "
                f"(add it with `isogw schemas add` or a GATEWAY_SCHEMA_DIRS folder)"
            )
            results.append(result)
            continue
        try:
            model = XsdModel.load(entry.path)
        except SchemaError as exc:
            result = LintResult(
                message_id=str(mapping.message_id), file=mapping.file, schema=entry.path
            )
            result.errors.append(f"{mapping.file.name}: cannot model {entry.path.name}: {exc}")
            results.append(result)
            continue
        results.append(lint_mapping(mapping, model))
    return results
