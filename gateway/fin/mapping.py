"""SWIFT MT -> canonical payment event: mapping files, their vocabulary and registry.

One YAML file per MT message id in ``mappings/fin/`` (``fin.103.yaml``,
``fin.202.COV.yaml``), in a small closed vocabulary; nothing is evaluated. Every
target and every part is checked against :class:`gateway.events.PaymentEvent` and
:data:`gateway.fin.mapping_parts.PARTS` when the file loads, so a mapping can only
produce valid events::

    mapping: fin.103                  # the MessageId this file maps (file: fin.103.yaml)
    version: 1                        # version of this mapping file
    event_type: payment.credit_transfer.fi_to_fi
    stage: initiation                 # orchestration stage of the events (topic name part)
    description: free text
    extends: fin.103.yaml             # optional: start from another file's rules
    include: [common/cbpr-plus.yaml]  # files that provide `templates` and `codes`
    templates: {name: {target: rule}} # reusable objects read from one source
    codes: {name: {MT value: canonical value}}
    sequence: A                       # default sequence of field rules (MT 202 COV)
    not_carried:                      # documented omissions: consumed, carried nowhere
      - {tag: 23B, values: [CRED], reason: why}
      - {block3: "119", reason: why}
    fields: {target: rule}            # one event per message (MT 103/202 are single)

A *target* is a dotted canonical field (``debtor.postal_address.address_lines``). A
*rule* is a mapping with at most one **source**:

* ``tag: 32A`` - a text-block field; ``tag: 50a`` with ``options: [A, F, K]`` (``""``
  for the field without a letter: ``59a`` ``options: ["", A, F]``). With
  ``sequence: B`` only the fields of that sequence (MT 202 COV); ``when: [SDVA]`` only
  coded fields (23E) with these codes; ``words: [ACC]`` / ``words_except: [ACC]``
  the code words of a narrative field (``/ACC/`` lines of ``:72:``);
* ``block3: "121"`` - a block 3 tag; ``header: sender`` / ``header: receiver`` - the
  BIC of the message's sender / receiver (block 1 and 2, input or output form);
* none: the rule reads the source of the rule it is nested in (templates, ``fields``);

and one **value**:

* ``part: amount`` - a named part of the source (:data:`~gateway.fin.mapping_parts.PARTS`:
  32A ``amount``/``value``/``currency``/``date``; party ``iban``, ``account_other``,
  ``clearing_system``, ``clearing_id``, ``bic``, ``name``, ``address_lines``,
  ``country``, ``town``, ``identifiers``, ``birth``; code ``code``/``info``; text
  ``text``/``joined``/``lines``; code word ``text``/``word``/``bic``/``name``),
  optionally through ``codes`` (a map, or the name of one: a value outside it is
  ``mapping.invalid_value``); a text, block 3 or header source defaults to its text/BIC;
* ``template: name`` or ``fields: {target: rule}`` - an object read from the source.

Modifiers: ``many: true`` (one list item per selected field or code word; a single
value put in a list target becomes a one-item list), ``required: true`` (absence is
``mapping.missing_mandatory``, never a default), ``first: [rule, ...]`` (the first
alternative that yields a value: 52a, else the sender), ``all: [rule, ...]`` (the
items of every alternative, in order: 71F then 71G). A string rule is a part name.

What a message carries that no rule consumes (a field, a part of a field such as the
town of a 59F or the ``/BNF/`` line of 72, a block 3 tag) is a ``mapping.unmapped``
warning, unless ``not_carried`` documents it; :func:`map_mt` applies a mapping
(:mod:`gateway.fin.mapping_run`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel

from gateway.errors import MappingError
from gateway.events import Amount, DateAndPlaceOfBirth, GenericId, PaymentEvent
from gateway.fin.fields import FIELD_SPECS
from gateway.fin.mapping_parts import PARTS, Kind, kind_of
from gateway.mapping.spec import unwrap_annotation
from gateway.messages import MessageId

if TYPE_CHECKING:
    from gateway.fin.mapping_run import MtMapResult
    from gateway.mt import MtMessage

__all__ = [
    "FinMapping",
    "FinMappingRegistry",
    "NotCarried",
    "Rule",
    "load_fin_mapping",
    "map_mt",
]

_TOP = {
    "mapping", "version", "event_type", "stage", "description", "extends", "include",
    "templates", "codes", "sequence", "not_carried", "fields",
}  # fmt: skip
_SOURCE = {"tag", "options", "block3", "header"}
_RULE = _SOURCE | {
    "sequence", "when", "words", "words_except", "part", "codes", "template", "fields",
    "many", "required", "first", "all",
}  # fmt: skip
_TAG = re.compile(r"[0-9]{2}[A-Za-z]?")
_STAGES = ("initiation", "risk", "execution", "status", "settlement")
_DEFAULT_PART: dict[Kind, str] = {"text": "text", "word": "text", "block3": "text", "header": "bic"}


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

    @property
    def has_source(self) -> bool:
        return bool(self.tags or self.block3 or self.header)

    @property
    def mt_tag(self) -> str | None:
        if self.label is not None:
            return f":{self.label}:"
        if self.block3 is not None:
            return f"{{3:{self.block3}}}"
        return None  # the sender and receiver are always there (blocks 1 and 2)


@dataclass(frozen=True, slots=True)
class NotCarried:
    """A documented omission: field ``tag`` (with one of ``values``, any when empty) or
    block 3 tag ``block3`` is consumed without a target, for ``reason``."""

    reason: str
    tag: str | None = None
    block3: str | None = None
    values: frozenset[str] = frozenset()


@dataclass(slots=True)
class FinMapping:
    message_id: MessageId
    version: str
    event_type: str
    file: Path
    sha256: str
    rules: tuple[Rule, ...]
    stage: str = "initiation"
    not_carried: tuple[NotCarried, ...] = ()
    uses_sequences: bool = False
    description: str = field(default="", repr=False)

    @property
    def label(self) -> str:
        return f"{self.message_id}@{self.version}"


# --------------------------------------------------------------------- model types


def _is_model(inner: Any) -> bool:
    return isinstance(inner, type) and issubclass(inner, BaseModel) and inner is not Amount


_PART_TARGETS: dict[str, tuple[Any, bool]] = {
    "str": (str, False),
    "list": (str, True),
    "amount": (Amount, False),
    "ids": (GenericId, True),
    "birth": (DateAndPlaceOfBirth, False),
}


# --------------------------------------------------------------------- compilation


class _Compiler:
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
        for key in ("first", "all"):
            if key in raw:
                return self.alternatives(key, target, raw, model, where, kind, sequence, stack)
        source = self.source(raw, where, kind)
        kind = source.pop("kind")
        sequence = raw.get("sequence", sequence)
        if sequence is not None:
            self.uses_sequences = True
        many, required = bool(raw.get("many", False)), bool(raw.get("required", False))
        if many and not is_list:
            raise self.fail(where, "'many' needs a list target")
        if kind is None:
            raise self.fail(where, "no source: give tag, block3 or header")
        base = Rule(
            target, kind=kind, sequence=sequence, many=many, is_list=is_list,
            required=required, **source,
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
        if not fits or (many and produced_list):
            raise self.fail(where, f"part {part!r} does not fit the canonical field {target!r}")
        return _replace(base, part=part, codes=self.code_map(raw.get("codes"), where))

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
            spec, stack = self.templates[name], (*stack, name)
        children = self.rules(spec, inner, where, base.kind, base.sequence, stack)
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
        is_list = alts[0].is_list
        if key == "all" and not is_list:
            raise self.fail(where, "'all' needs a list target")
        required = bool(raw.get("required", False))
        if key == "first":
            return Rule(target, is_list=is_list, required=required, first=alts)
        return Rule(target, is_list=is_list, required=required, all=alts)

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


# --------------------------------------------------------------------- files


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(f"{path.name}: a mapping file is a YAML mapping")
    return data


def _assemble(path: Path, digest: Any, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's data with ``extends`` resolved (the base's keys, overridden)."""
    data = _read(path)
    digest.update(path.read_bytes())
    unknown = set(data) - _TOP
    if unknown:
        raise MappingError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}")
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    base_path = path.parent / str(base_name)
    if base_path in seen or base_path == path:
        raise MappingError(f"{path.name}: extends {base_name!r} in a cycle")
    base = _assemble(base_path, digest, (*seen, path))
    merged = {**base, **{k: v for k, v in data.items() if k not in ("fields", "not_carried")}}
    merged["fields"] = {**(base.get("fields") or {}), **(data.get("fields") or {})}
    merged["not_carried"] = [*(base.get("not_carried") or []), *(data.get("not_carried") or [])]
    merged["include"] = [*(base.get("include") or []), *(data.get("include") or [])]
    return merged


def _not_carried(items: Any, path: Path) -> tuple[NotCarried, ...]:
    if not isinstance(items, list):
        raise MappingError(f"{path.name}: not_carried is a list")
    out = []
    for i, item in enumerate(items):
        where = f"{path.name}: not_carried[{i}]"
        if not isinstance(item, dict) or set(item) - {"tag", "block3", "values", "reason"}:
            raise MappingError(f"{where}: keys are tag or block3, values, reason")
        if not item.get("reason") or ("tag" in item) == ("block3" in item):
            raise MappingError(f"{where}: give a reason and one of tag, block3")
        values = frozenset(str(v) for v in item.get("values") or ())
        tag, b3 = item.get("tag"), item.get("block3")
        out.append(NotCarried(str(item["reason"]), tag and str(tag), b3 and str(b3), values))
    return tuple(out)


def load_fin_mapping(path: Path) -> FinMapping:
    """Load, check and compile one MT mapping file (MappingError names file and key)."""
    digest = hashlib.sha256()
    data = _assemble(path, digest)
    for key in ("mapping", "version", "event_type", "fields"):
        if key not in data:
            raise MappingError(f"{path.name}: missing required key {key!r}")
    try:
        message_id = MessageId.parse(str(data["mapping"]))
    except ValueError as exc:
        raise MappingError(f"{path.name}: mapping: {exc}") from exc
    if not str(message_id).startswith("fin.") or path.stem != str(message_id):
        raise MappingError(f"{path.name}: an MT mapping is named <fin message id>.yaml")
    stage = data.get("stage", "initiation")
    if stage not in _STAGES:
        raise MappingError(f"{path.name}: stage: {stage!r} is not one of {_STAGES}")
    templates: dict[str, Any] = {}
    codes: dict[str, Any] = {}
    for include in data.get("include") or []:
        inc_path = path.parent / str(include)
        inc = _read(inc_path)
        if set(inc) - {"templates", "codes", "description"}:
            raise MappingError(f"{inc_path.name}: an include file holds templates and codes")
        templates.update(inc.get("templates") or {})
        codes.update(inc.get("codes") or {})
        digest.update(inc_path.read_bytes())
    templates.update(data.get("templates") or {})
    codes.update(data.get("codes") or {})
    compiler = _Compiler(path, templates, codes)
    sequence = data.get("sequence")
    rules = compiler.rules(data["fields"], PaymentEvent, "fields", None, sequence)
    return FinMapping(
        message_id=message_id,
        version=str(data["version"]),
        event_type=str(data["event_type"]),
        file=path,
        sha256=digest.hexdigest(),
        rules=rules,
        stage=str(stage),
        not_carried=_not_carried(data.get("not_carried") or [], path),
        uses_sequences=compiler.uses_sequences,
        description=str(data.get("description") or ""),
    )


class FinMappingRegistry:
    """The MT mapping files of a folder (``fin.*.yaml``; sub-folders hold includes)."""

    def __init__(self, mappings: list[FinMapping]) -> None:
        self._by_id = {str(m.message_id): m for m in mappings}

    @classmethod
    def load(cls, folder: Path) -> FinMappingRegistry:
        """Every ``fin.*.yaml`` of ``folder``; an absent folder holds no mapping."""
        if not folder.is_dir():
            return cls([])
        return cls([load_fin_mapping(p) for p in sorted(folder.glob("fin.*.yaml"))])

    def get(self, message_id: str) -> FinMapping | None:
        return self._by_id.get(message_id)

    def all(self) -> list[FinMapping]:
        return list(self._by_id.values())


def map_mt(
    message: MtMessage, mapping: FinMapping, *, seed: str, source: dict[str, Any]
) -> MtMapResult:
    """The canonical event of ``message`` (one: MT 103/202 are single transactions),
    the mapping findings and a locator from event fields back to MT tags."""
    from gateway.fin.mapping_run import run

    return run(message, mapping, seed=seed, source=source)
