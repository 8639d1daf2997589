"""SWIFT MT -> canonical payment event: mapping files, their vocabulary and registry.

One YAML file per MT message id in ``mappings/fin/`` (``fin.103.yaml``,
``fin.202.COV.yaml``, ``fin.940.yaml``), in a small closed vocabulary; nothing is
evaluated. Every target, part and literal is checked against
:class:`gateway.events.PaymentEvent` and :data:`gateway.fin.mapping_parts.PARTS` when
the file loads (:mod:`gateway.fin.mapping_compile`), so a mapping can only produce
valid events::

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
    fields: {target: rule}            # one event per message (a statement is one event)

A *target* is a dotted canonical field (``debtor.postal_address.address_lines``). A
*rule* is a mapping with at most one **source**:

* ``tag: 32A`` - a text-block field; ``tag: 50a`` with ``options: [A, F, K]`` (``""``
  for the field without a letter: ``59a`` ``options: ["", A, F]``). With
  ``sequence: B`` only the fields of that sequence of the message definition
  (:mod:`gateway.fin.definitions`: MT 202 COV ``B``, MT 940 ``Statement line``, the
  n92/n96 ``Copy`` of the original message's fields), ``sequence: "-"`` only the
  fields outside every sequence (the MT 940 ``86`` after the balances);
  ``when: [SDVA]`` only coded fields (23E) with these codes; ``words: [ACC]`` /
  ``words_except: [ACC]`` the code words of a narrative field (``/ACC/`` lines of
  ``:72:``, ``/CNCL/`` of ``:76:``, ``/DUPL/`` of ``:79:``);
* ``block3: "121"`` - a block 3 tag; ``header: sender`` / ``header: receiver`` - the
  BIC of the message's sender / receiver (block 1 and 2, input or output form);
* none: the rule reads the source of the rule it is nested in (templates, ``fields``);

and one **value**:

* ``part: amount`` - a named part of the source (:data:`~gateway.fin.mapping_parts.PARTS`:
  32A ``amount``/``value``/``currency``/``date``; party ``iban``, ``account_other``,
  ``clearing_system``, ``clearing_id``, ``bic``, ``name``, ``address_lines``,
  ``country``, ``town``, ``identifiers``, ``birth``; code ``code``/``info``; text
  ``text``/``joined``/``lines``; code word ``text``/``word``/``lines``/``code``/
  ``reason``/``narrative``/``bic``/``name``; the statement and notification fields
  25a, 28C, 60a-65, 61, 13D, 11a: see :mod:`gateway.fin.mapping_cash`), optionally
  through ``codes`` (a map, or the name of one: a value outside it is
  ``mapping.invalid_value``); a text, block 3 or header source defaults to its text/BIC;
* ``template: name`` or ``fields: {target: rule}`` - an object read from the source
  (both: the template's rules, with ``fields`` added or overriding). ``fields``
  without a source (none given, none inherited) assembles an object from rules that
  each name their own source (the one entry of an MT 900);
* ``value: DBIT`` - a literal (text, or ``true``/``false`` for a boolean field): with
  a source, given when the source is present; without, always. **A literal is used
  only where the SWIFT message definition itself fixes the meaning**, never to fill a
  gap: MT 900 is a *confirmation of debit* (entries ``DBIT``), MT 910 of credit
  (``CRDT``); 60F is the opening balance (``OPBD``), 60M an intermediate one (``INTM``),
  62F/62M the closing (``CLBD``), 64 the closing available (``CLAV``), 65 a forward
  available balance (``FWAV``); a statement whose closing balance is 62F (*final*) is
  the last page of the statement, 62M (*intermediate*: more messages follow) is not;
  MT 940/950 report entries *booked* to the account, MT 900/910 an entry debited /
  credited to it (status ``BOOK``).

Modifiers: ``many: true`` (one list item per selected field or code word, the items
of a list part flattened; a single value put in a list target becomes a one-item
list), ``each: Statement line`` (instead of ``many`` on a tag of a repetitive
sequence: one list item per selected field, whose rules read the fields of *that
occurrence* of the sequence - the ``86`` directly after its ``61`` - unless they name
a ``sequence`` themselves), ``required: true`` (absence is
``mapping.missing_mandatory``, never a default), ``first: [rule, ...]`` (the first
alternative that yields a value: 52a, else the sender), ``all: [rule, ...]`` (the
items of every alternative, in order: 71F then 71G), ``join: [rule, ...]`` (the texts
of every alternative that yields one, a line break between them: the supplementary
details of a 61, then the lines of its 86). A string rule is a part name.

What a message carries that no rule consumes (a field, a part of a field such as the
town of a 59F, the ``/BNF/`` line of 72 or the funds code of a 61, a block 3 tag) is a
``mapping.unmapped`` warning, unless ``not_carried`` documents it; :func:`map_mt`
applies a mapping (:mod:`gateway.fin.mapping_run`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gateway.errors import MappingError
from gateway.events import PaymentEvent
from gateway.fin.mapping_compile import Compiler, Rule
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
_STAGES = ("initiation", "risk", "execution", "status", "settlement")


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
    compiler = Compiler(path, templates, codes)
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
