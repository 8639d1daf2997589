"""Mapping files: load, check against the closed vocabulary, compile.

A mapping file (``mappings/<message id>.yaml``) describes how one message
version maps to the canonical payment event. Vocabulary (nothing else is
accepted; there is no expression language and nothing is evaluated)::

    mapping: pacs.008.001.08          # the MessageId this file maps
    version: 1                        # version of this mapping file
    event_type: payment.credit_transfer.fi_to_fi
    stage: initiation                 # orchestration stage the events enter (topic name part)
    description: free text
    include: [common/iso-2019.yaml]   # files that provide `templates`
    templates: {name: {target: field-spec, ...}}
    document: FIToFICstmrCdtTrf       # the element under Document
    fields: {target: field-spec}      # read once per message (group header data)
    each:                             # iteration; events are emitted per innermost element
      path: CdtTrfTxInf
      fields: {...}
      each: {...}                     # optional deeper level (pain.001 PmtInf / CdtTrfTxInf)

A *target* is a dotted canonical field (``ids.end_to_end_id``). A *field-spec*
is either a path string (``PmtId/EndToEndId``) or a mapping with ``path`` and
optionally ``type`` (``string``, ``amount``, ``bool``, ``decimal``),
``required`` (absence is a ``mapping.missing_mandatory`` finding; for an object, the
absence of its element: whether it may be empty is the XSD's call), ``many``
(a list), ``template`` or ``fields`` (a nested object), ``codes`` (a code map:
values outside it are ``mapping.invalid_value`` findings).

Targets and their types are checked against :class:`gateway.events.PaymentEvent`
when the file is compiled, so a mapping can only produce valid events.
"""

from __future__ import annotations

import hashlib
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from gateway.errors import MappingError
from gateway.events import Amount, PaymentEvent
from gateway.messages import MessageId

__all__ = ["CompiledField", "Mapping", "Scope", "load_mapping", "unwrap_annotation"]

FieldType = Literal["string", "amount", "bool", "decimal"]
_TYPES: tuple[str, ...] = typing.get_args(FieldType)
_TOP_KEYS = {
    "mapping", "version", "event_type", "stage", "description", "include", "templates",
    "document", "fields", "each",
}  # fmt: skip
_SCOPE_KEYS = {"path", "fields", "each"}
_FIELD_KEYS = {"path", "type", "required", "many", "template", "fields", "codes"}


@dataclass(frozen=True, slots=True)
class CompiledField:
    target: str  # attribute name on the enclosing model
    path: tuple[str, ...]  # element local names relative to the scope/parent element
    type: FieldType = "string"
    required: bool = False
    many: bool = False
    children: tuple[CompiledField, ...] = ()  # nested object (template/fields)
    codes: tuple[tuple[str, str], ...] | None = None
    #: ``path`` from the element the engine indexed (the scope element, or the item of
    #: the nearest enclosing ``many`` object): precomputed so mapping allocates nothing.
    rel: tuple[str, ...] = ()


@dataclass(slots=True)
class Scope:
    path: tuple[str, ...]  # relative to the parent scope element
    fields: tuple[CompiledField, ...]
    each: Scope | None = None


@dataclass(slots=True)
class Mapping:
    message_id: MessageId
    version: str
    event_type: str
    file: Path
    sha256: str
    document: str
    root: Scope
    stage: str = "initiation"
    consumed: dict[tuple[str, ...], set[tuple[str, ...]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.message_id}@{self.version}"


# --- pydantic model introspection -------------------------------------------------


def unwrap_annotation(annotation: Any) -> tuple[Any, bool]:
    """(inner type, is_list) for ``X | None`` / ``list[X]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return unwrap_annotation(args[0])
    if origin is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


def _resolve_target(model: type[BaseModel], dotted: str, where: str) -> tuple[Any, bool]:
    current: Any = model
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        fields = (
            current.model_fields
            if isinstance(current, type) and issubclass(current, BaseModel)
            else {}
        )
        if part not in fields:
            raise MappingError(f"{where}: target {dotted!r}: {part!r} is not a canonical field")
        inner, is_list = unwrap_annotation(fields[part].annotation)
        if index < len(parts) - 1:
            if is_list or not (isinstance(inner, type) and issubclass(inner, BaseModel)):
                raise MappingError(f"{where}: target {dotted!r}: {part!r} is not an object")
            current = inner
        else:
            return inner, is_list
    raise AssertionError("unreachable")


# --- compilation ------------------------------------------------------------------


class _Compiler:
    def __init__(self, file: Path, templates: dict[str, Any]) -> None:
        self.file = file
        self.templates = templates

    def where(self, context: str) -> str:
        return f"{self.file.name}: {context}"

    def fields(
        self, spec: Any, model: type[BaseModel], context: str, stack: tuple[str, ...] = ()
    ) -> tuple[CompiledField, ...]:
        if not isinstance(spec, dict):
            raise MappingError(self.where(f"{context}: 'fields' must be a mapping"))
        compiled: list[CompiledField] = []
        nested: dict[str, dict[str, Any]] = {}
        for target, raw in spec.items():
            if not isinstance(target, str):
                raise MappingError(self.where(f"{context}: target {target!r} is not a string"))
            head, _, rest = target.partition(".")
            if rest:  # dotted: group into a nested object on the first segment
                nested.setdefault(head, {})[rest] = raw
                continue
            compiled.append(self.field(target, raw, model, f"{context}.{target}", stack))
        for head, sub in nested.items():
            inner, is_list = _resolve_target(model, head, self.where(context))
            if is_list or not (isinstance(inner, type) and issubclass(inner, BaseModel)):
                raise MappingError(self.where(f"{context}: {head!r} is not an object"))
            children = self.fields(sub, inner, f"{context}.{head}", stack)
            compiled.append(CompiledField(target=head, path=(), children=children))
        return tuple(compiled)

    def field(
        self, target: str, raw: Any, model: type[BaseModel], context: str, stack: tuple[str, ...]
    ) -> CompiledField:
        if isinstance(raw, str):
            raw = {"path": raw}
        if not isinstance(raw, dict):
            raise MappingError(self.where(f"{context}: a field is a path or a mapping"))
        unknown = set(raw) - _FIELD_KEYS
        if unknown:
            raise MappingError(self.where(f"{context}: unknown key(s) {sorted(unknown)}"))
        path = raw.get("path")
        if not isinstance(path, str) or not path or path.startswith("/"):
            raise MappingError(self.where(f"{context}: 'path' must be a relative element path"))
        steps = tuple(path.split("/"))
        if any(not step.isidentifier() for step in steps):
            raise MappingError(self.where(f"{context}: path {path!r} has an invalid step"))
        inner, is_list = _resolve_target(model, target, self.where(context))
        many = bool(raw.get("many", False))
        if many != is_list:
            raise MappingError(
                self.where(f"{context}: 'many' must be {str(is_list).lower()} for this target")
            )
        children: tuple[CompiledField, ...] = ()
        kind = raw.get("type", "string")
        if kind not in _TYPES:
            raise MappingError(self.where(f"{context}: type {kind!r} is not one of {_TYPES}"))
        if "template" in raw or "fields" in raw:
            if not (isinstance(inner, type) and issubclass(inner, BaseModel)) or inner is Amount:
                raise MappingError(self.where(f"{context}: target is not an object"))
            if "template" in raw:
                name = raw["template"]
                if name not in self.templates:
                    raise MappingError(self.where(f"{context}: unknown template {name!r}"))
                if name in stack:
                    raise MappingError(self.where(f"{context}: template {name!r} is recursive"))
                children = self.fields(
                    self.templates[name], inner, f"template {name}", (*stack, name)
                )
            else:
                children = self.fields(raw["fields"], inner, context, stack)
        else:
            expected = {"amount": Amount, "bool": bool, "string": str, "decimal": str}[kind]
            if inner is not expected:
                raise MappingError(
                    self.where(f"{context}: type {kind!r} does not fit the canonical field")
                )
        codes = raw.get("codes")
        if codes is not None and not (
            isinstance(codes, dict) and all(isinstance(k, str) for k in codes)
        ):
            raise MappingError(self.where(f"{context}: 'codes' must map strings to strings"))
        return CompiledField(
            target=target,
            path=steps,
            type=kind,
            required=bool(raw.get("required", False)),
            many=many,
            children=children,
            codes=tuple((str(k), str(v)) for k, v in codes.items()) if codes else None,
        )

    def scope(self, raw: Any, context: str) -> Scope:
        if not isinstance(raw, dict):
            raise MappingError(self.where(f"{context}: 'each' must be a mapping"))
        unknown = set(raw) - _SCOPE_KEYS
        if unknown:
            raise MappingError(self.where(f"{context}: unknown key(s) {sorted(unknown)}"))
        path = raw.get("path")
        if not isinstance(path, str) or not path:
            raise MappingError(self.where(f"{context}: 'each' needs a 'path'"))
        return Scope(
            path=tuple(path.split("/")),
            fields=anchor(self.fields(raw.get("fields", {}), PaymentEvent, f"{context}.fields")),
            each=self.scope(raw["each"], f"{context}.each") if "each" in raw else None,
        )


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: invalid YAML: {exc}") from exc


_STAGES = ("initiation", "risk", "execution", "status", "settlement")


def _stage(value: Any, path: Path) -> str:
    if value not in _STAGES:
        raise MappingError(f"{path.name}: stage: {value!r} is not one of {_STAGES}")
    return str(value)


def load_mapping(path: Path) -> Mapping:
    raw_bytes = path.read_bytes()
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise MappingError(f"{path.name}: a mapping file is a YAML mapping")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise MappingError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}")
    for key in ("mapping", "version", "event_type", "document", "each"):
        if key not in data:
            raise MappingError(f"{path.name}: missing required key {key!r}")
    try:
        message_id = MessageId.parse(str(data["mapping"]))
    except ValueError as exc:
        raise MappingError(f"{path.name}: mapping: {exc}") from exc
    if path.stem != str(message_id):
        raise MappingError(f"{path.name}: file name must be {message_id}.yaml")
    templates: dict[str, Any] = {}
    digest = hashlib.sha256(raw_bytes)
    for include in data.get("include", []) or []:
        inc_path = path.parent / str(include)
        inc = _read_yaml(inc_path)
        if not isinstance(inc, dict) or set(inc) - {"templates", "description"}:
            raise MappingError(f"{inc_path.name}: an include file holds only 'templates'")
        templates.update(inc.get("templates") or {})
        digest.update(inc_path.read_bytes())
    templates.update(data.get("templates") or {})
    compiler = _Compiler(path, templates)
    root = Scope(
        path=(str(data["document"]),),
        fields=anchor(compiler.fields(data.get("fields", {}), PaymentEvent, "fields")),
        each=compiler.scope(data["each"], "each"),
    )
    mapping = Mapping(
        message_id=message_id,
        version=str(data["version"]),
        event_type=str(data["event_type"]),
        file=path,
        sha256=digest.hexdigest(),
        document=str(data["document"]),
        root=root,
        stage=_stage(data.get("stage", "initiation"), path),
    )
    mapping.consumed = consumed_paths(root)
    return mapping


def field_paths(
    fields: tuple[CompiledField, ...], prefix: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    """Every element path (relative to the scope element) the fields read."""
    out: set[tuple[str, ...]] = set()
    for item in fields:
        here = prefix + item.path
        if item.children:
            out |= field_paths(item.children, here)
        else:
            out.add(here)
    return out


def anchor(
    fields: tuple[CompiledField, ...], base: tuple[str, ...] = ()
) -> tuple[CompiledField, ...]:
    """Set every field's ``rel`` path (see :class:`CompiledField`)."""
    out = []
    for item in fields:
        rel = base + item.path
        inner = () if item.many else rel  # a many object's items are indexed on their own
        out.append(replace(item, rel=rel, children=anchor(item.children, inner)))
    return tuple(out)


def covered_paths(fields: tuple[CompiledField, ...]) -> set[tuple[str, ...]]:
    """The paths the fields read plus all their ancestors: an element at such a path is
    either consumed or a container of consumed elements."""
    out: set[tuple[str, ...]] = set()
    for path in field_paths(fields):
        for end in range(1, len(path) + 1):
            out.add(path[:end])
    return out


def consumed_paths(root: Scope) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    """Per scope (keyed by its absolute path under Document), the relative paths it reads."""
    out: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    scope: Scope | None = root
    absolute: tuple[str, ...] = ()
    while scope is not None:
        absolute = absolute + scope.path
        out[absolute] = covered_paths(scope.fields)
        scope = scope.each
    return out
