"""Compile the rules of an MT mapping file (:mod:`gateway.fin.mapping`) into :class:`Rule`
trees, checking every target against the canonical event and every part against
:data:`gateway.fin.mapping_parts.PARTS` (the vocabulary is documented in the docstring
of :mod:`gateway.fin.mapping`). A mistake is a :class:`~gateway.errors.MappingError`
naming the file and the rule's path; nothing in a file is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gateway.errors import MappingError
from gateway.events import Amount, DateAndPlaceOfBirth, GenericId
from gateway.fin.fields import FIELD_SPECS
from gateway.fin.mapping_parts import PARTS, Kind, kind_of
from gateway.mapping.spec import unwrap_annotation

__all__ = ["OUTSIDE", "Compiler", "Rule"]

#: ``sequence: "-"``: the fields outside every sequence of the message definition.
OUTSIDE = "-"

_SOURCE = {"tag", "options", "block3", "header"}
_RULE = _SOURCE | {
    "sequence", "when", "words", "words_except", "part", "codes", "template", "fields",
    "many", "required", "first", "all", "join", "each", "value",
}  # fmt: skip
_COMBINE = ("first", "all", "join")
_TAG = re.compile(r"[0-9]{2}[A-Za-z]?")
_DEFAULT_PART: dict[str, str] = {"text": "text", "word": "text", "block3": "text", "header": "bic"}


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: ``target`` is the attribute on the enclosing model."""

    target: str
    tags: tuple[str, ...] = ()
    label: str | None = None  # the tag as written ("50a"): findings' location
    block3: str | None = None
    header: str | None = None
    sequence: str | None = None
    when: frozenset[str] | None = None
    words: frozenset[str] | None = None
    words_except: frozenset[str] | None = None
    kind: Kind | None = None  # of the source this rule (or its parent) reads
    part: str | None = None
    codes: Mapping[str, str] | None = None
    children: tuple[Rule, ...] = ()
    many: bool = False
    is_list: bool = False
    required: bool = False
    first: tuple[Rule, ...] = ()
    all: tuple[Rule, ...] = ()
    join: tuple[Rule, ...] = ()
    each: str | None = None  # one item per selected field, scoped to its sequence occurrence
    value: str | bool | None = None  # a literal fixed by the message definition

    @property
    def has_source(self) -> bool:
        return bool(self.tags or self.block3 or self.header)

    @property
    def alternatives(self) -> tuple[Rule, ...]:
        return (*self.first, *self.all, *self.join)

    @property
    def mt_tag(self) -> str | None:
        if self.label is not None:
            return f":{self.label}:"
        if self.block3 is not None:
            return f"{{3:{self.block3}}}"
        return None  # the sender and receiver are always there (blocks 1 and 2)


def _is_model(inner: Any) -> bool:
    """An object target (an Amount too: a part gives it whole, rules by its fields)."""
    return isinstance(inner, type) and issubclass(inner, BaseModel)


_PART_TARGETS: dict[str, tuple[Any, bool]] = {
    "str": (str, False),
    "list": (str, True),
    "bool": (bool, False),
    "amount": (Amount, False),
    "ids": (GenericId, True),
    "birth": (DateAndPlaceOfBirth, False),
}


class Compiler:
    """Compiles the rules of one file, with the templates and code maps it may use."""

    def __init__(self, file: Path, templates: dict[str, Any], codes: dict[str, Any]) -> None:
        self.file, self.templates, self.codes = file, templates, codes
        self.uses_sequences = False

    def fail(self, where: str, why: str) -> MappingError:
        return MappingError(f"{self.file.name}: {where}: {why}")

    def rules(
        self,
        spec: Any,
        model: type[BaseModel],
        where: str,
        kind: Kind | None,
        sequence: str | None,
        stack: tuple[str, ...] = (),
    ) -> tuple[Rule, ...]:
        if not isinstance(spec, dict):
            raise self.fail(where, "'fields' must be a mapping of targets to rules")
        out: list[Rule] = []
        groups: dict[str, dict[str, Any]] = {}
        for target, raw in spec.items():
            if not isinstance(target, str) or not target:
                raise self.fail(where, f"target {target!r} is not a name")
            head, _, rest = target.partition(".")
            if rest:
                groups.setdefault(head, {})[rest] = raw
                continue
            out.append(self.rule(target, raw, model, f"{where}.{target}", kind, sequence, stack))
        for head, sub in groups.items():
            inner, is_list = self.target(model, head, f"{where}.{head}")
            if is_list or not _is_model(inner):
                raise self.fail(f"{where}.{head}", "dotted targets need an object here")
            children = self.rules(sub, inner, f"{where}.{head}", kind, sequence, stack)
            out.append(Rule(target=head, kind=kind, sequence=sequence, children=children))
        return tuple(out)

    def target(self, model: type[BaseModel], name: str, where: str) -> tuple[Any, bool]:
        if name not in model.model_fields:
            raise self.fail(where, f"{name!r} is not a field of canonical {model.__name__}")
        return unwrap_annotation(model.model_fields[name].annotation)

    def rule(
        self,
        target: str,
        raw: Any,
        model: type[BaseModel],
        where: str,
        kind: Kind | None,
        sequence: str | None,
        stack: tuple[str, ...],
    ) -> Rule:
        if isinstance(raw, str):
            raw = {"part": raw}
        if not isinstance(raw, dict):
            raise self.fail(where, "a rule is a part name or a mapping")
        unknown = set(raw) - _RULE
        if unknown:
            raise self.fail(where, f"unknown key(s) {sorted(unknown)}")
        inner, is_list = self.target(model, target, where)
        for key in _COMBINE:
            if key in raw:
                return self.alternatives(key, target, raw, model, where, kind, sequence, stack)
        source = self.source(raw, where, kind)
        kind = source.pop("kind")
        sequence = self.sequence(raw, where, sequence, is_list)
        many, required = bool(raw.get("many", False)), bool(raw.get("required", False))
        if many and not is_list:
            raise self.fail(where, "'many' needs a list target")
        if "value" in raw:
            return self.literal(target, raw, inner, is_list, where, kind, sequence, source)
        if kind is None:
            if "fields" not in raw or "template" in raw:
                raise self.fail(where, "no source: give tag, block3 or header")
            if not _is_model(inner):  # an object assembled from its own rules' sources
                raise self.fail(where, "template/fields need an object target")
            children = self.rules(raw["fields"], inner, where, None, sequence, stack)
            return Rule(target, is_list=is_list, required=required, children=children)
        base = Rule(
            target, kind=kind, sequence=sequence, many=many, is_list=is_list,
            required=required, each=raw.get("each"), **source,
        )  # fmt: skip
        if "template" in raw or "fields" in raw:
            return self.object_rule(base, raw, inner, where, stack)
        part = raw.get("part", _DEFAULT_PART.get(kind))
        if not isinstance(part, str) or part not in PARTS[kind]:
            allowed = ", ".join(sorted(PARTS[kind]))
            raise self.fail(where, f"part {part!r} is not one of {kind} parts ({allowed})")
        produced, produced_list = _PART_TARGETS[PARTS[kind][part].type]
        fits = produced is inner and (
            produced_list == is_list or (is_list and not produced_list)  # wrapped / many
        )
        if not fits or (base.each is not None and produced_list):
            raise self.fail(where, f"part {part!r} does not fit the canonical field {target!r}")
        return _replace(base, part=part, codes=self.code_map(raw.get("codes"), where))

    def sequence(self, raw: dict[str, Any], where: str, default: str | None, is_list: bool) -> Any:
        """The sequence a rule reads: its own, its ``each`` sequence, or ``default``."""
        sequence = raw.get("sequence", default)
        each = raw.get("each")
        if each is not None:
            if not isinstance(each, str) or not each or each == OUTSIDE:
                raise self.fail(where, "'each' names a sequence of the message definition")
            if "tag" not in raw or not is_list or raw.get("many") or "sequence" in raw:
                raise self.fail(where, "'each' reads a tag into a list, without many/sequence")
            sequence = each
        if sequence is not None:
            if not isinstance(sequence, str) or not sequence:
                raise self.fail(where, "'sequence' is a sequence label, or '-' for none")
            self.uses_sequences = True
        return sequence

    def literal(
        self,
        target: str,
        raw: dict[str, Any],
        inner: Any,
        is_list: bool,
        where: str,
        kind: Kind | None,
        sequence: str | None,
        source: dict[str, Any],
    ) -> Rule:
        value = raw["value"]
        if set(raw) - _SOURCE - {"value", "sequence", "required"}:
            raise self.fail(where, "'value' takes only a source (tag, block3, header, sequence)")
        fits = (isinstance(value, bool) and inner is bool and not is_list) or (
            isinstance(value, str) and bool(value) and inner is str
        )
        if not fits:
            raise self.fail(where, f"value {value!r} does not fit the canonical field {target!r}")
        required = bool(raw.get("required", False))
        return Rule(
            target, kind=kind, sequence=sequence, is_list=is_list, required=required,
            value=value, **source,
        )  # fmt: skip

    def object_rule(
        self, base: Rule, raw: dict[str, Any], inner: Any, where: str, stack: tuple[str, ...]
    ) -> Rule:
        if not _is_model(inner):
            raise self.fail(where, "template/fields need an object target")
        spec = raw.get("fields")
        if "template" in raw:
            name = raw["template"]
            if name not in self.templates:
                raise self.fail(where, f"unknown template {name!r}")
            if name in stack:
                raise self.fail(where, f"template {name!r} is recursive")
            template = self.templates[name]
            if not isinstance(template, dict) or not isinstance(spec or {}, dict):
                raise self.fail(where, "'fields' must be a mapping of targets to rules")
            spec, stack = {**template, **(spec or {})}, (*stack, name)  # fields add, override
        # the rules of an `each` item read the fields of its occurrence, not of its sequence
        sequence = None if base.each is not None else base.sequence
        children = self.rules(spec, inner, where, base.kind, sequence, stack)
        return _replace(base, children=children)

    def alternatives(
        self,
        key: str,
        target: str,
        raw: dict[str, Any],
        model: type[BaseModel],
        where: str,
        kind: Kind | None,
        sequence: str | None,
        stack: tuple[str, ...],
    ) -> Rule:
        items = raw[key]
        if set(raw) - {key, "required"} or not isinstance(items, list) or not items:
            raise self.fail(where, f"'{key}' is a non-empty list and stands alone")
        alts = tuple(
            self.rule(target, item, model, f"{where}.{key}[{i}]", kind, sequence, stack)
            for i, item in enumerate(items)
        )
        inner, is_list = self.target(model, target, where)
        if key == "all" and not is_list:
            raise self.fail(where, "'all' needs a list target")
        if key == "join" and (is_list or inner is not str):
            raise self.fail(where, "'join' needs a text target")
        required = bool(raw.get("required", False))
        if key == "first":
            return Rule(target, is_list=is_list, required=required, first=alts)
        if key == "all":
            return Rule(target, is_list=is_list, required=required, all=alts)
        return Rule(target, is_list=is_list, required=required, join=alts)

    def source(self, raw: dict[str, Any], where: str, kind: Kind | None) -> dict[str, Any]:
        given = [k for k in ("tag", "block3", "header") if k in raw]
        if len(given) > 1:
            raise self.fail(where, f"one source only, not {given}")
        out: dict[str, Any] = {"kind": kind}
        if "tag" in raw:
            out.update(self.tags(raw, where))
        elif "block3" in raw:
            if not re.fullmatch(r"[0-9]{3}", str(raw["block3"])):
                raise self.fail(where, f"block3 {raw['block3']!r} is not a 3-digit tag")
            out.update(block3=str(raw["block3"]), kind="block3")
        elif "header" in raw:
            if raw["header"] not in ("sender", "receiver"):
                raise self.fail(where, "header is 'sender' or 'receiver'")
            out.update(header=raw["header"], kind="header")
        elif "options" in raw:
            raise self.fail(where, "'options' goes with 'tag'")
        for key in ("when", "words", "words_except"):
            if key in raw:
                values = raw[key]
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise self.fail(where, f"'{key}' is a list of codes")
                out[key] = frozenset(values)
        if ("words" in out or "words_except" in out) and out["kind"] != "word":
            if out["kind"] != "text":
                raise self.fail(where, "code words are read from narrative (text) fields")
            out["kind"] = "word"
        if "when" in out and out["kind"] != "code":
            raise self.fail(where, "'when' selects coded fields (23E, 71A...)")
        return out

    def tags(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        label = str(raw["tag"])
        if not _TAG.fullmatch(label):
            raise self.fail(where, f"tag {label!r} is not NN or NNa")
        if label[2:] == "a":
            options = raw.get("options")
            if not isinstance(options, list) or not options:
                raise self.fail(where, f"tag {label} needs 'options' (letters, '' for none)")
            tags = tuple(label[:2] + ("" if o in ("", "-") else str(o)) for o in options)
        elif "options" in raw:
            raise self.fail(where, f"'options' goes with a tag ending in 'a', not {label}")
        else:
            tags = (label,)
        kinds = {kind_of(FIELD_SPECS[t].kind) if t in FIELD_SPECS else "text" for t in tags}
        if len(kinds) != 1 or None in kinds:
            raise self.fail(
                where, f"tags {list(tags)} are not read alike ({sorted(map(str, kinds))})"
            )
        return {"tags": tags, "label": label, "kind": kinds.pop()}

    def code_map(self, codes: Any, where: str) -> Mapping[str, str] | None:
        if codes is None:
            return None
        if isinstance(codes, str):
            if codes not in self.codes:
                raise self.fail(where, f"unknown code map {codes!r}")
            codes = self.codes[codes]
        if not isinstance(codes, dict) or not codes:
            raise self.fail(where, "'codes' maps MT values to canonical values")
        return {str(k): str(v) for k, v in codes.items()}


def _replace(rule: Rule, **changes: Any) -> Rule:
    values = {name: getattr(rule, name) for name in Rule.__dataclass_fields__}
    values.update(changes)
    return Rule(**values)
