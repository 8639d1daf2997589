"""Canonical account notification -> SWIFT MT 900 / MT 910 (confirmation of debit /
credit), and the FIN headers and references the outbound MT renderers share.

The reverse of ``mappings/fin/fin.900.yaml`` and ``fin.910.yaml`` (an MT 900/910 is
the notification a camt.054 ``Ntfctn`` carries, with one entry and one transaction),
so that an MT 900/910 read into an event and written back gives its fields again.
Field formats and the message tables are SWIFT *Category 9 Cash Management* (SR 2025)
as :mod:`gateway.fin.definitions` holds them; every field is written by
:func:`gateway.fin.fields.render_field`, in the order of the message definition:

* **headers** as :mod:`gateway.translate_mt`: block 1 ``F01`` + the sender's LT
  address (``instructing_agent.bic``), block 2 input form ``I900``/``I910`` + the
  receiver (``instructed_agent.bic``) + priority ``N``; block 3 ``{121:}`` the UETR of
  the transaction (``details[0].ids.uetr``);
* **the type** follows the entry's credit/debit indicator (``DBIT`` -> MT 900,
  ``CRDT`` -> MT 910, the transaction's when the entry has none); asking for the other
  is reported ``translate.defaulted`` on ``{2:}``, as the 202 / 202 COV choice of
  :mod:`gateway.translate`; without any indicator the type asked for says it
  (reported defaulted);
* **20** ``statement.id`` (16x, cut with ``+``); the message ids the inbound mapping
  reads from 20 are taken when equal to it, else reported regenerated;
* **21** the transaction's instruction id, else its end-to-end id (16x): mandatory,
  so without either the message is not written (``mapping.missing_mandatory``);
* **25a** the account (IBAN, else its other identifier); ``25P`` with the BIC of the
  account owner when the event names one;
* **13D** the entry's booking date and time (``HHMM`` and the UTC offset; seconds
  cut, reported; a time without an offset cannot be written: dropped, reported);
* **32A** the entry's value date, currency and amount (the transaction's amount when
  the entry has none; the transaction's is taken when it is the same);
* **50a** (MT 910) the transaction's debtor and account by the customer rules of
  :mod:`gateway.translate_parties` (A, F, K); **52a** its debtor agent (A, D);
  **56a** (MT 910) its first intermediary agent (A, D);
* **72** the transaction's additional information (its lines as written), then the
  entry's and the notification's, in 6*35x (longer lines wrapped, what does not fit
  cut or dropped, reported).

The credit/debit indicators and status ``BOOK`` are said by the message type (an
MT 900/910 confirms a booked entry) and taken; anything else no field carries stays
untaken for the caller's coverage check (``translate.dropped``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gateway.fin.fields import AccountId, DateTimeIndication, Text, render_field
from gateway.mt import MtMessage
from gateway.mt_fields import Field, TagValue
from gateway.report import finding
from gateway.translate_mt_fields import TextFields, amount_field, input_message
from gateway.translate_parties import account_text, customer_field, institution_field
from gateway.translate_report import Ledger
from gateway.translate_text import WIDTH, Context, cut, fit_lines, x_text

__all__ = [
    "CONFIRMATION_TARGETS",
    "confirmation_target",
    "fin_message",
    "message_ids",
    "missing",
    "reference",
    "render_confirmation",
]

CONFIRMATION_TARGETS = {"DBIT": "fin.900", "CRDT": "fin.910"}
_ENTRY = "statement.entries[0]"
_DETAIL = f"{_ENTRY}.details[0]"
_REFERENCE = 16
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]\d{2}:\d{2})?"
)


# ------------------------------------------------------------ shared with MT 199


def fin_message(
    sender: str, receiver: str, target: str, block3: list[TagValue], fields: TextFields
) -> MtMessage:
    """Blocks 1, 2, (3) and 4 of an input message, the fields in definition order."""
    return input_message(target, sender, receiver, block3, fields.items)


def reference(ctx: Context, path: str, tag: str) -> str:
    """The reference at ``path``, taken, in the X set and 16x (cut with ``+``)."""
    text = x_text(ctx, str(ctx.reader.get(path)), path, tag)
    return cut(ctx, text, _REFERENCE, path, tag, f"field {tag.strip(':')}: 16x")


def message_ids(ctx: Context, written: str | None) -> None:
    """The event's own message ids: taken; reported regenerated unless field 20 is
    the same value (as the MT -> canonical mappings read it)."""
    for path in ("ids.message_id", "group.message_id"):
        value = ctx.reader.get(path)
        if value is not None and value != written:
            rule = "the MT message is identified by field 20"
            ctx.ledger.regenerated(path, rule, mt_tag=":20:")
    if ctx.reader.get("group.creation_datetime") is not None:
        rule = "an MT message has no creation time of its own (block 2 input time)"
        ctx.ledger.regenerated("group.creation_datetime", rule)


def missing(ctx: Context, target: str, needed: Sequence[tuple[str, Any]]) -> bool:
    """Report (``mapping.missing_mandatory``) the needed values that are absent."""
    absent = [name for name, value in needed if not value]
    if absent:
        ctx.ledger.add(
            finding(
                "mapping.missing_mandatory",
                f"{target} cannot be written without {', '.join(absent)}; never defaulted.",
                context={"target": target, "fields": absent},
            )
        )
    return bool(absent)


# ------------------------------------------------------------ MT 900 / 910


def confirmation_target(requested: str, event: dict[str, Any], ledger: Ledger) -> str:
    """MT 900 for a debit, MT 910 for a credit (see the module docstring)."""
    entries = (event.get("statement") or {}).get("entries") or [{}]
    details = entries[0].get("details") or [{}]
    mark = entries[0].get("credit_debit") or details[0].get("credit_debit")
    actual = CONFIRMATION_TARGETS.get(str(mark))
    if actual is None:
        said = "DBIT" if requested == "fin.900" else "CRDT"
        rule = f"the entry has no credit/debit indicator; {requested} says {said}"
        ledger.defaulted(f"{_ENTRY}.credit_debit", said, rule, mt_tag="{2:}")
        return requested
    if actual != requested:
        rule = f"the entry is a {'debit' if mark == 'DBIT' else 'credit'} ({mark})"
        ledger.defaulted("{2:}", actual.split(".")[1], rule, mt_tag="{2:}")
    return actual


def render_confirmation(ctx: Context, target: str) -> MtMessage | None:
    """The MT 900 / 910 of the notification in ``ctx.reader`` (None, with an error
    finding, when a mandatory value is missing)."""
    reader = ctx.reader
    amount_path = f"{_ENTRY}.amount" if reader.peek(f"{_ENTRY}.amount") else f"{_DETAIL}.amount"
    ids = (f"{_DETAIL}.ids.instruction_id", f"{_DETAIL}.ids.end_to_end_id")
    related = next((path for path in ids if reader.peek(path)), None)
    account = reader.peek("statement.account.iban") or reader.peek("statement.account.other.id")
    needed = [
        ("instructing_agent.bic (the sender)", reader.peek("instructing_agent.bic")),
        ("instructed_agent.bic (the receiver)", reader.peek("instructed_agent.bic")),
        ("statement.id (20)", reader.peek("statement.id")),
        (f"{_DETAIL}.ids.instruction_id or end_to_end_id (21)", related),
        ("statement.account iban or other.id (25a)", account),
        (f"{_ENTRY}.amount (32A)", reader.peek(amount_path)),
        (f"{_ENTRY}.value_date (32A)", reader.peek(f"{_ENTRY}.value_date")),
    ]
    if missing(ctx, target, needed) or related is None:
        return None
    sender = str(reader.get("instructing_agent.bic"))
    receiver = str(reader.get("instructed_agent.bic"))
    out = TextFields([])
    ref = reference(ctx, "statement.id", ":20:")
    message_ids(ctx, str(reader.peek("statement.id")))
    out.add(Field("20", render_field("20", Text(ref))))
    out.add(Field("21", render_field("21", Text(reference(ctx, related, ":21:")))))
    out.add(_account(ctx))
    out.add(_booking_time(ctx))
    _amount(ctx, out, amount_path)
    _implied(ctx, target)
    if target == "fin.910":
        out.add(customer_field(ctx, "50", f"{_DETAIL}.debtor", f"{_DETAIL}.debtor_account"))
    out.add(institution_field(ctx, "52", f"{_DETAIL}.debtor_agent", None, "AD"))
    if target == "fin.910":
        out.add(institution_field(ctx, "56", f"{_DETAIL}.intermediary_agent_1", None, "AD"))
    out.add(_field72(ctx))
    uetr = reader.get(f"{_DETAIL}.ids.uetr")
    block3 = [TagValue("121", str(uetr))] if uetr else []
    return fin_message(sender, receiver, target, block3, out)


def _account(ctx: Context) -> Field:
    """25 (the account), or 25P with the BIC of the account owner."""
    account = account_text(ctx, "statement.account", ":25a:")
    bic = ctx.reader.get("statement.account_owner.identification.any_bic")
    tag = "25P" if bic else "25"
    return Field(tag, render_field(tag, AccountId(str(account), str(bic) if bic else None)))


def _booking_time(ctx: Context) -> Field | None:
    """13D from the entry's booking date and time (ISO 8601 with its UTC offset)."""
    path = f"{_ENTRY}.booking_datetime"
    value = ctx.reader.peek(path)
    if value is None:
        return None
    m = _DATETIME.fullmatch(str(value))
    if m is None or m.group(5) is None:
        ctx.reader.take(path)
        rule = "13D needs a date, a time and a UTC offset"
        ctx.ledger.dropped(path, rule, value=str(value), mt_tag=":13D:")
        return None
    ctx.reader.take(path)
    date, hours, minutes, seconds, zone = m.groups()
    if seconds is not None and float(seconds) != 0:
        kept = f"{date}T{hours}:{minutes}"
        ctx.ledger.truncated(path, str(value), kept, 16, "13D: HHMM", mt_tag=":13D:")
    offset = "+0000" if zone == "Z" else zone.replace(":", "")
    return Field("13D", render_field("13D", DateTimeIndication(date, hours + minutes, offset)))


def _amount(ctx: Context, out: TextFields, amount_path: str) -> None:
    """32A; the transaction's amount is taken when 32A carries the same."""
    reader = ctx.reader
    date = str(reader.get(f"{_ENTRY}.value_date"))
    out.add(amount_field(ctx, "32A", amount_path, date))
    if reader.peek(f"{_DETAIL}.amount") == reader.peek(amount_path):
        reader.take(f"{_DETAIL}.amount")


def _implied(ctx: Context, target: str) -> None:
    """What the message type says: the debit/credit side and that the entry is booked."""
    reader = ctx.reader
    mark = "DBIT" if target == "fin.900" else "CRDT"
    for path in (f"{_ENTRY}.credit_debit", f"{_DETAIL}.credit_debit"):
        if reader.peek(path) == mark:
            reader.take(path)
    if reader.peek(f"{_ENTRY}.status") == {"code": "BOOK"}:
        reader.take(f"{_ENTRY}.status")


def _field72(ctx: Context) -> Field | None:
    """72: the additional information of the transaction, the entry, the notification."""
    lines: list[str] = []
    sources = (f"{_DETAIL}.additional_info", f"{_ENTRY}.additional_info")
    for path in (*sources, "statement.additional_info"):
        value = ctx.reader.get(path)
        if not value:
            continue
        own = [x_text(ctx, line, path, ":72:") for line in str(value).splitlines() if line]
        lines += fit_lines(ctx, own, 6 - len(lines), WIDTH, path, ":72:")
    return Field("72", render_field("72", Text("\n".join(lines)))) if lines else None
