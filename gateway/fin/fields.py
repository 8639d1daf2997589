"""Field formats of the supported MT message types: check, parse and render.

Implements the field specifications of SWIFT *Standards MT November 2025* (format
notation per *Standards MT General Information*; network validated rules and error
codes per the Category 1, 2 and 9 volumes; FIN Error Codes) for every field option
of MT 103 / 103 STP, MT 202 / 202 COV, MT 900 / 910, MT 940 / 950 and the common
group messages n92 / n95 / n96 / n99 (199, 299). Sources consulted: the SWIFT User
Handbook field pages, prowide-core's field model and moov-io/wire's per-tag layout
(read for the approach; nothing copied).

One table, :data:`FIELD_SPECS`, keyed by tag with option (``"32A"``, ``"59"``,
``"59F"``), assembled from the field families, each module holding format, checks,
parse and render side by side:

* :mod:`gateway.fin.fields_refs` - references, codes, times, accounts, narratives
  (20, 21, 11S, 11R, 13C, 13D, 23B, 23E, 26T, 71A, 25, 25P, 28C; 70, 72, 75, 76, 77A,
  77B, 79, 86 and 121);
* :mod:`gateway.fin.fields_amounts` - amounts, rate, balances, statement lines (32A,
  32B, 33B, 36, 71F, 71G, 60F/M, 61, 62F/M, 64, 65);
* :mod:`gateway.fin.fields_parties` - 50A/F/K, 52a-58a, 59/59A/59F.

:func:`check_fields` judges every text-block field whose tag the table defines (the
others are the message checks' to report) and yields ``mt.field_format`` findings,
one per problem, with the SWIFT error code in ``context["swift_error"]``. Characters
outside the X set are reported once, by the text block's character-set check: the
field checks read them as a permitted character, and parsing keeps them.
:func:`parse_field` / :func:`render_field` are the typed pair for mappings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.fin.field_base import Context, FieldSpec, Groups, Problem, Text
from gateway.fin.fields_amounts import AMOUNT_SPECS, Amount, Balance, Rate, StatementLine
from gateway.fin.fields_parties import PARTY_SPECS, Party
from gateway.fin.fields_refs import (
    REFERENCE_SPECS,
    TEXT_SPECS,
    AccountId,
    Code,
    DateTimeIndication,
    MessageReference,
    StatementNumber,
    TimeIndication,
)
from gateway.mt import Field, MtMessage
from gateway.mt_fields import mt_finding
from gateway.report import Finding

__all__ = [
    "FIELD_SPECS",
    "AccountId",
    "Amount",
    "Balance",
    "Code",
    "DateTimeIndication",
    "FieldValue",
    "MessageReference",
    "Party",
    "Rate",
    "StatementLine",
    "StatementNumber",
    "Text",
    "TimeIndication",
    "check_field",
    "check_fields",
    "parse_field",
    "render_field",
]

FieldValue = (
    Text
    | Code
    | MessageReference
    | TimeIndication
    | DateTimeIndication
    | AccountId
    | StatementNumber
    | Amount
    | Rate
    | Balance
    | StatementLine
    | Party
)

#: Every field option the gateway knows the format of, by tag with option.
FIELD_SPECS: Mapping[str, FieldSpec[Any]] = {
    spec.tag: spec for spec in (*REFERENCE_SPECS, *AMOUNT_SPECS, *PARTY_SPECS, *TEXT_SPECS)
}

_NOT_X = re.compile(r"[^a-zA-Z0-9/\-?:().,'+ \n]")


def _judged(value: str) -> str:
    """``value`` with characters outside the X set read as ``?`` (same length)."""
    return _NOT_X.sub("?", value) if _NOT_X.search(value) else value


def _offset(value: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line):
        start = value.find("\n", start) + 1
    return start + column


def check_field(tag: str, value: str, message_id: str | None = None) -> list[Problem]:
    """The problems of one field value (``[]`` for a valid value or an unknown tag)."""
    spec = FIELD_SPECS.get(tag)
    return [] if spec is None else list(_problems(spec, value, Context(message_id)))


def _located(problem: Problem, m: re.Match[str]) -> Problem:
    """``problem`` with the line and column of its subfield in the value."""
    name = problem.subfield
    if problem.column is not None or name is None or name not in m.re.groupindex:
        return problem
    start = m.start(name)
    if start < 0:
        return problem
    line = m.string.count("\n", 0, start)
    column = start - (m.string.rfind("\n", 0, start) + 1)
    return Problem(problem.code, problem.message, problem.subfield, line, column)


def _problems(spec: FieldSpec[Any], value: str, ctx: Context) -> Iterator[Problem]:
    judged = _judged(value)
    m = spec.matcher.match(judged)
    if m is not None:
        for check in spec.checks:
            for problem in check(m, ctx):
                yield _located(problem, m)
        return
    miss = spec.matcher.diagnose(judged)
    if miss is None:
        return
    pos = _offset(value, miss.line, miss.column)
    if judged is not value and pos < len(value) and value[pos] != judged[pos]:
        return  # a character outside the X set: the character-set finding covers it
    code = miss.code
    mapped = spec.codes.get(miss.subfield or "")
    if mapped is not None:
        code = mapped[1] if code == "T33" else mapped[0]
    reason = miss.reason[0].upper() + miss.reason[1:]
    yield Problem(
        code, f"{reason} (format {spec.notation}).", miss.subfield, miss.line, miss.column
    )


def _finding(field: Field, spec: FieldSpec[Any], problem: Problem) -> Finding:
    line = field.line + problem.line if field.line else None
    column = None
    if problem.column is not None and line is not None:
        column = problem.column + 1 + (len(field.tag) + 2 if problem.line == 0 else 0)
    context: dict[str, Any] = {"swift_error": problem.code, "format": spec.notation}
    if problem.subfield:
        context["subfield"] = problem.subfield
    message = f"Field {field.tag}: {problem.message}"
    return mt_finding(
        "mt.field_format", message, line, field.location, column=column, context=context
    )


def check_fields(message: MtMessage) -> Iterator[Finding]:
    """Every field of ``message``'s text block against its format and field rules."""
    text = message.text
    if text is None:
        return
    message_id = message.message_id
    ctx = Context(str(message_id) if message_id is not None else None)
    for field in text.fields:
        spec = FIELD_SPECS.get(field.tag)
        if spec is not None:
            for problem in _problems(spec, field.value, ctx):
                yield _finding(field, spec, problem)


def _spec(tag: str) -> FieldSpec[Any]:
    spec = FIELD_SPECS.get(tag)
    if spec is None:
        raise ValueError(f"no field format for tag {tag!r}")
    return spec


def parse_field(tag: str, value: str) -> FieldValue | None:
    """The typed value of field ``tag`` (``"32A"``), or None when ``value`` does not
    have the field's format. Lenient beyond the format: dates are converted as text
    (``"240231"`` -> ``"2024-02-31"``) and field rules are not applied; characters
    outside the X set are kept. ValueError for a tag without a known format."""
    spec = _spec(tag)
    m = spec.matcher.match(_judged(value))
    if m is None:
        return None

    parsed: FieldValue | None = spec.parse(Groups(value, m))
    return parsed


def render_field(tag: str, value: FieldValue) -> str:
    """The field text (without ``:tag:``) of a typed value: the inverse of
    :func:`parse_field`. TypeError when ``value`` is not the tag's type; ValueError
    for values that field text cannot carry (a date outside 1980-2079, an amount
    that is not a decimal). Rendering does not validate: :func:`check_field` does."""
    spec = _spec(tag)
    if not isinstance(value, spec.kind):
        raise TypeError(f"field {tag} takes {spec.kind.__name__}, not {type(value).__name__}")
    rendered: str = spec.render(value)
    return rendered
