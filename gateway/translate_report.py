"""What a translation did to the data: its finding codes, the ledger that records them,
and the reader that proves no canonical value was left behind silently.

Translation (:mod:`gateway.translate`) reports in the gateway's one finding shape
(:class:`gateway.report.Finding`, layer ``mapping``), with the ``translate.*`` codes of
the catalogue of :mod:`gateway.report` (:data:`TRANSLATE_CODES`; ``docs/findings.md``):

* ``translate.truncated`` (warning, data lost) - a value longer than the target field
  was cut; the kept part ends with ``+``, the SWIFT convention for truncated text
  (CBPR+ MX to MT translation rules). ``context``: ``field`` (canonical field),
  ``original_length``, ``kept_length``, ``limit``, ``rule``;
* ``translate.dropped`` (warning, data lost) - source data the target message cannot
  carry, not in the output. ``context``: ``field`` and ``rule`` (why), ``length``;
* ``translate.replaced`` (warning, data lost) - characters outside the target's
  character set (SWIFT X) replaced: accents removed, any other character ``.``;
* ``translate.defaulted`` (info) - a value the translator wrote that is *not* data
  of the source: a rule of the target format (CBPR+ ``NOTPROVIDED``, ``NbOfTxs`` 1,
  ``CreDtTm`` = translation time, settlement method by METAFCT001, 23B ``CRED``).
  ``context``: ``field``, ``value``, ``rule``;
* ``translate.regenerated`` (info) - message-level data of the source that the target
  replaces with its own (``GrpHdr/CreDtTm`` and ``MsgId`` in MT, ``NbOfTxs``), or that
  the target says by its structure (settlement method ``INDA``/``COVE`` by the
  absence/presence of 53a-55a). Not a loss: a round trip regenerates it.

Location: ``mt_tag`` of the MT field involved and ``xpath`` of the MX element, where
known (the source element for a value read from MX, the target element for a value
written to MX).

:class:`EventReader` wraps a canonical event (a JSON-ready dict) and records every path
the renderer takes; :meth:`EventReader.leftovers` lists the leaves nobody took, which
the translator reports as ``translate.dropped`` - coverage by set difference, so a
value a renderer forgets is reported, never lost in silence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.report import CATALOGUE, CodeSpec, Finding, Location

__all__ = [
    "IDENTITY",
    "LOSS_CODES",
    "TRANSLATE_CODES",
    "EventReader",
    "Ledger",
    "lost",
    "translate_finding",
    "truncate",
]

#: Finding codes of translation (entries of the catalogue of :mod:`gateway.report`).
TRANSLATE_CODES: dict[str, CodeSpec] = {
    code: spec for code, spec in CATALOGUE.items() if code.startswith("translate.")
}
#: The codes that mean data was lost (``isogw translate`` exits 1 unless --allow-loss).
LOSS_CODES = frozenset({"translate.truncated", "translate.dropped", "translate.replaced"})
#: Event attributes that identify the event, not the payment: never translated.
IDENTITY = frozenset({"event_id", "event_type", "schema_version", "source"})

_PATH = re.compile(r"([A-Za-z_0-9]+)(?:\[(\d+)\])?")
Part = str | int


def translate_finding(
    code: str,
    message: str,
    *,
    xpath: str | None = None,
    mt_tag: str | None = None,
    line: int | None = None,
    context: dict[str, Any] | None = None,
) -> Finding:
    """A finding with a translation code (:data:`TRANSLATE_CODES`)."""
    spec = TRANSLATE_CODES[code]
    return Finding(
        code=code,
        severity=spec.severity,
        layer=spec.layer,
        location=Location(line=line, xpath=xpath, mt_tag=mt_tag),
        message=message,
        iso_reason=spec.iso_reason,
        context=context or {},
    )


def lost(findings: list[Finding]) -> list[Finding]:
    """The findings that say data was lost."""
    return [f for f in findings if f.code in LOSS_CODES]


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters by the SWIFT convention (the last kept
    character replaced by ``+``), and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[: limit - 1] + "+", True


@dataclass(slots=True)
class Ledger:
    """The findings of one translation, with helpers for each code."""

    findings: list[Finding] = field(default_factory=list)

    def add(self, item: Finding) -> None:
        self.findings.append(item)

    def truncated(
        self,
        canonical: str,
        original: str,
        kept: str,
        limit: int,
        rule: str,
        *,
        mt_tag: str | None = None,
        xpath: str | None = None,
    ) -> None:
        where = mt_tag or xpath or canonical
        message = (
            f"{canonical} has {len(original)} characters; {where} takes {limit}: "
            f"cut to {len(kept)} ending with '+' ({rule})."
        )
        context = {
            "field": canonical,
            "original_length": len(original),
            "kept_length": len(kept),
            "limit": limit,
            "rule": rule,
        }
        self.add(
            translate_finding(
                "translate.truncated", message, xpath=xpath, mt_tag=mt_tag, context=context
            )
        )

    def dropped(
        self,
        canonical: str,
        rule: str,
        *,
        value: Any = None,
        mt_tag: str | None = None,
        xpath: str | None = None,
        line: int | None = None,
    ) -> None:
        context: dict[str, Any] = {"field": canonical, "rule": rule}
        if isinstance(value, str):
            context["length"] = len(value)
        message = f"{canonical} is not translated: {rule}."
        self.add(
            translate_finding(
                "translate.dropped", message, xpath=xpath, mt_tag=mt_tag, line=line, context=context
            )
        )

    def defaulted(
        self,
        canonical: str,
        value: str,
        rule: str,
        *,
        mt_tag: str | None = None,
        xpath: str | None = None,
    ) -> None:
        message = f"{mt_tag or xpath or canonical} = {value!r}, written by the translator: {rule}."
        context = {"field": canonical, "value": value, "rule": rule}
        self.add(
            translate_finding(
                "translate.defaulted", message, xpath=xpath, mt_tag=mt_tag, context=context
            )
        )

    def regenerated(
        self, canonical: str, rule: str, *, mt_tag: str | None = None, xpath: str | None = None
    ) -> None:
        message = f"{canonical} is message-level data the target states its own way: {rule}."
        context = {"field": canonical, "rule": rule}
        self.add(
            translate_finding(
                "translate.regenerated", message, xpath=xpath, mt_tag=mt_tag, context=context
            )
        )


def parse_path(path: str) -> tuple[Part, ...]:
    """``"amounts.charges[1].amount"`` -> ``("amounts", "charges", 1, "amount")``."""
    parts: list[Part] = []
    for piece in path.split("."):
        m = _PATH.fullmatch(piece)
        if m is None:
            raise ValueError(f"not a canonical path: {path!r}")
        parts.append(m.group(1))
        if m.group(2) is not None:
            parts.append(int(m.group(2)))
    return tuple(parts)


def format_path(parts: tuple[Part, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _present(value: Any) -> bool:
    return value is not None and value not in ("", [], {})


class EventReader:
    """A canonical event that remembers which paths were taken (see module docstring)."""

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self._taken: set[tuple[Part, ...]] = set()

    def peek(self, path: str) -> Any:
        """The value at ``path`` (None when absent) without taking it."""
        value: Any = self.event
        for part in parse_path(path):
            if isinstance(part, int):
                value = value[part] if isinstance(value, list) and part < len(value) else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return None
        return value if _present(value) else None

    def get(self, path: str) -> Any:
        """The value at ``path``, taken: it and everything below it count as translated
        (or reported by the caller)."""
        self.take(path)
        return self.peek(path)

    def take(self, path: str) -> None:
        self._taken.add(parse_path(path))

    def _covered(self, parts: tuple[Part, ...]) -> bool:
        return any(parts[:n] in self._taken for n in range(1, len(parts) + 1))

    def leftovers(self) -> list[tuple[str, Any]]:
        """Every present leaf (path, value) no :meth:`get`/:meth:`take` covered, in
        event order; identity attributes excluded."""
        out: list[tuple[str, Any]] = []
        for key, value in self.event.items():
            if key not in IDENTITY:
                for parts, leaf in _leaves((key,), value):
                    if not self._covered(parts):
                        out.append((format_path(parts), leaf))
        return out


def _leaves(prefix: tuple[Part, ...], value: Any) -> Iterator[tuple[tuple[Part, ...], Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves((*prefix, key), sub)
    elif isinstance(value, list):
        if value and all(not isinstance(v, dict | list) for v in value):
            yield prefix, value  # a list of scalars is one leaf (address lines, Ustrd)
            return
        for index, sub in enumerate(value):
            yield from _leaves((*prefix, index), sub)
    elif _present(value):
        yield prefix, value
