"""The stored message as the report detail page shows it: masked, lines numbered,
the lines findings point at highlighted.

Masking (DESIGN.md §5; :mod:`gateway.masking`) keeps the shape and hides the data:

* ISO 20022 XML: the text of account identifiers (``*Acct/Id/...``, ``IBAN``,
  proxies: :func:`gateway.masking.sensitive_path`) and of every element inside a party
  (``Dbtr``, ``Cdtr``, ``UltmtDbtr``, ``UltmtCdtr``, ``InitgPty``, ...) except its
  codes (BIC, LEI, country, scheme codes). The XML is read by a tolerant tag scanner,
  not a parser: rejected messages are often not well-formed, and line numbers must stay
  those of the stored bytes;
* SWIFT FIN: the lines of the party fields 50a/59a (ordering customer, beneficiary)
  but BIC-shaped lines, and account lines (``/...``) of the agent fields 51a-58a;
* anywhere: runs of 12 or more digits (card and account numbers).

Large messages show the lines around the findings only (:data:`MAX_LINES`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.masking import mask, sensitive_path

__all__ = ["MAX_LINES", "PayloadLine", "payload_lines"]

#: Messages up to this many lines are shown whole; longer ones around their findings.
MAX_LINES = 3000
_CONTEXT = 5
_HEAD = 200

_PARTIES = frozenset(
    {"Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr", "InitgPty", "Ptr", "Invcr", "Invcee"}
)
_KEEP = frozenset({"BIC", "BICFI", "AnyBIC", "LEI", "Ctry", "CtryOfRes", "Cd", "Prtry", "Issr"})
_TAG = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(/?)([A-Za-z_][\w.:-]*)[^>]*?(/?)>", re.S
)
_LONG_DIGITS = re.compile(r"\d(?:[ -]?\d){11,}")
_FIN_FIELD = re.compile(r"^:(\d{2}[A-Z]?):")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")


@dataclass(slots=True)
class PayloadLine:
    number: int
    text: str
    findings: list[int] = field(default_factory=list)
    gap_before: bool = False  # lines were left out before this one

    @property
    def highlighted(self) -> bool:
        return bool(self.findings)


def _mask_digits(text: str) -> str:
    return _LONG_DIGITS.sub(lambda m: mask(m.group(0)), text)


def _mask_text(text: str) -> str:
    """Mask the non-blank part of a text node, keeping surrounding whitespace."""
    stripped = text.strip()
    if not stripped:
        return text
    start = text.index(stripped)
    return text[:start] + mask(stripped) + text[start + len(stripped) :]


def _sensitive(stack: list[str]) -> bool:
    if not stack:
        return False
    if sensitive_path("/" + "/".join(stack)) or stack[-1] == "IBAN":
        return True
    return any(name in _PARTIES for name in stack) and stack[-1] not in _KEEP


def mask_xml(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TAG.finditer(text):
        between = text[position : match.start()]
        out.append(_mask_text(between) if _sensitive(stack) else _mask_digits(between))
        out.append(match.group(0))
        closing, name, empty = match.group(1), match.group(2), match.group(3)
        if name is not None:
            local = name.rsplit(":", 1)[-1]
            if closing:
                if local in stack:  # tolerate unbalanced tags
                    del stack[len(stack) - 1 - stack[::-1].index(local) :]
            elif not empty:
                stack.append(local)
        position = match.end()
    out.append(_mask_digits(text[position:]))
    return "".join(out)


def mask_fin(text: str) -> str:
    lines = text.split("\n")
    field_tag = ""
    for n, line in enumerate(lines):
        found = _FIN_FIELD.match(line)
        prefix = ""
        body = line
        if found:
            field_tag = found.group(1)
            prefix, body = line[: found.end()], line[found.end() :]
        elif line.startswith("-}") or line.startswith("{"):
            field_tag = ""
        party = field_tag[:2] in ("50", "59")
        agent = "51" <= field_tag[:2] <= "58"
        content = body.rstrip("\r")
        if content and ((party and not _BIC.match(content)) or (agent and content.startswith("/"))):
            body = body.replace(content, mask(content), 1)
        lines[n] = prefix + _mask_digits(body)
    return "\n".join(lines)


def _is_xml(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def payload_lines(payload: bytes, findings: Iterable[Mapping[str, Any]]) -> list[PayloadLine]:
    """The masked message, line by line, each with the findings (by index) on it."""
    text = payload.decode("utf-8", errors="replace")
    masked = mask_xml(text) if _is_xml(text) else mask_fin(text)
    lines = [PayloadLine(n, line.rstrip("\r")) for n, line in enumerate(masked.split("\n"), 1)]
    field_lines: dict[str, list[int]] = {}
    for item in lines:
        found = _FIN_FIELD.match(item.text)
        if found:
            field_lines.setdefault(found.group(1), []).append(item.number)
    for index, finding in enumerate(findings):
        location = finding.get("location") or {}
        line = location.get("line")
        targets = (
            [line] if isinstance(line, int) else field_lines.get(str(location.get("mt_tag")), [])
        )
        for target in targets:
            if 1 <= target <= len(lines):
                lines[target - 1].findings.append(index)
    if len(lines) <= MAX_LINES:
        return lines
    keep = set(range(1, _HEAD + 1))
    for item in lines:
        if item.findings:
            keep.update(range(item.number - _CONTEXT, item.number + _CONTEXT + 1))
    shown: list[PayloadLine] = []
    for number in sorted(n for n in keep if 1 <= n <= len(lines)):
        item = lines[number - 1]
        item.gap_before = bool(shown) and shown[-1].number != number - 1
        shown.append(item)
    return shown[: MAX_LINES + 50]
