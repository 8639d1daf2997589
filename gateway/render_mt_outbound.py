"""Canonical events -> the SWIFT MT messages that are not payments: MT 199 (free format,
the status of a payment) and MT 900 / 910 (confirmation of debit / credit).

:func:`render_mt_outbound` is the outbound counterpart of
:meth:`gateway.translate.Translator.render_mt` (MT 103 / 202) for these types. It
writes in the style of :mod:`gateway.translate_mt`: blocks 1, 2, 3 and 4, sender =
``instructing_agent.bic``, receiver = ``instructed_agent.bic``, fields in the order of
the message definition, each value in the SWIFT X character set (else replaced,
reported) and cut to its field's format with ``+`` (reported ``translate.truncated``);
every canonical value no field took is reported ``translate.dropped`` (the event
reader's leftovers); the text is validated (:func:`gateway.mt.validate_mt_structure`,
:func:`gateway.fin.validate_fin`) and those findings are returned with it. A value
the message cannot go without is a ``mapping.missing_mandatory`` error and no text.

MT 900 / 910: :mod:`gateway.render_mt_confirmation`. MT 199 from a status event
(``mappings/pacs.002.001.10.yaml``, ``pain.002.001.10.yaml``):

* **block 3** ``{121:}`` the original UETR (a status travels under the UETR of the
  payment it is about, as gpi status confirmations do);
* **20** the status id, else the original instruction id, else the status report's
  message id (reported defaulted); 16x, cut with ``+``;
* **21** the original instruction id, else the original end-to-end id (16x); left
  out when the event has neither (21 is optional in MT 199);
* **79** (35*50x) a narrative in SWIFT's structured free-format convention (code
  words between slashes opening a line, ``//`` opening each continuation line, as in
  the 72/79 narratives of the Payments Reject/Return guidelines):

  - line 1 ``/<status>/``: the transaction status (``/RJCT/``, ``/ACSC/``), else the
    payment information status, else the group status;
  - one line per reason: ``/<reason code or proprietary reason>/<additional
    information>`` (its lines joined by a space; a reason with no code ``/TEXT/``),
    continued on ``//`` lines of 48 characters;
  - ``/UETR/<original UETR>``, ``/MREF/<original message id>`` (the message the
    status is about: its MsgId, or an MT's field 20);
  - ``/TREF/<original end-to-end id>`` when 21 did not take it (unless
    ``NOTPROVIDED``).

  The line order, ``/UETR/`` and ``/TEXT/`` for an uncoded reason are this gateway's
  own convention (SWIFT defines no MT 199 layout for ISO status reports; gpi's
  tracker MT 199 layout is a different one); ``/MREF/`` and ``/TREF/`` follow the
  Reject/Return guidelines' code words. What does not fit in 35 lines is cut or
  dropped, reported. Not carried (reported dropped): the group reasons, the reasons'
  originators, acceptance time, effective settlement date, account servicer
  reference, original message name and creation time, and any payment data the
  status repeats.
"""

from __future__ import annotations

from typing import Any

from gateway.fin import validate_fin
from gateway.fin.fields import Text, render_field
from gateway.mt import MtMessage, parse_mt, render_mt, validate_mt_structure
from gateway.mt_fields import Field, TagValue
from gateway.render_mt_confirmation import (
    confirmation_target,
    fin_message,
    message_ids,
    missing,
    reference,
    render_confirmation,
)
from gateway.report import Finding
from gateway.translate_mt_fields import TextFields
from gateway.translate_report import EventReader, Ledger
from gateway.translate_text import NOT_PROVIDED, Context, chunks, cut, x_text

__all__ = ["OUTBOUND_MT_TARGETS", "render_mt_outbound"]

#: The message ids :func:`render_mt_outbound` writes.
OUTBOUND_MT_TARGETS = ("fin.199", "fin.900", "fin.910")
_WIDTH = 50  # 79: 35*50x
_LINES = 35
_STATUSES = (
    "status.transaction_status",
    "status.payment_information_status",
    "status.group_status",
)
Word = tuple[str, str, str]  # (canonical path, code word, text)


def render_mt_outbound(
    event: dict[str, Any], target: str, *, clearing: dict[str, str] | None = None
) -> tuple[str | None, list[Finding]]:
    """The MT ``target`` (:data:`OUTBOUND_MT_TARGETS`) written from a canonical event:
    the text, or None when a mandatory value is missing, and the findings of writing
    it (values truncated, replaced, dropped, written by rule; missing ones) and of
    validating it. ``clearing`` maps ISO clearing system codes to MT codes
    (``USABA`` -> ``FW``, as :class:`gateway.translate.Translator` reads them from
    ``mappings/fin/common/cbpr-plus.yaml``); without it an agent known by its clearing
    code alone is not written (reported). ``fin.900`` and ``fin.910`` name the
    family: the entry's credit/debit indicator decides (reported when it overrides
    ``target``). ValueError for any other target."""
    if target not in OUTBOUND_MT_TARGETS:
        raise ValueError(f"{target!r}: render_mt_outbound writes {', '.join(OUTBOUND_MT_TARGETS)}")
    ledger = Ledger()
    ctx = Context(EventReader(event), ledger, clearing or {}, lambda path: None)
    if target == "fin.199":
        actual = target
        message = _status_message(ctx)
    else:
        actual = confirmation_target(target, event, ledger)
        message = render_confirmation(ctx, actual)
    if message is None:
        return None, ledger.findings
    for path, value in ctx.reader.leftovers():
        ledger.dropped(path, f"no field of {actual} carries it", value=value)
    text = render_mt(message)
    return text, ledger.findings + _check(text)


def _check(text: str) -> list[Finding]:
    """Block structure, field formats, message definition and network rules."""
    parsed = parse_mt(text)
    checks = validate_mt_structure(parsed)
    if parsed.user_message is not None:
        checks += validate_fin(parsed.user_message)
    return checks


# ----------------------------------------------------------------------- MT 199


def _status_message(ctx: Context) -> MtMessage | None:
    reader = ctx.reader
    status = next((p for p in _STATUSES if reader.peek(p)), None)
    own = next((p for p in ("status.status_id", "original.instruction_id") if reader.peek(p)), None)
    fallback = next((p for p in ("ids.message_id", "group.message_id") if reader.peek(p)), None)
    needed = [
        ("instructing_agent.bic (the sender)", reader.peek("instructing_agent.bic")),
        ("instructed_agent.bic (the receiver)", reader.peek("instructed_agent.bic")),
        ("status.transaction_status or another status (79)", status),
        ("status.status_id, original.instruction_id or a message id (20)", own or fallback),
    ]
    if missing(ctx, "fin.199", needed) or status is None:
        return None
    sender = str(reader.get("instructing_agent.bic"))
    receiver = str(reader.get("instructed_agent.bic"))
    out = TextFields([])
    if own is None:
        assert fallback is not None
        ref = reference(ctx, fallback, ":20:")
        rule = "field 20 is mandatory; the status has no status id or original instruction id"
        ctx.ledger.defaulted("status.status_id", ref, rule, mt_tag=":20:")
        message_ids(ctx, str(reader.peek(fallback)))
    else:
        ref = reference(ctx, own, ":20:")
        message_ids(ctx, None)
    out.add(Field("20", render_field("20", Text(ref))))
    related = next(
        (p for p in ("original.instruction_id", "original.end_to_end_id") if reader.peek(p)),
        None,
    )
    if related is not None:
        out.add(Field("21", render_field("21", Text(reference(ctx, related, ":21:")))))
    lines = _lines(ctx, _words(ctx, status, related))
    out.add(Field("79", render_field("79", Text("\n".join(lines)))))
    uetr = reader.peek("original.uetr")
    block3 = [TagValue("121", str(uetr))] if uetr else []
    return fin_message(sender, receiver, "fin.199", block3, out)


def _words(ctx: Context, status: str, related: str | None) -> list[Word]:
    """79's code words in the layout of the module docstring, their values taken."""
    reader = ctx.reader
    words: list[Word] = [(status, str(reader.get(status)), "")]
    for index in range(len(reader.peek("reasons") or [])):
        path = f"reasons[{index}]"
        code = reader.get(f"{path}.reason.code") or reader.get(f"{path}.reason.proprietary")
        info = " ".join(str(line) for line in reader.get(f"{path}.additional_info") or [])
        if code or info:
            words.append((path, str(code or "TEXT"), info))
    for path, code in (("original.uetr", "UETR"), ("original.message_id", "MREF")):
        value = reader.get(path)
        if value:
            words.append((path, code, str(value)))
    e2e = reader.peek("original.end_to_end_id")
    if related != "original.end_to_end_id" and e2e not in (None, NOT_PROVIDED):
        words.append(("original.end_to_end_id", "TREF", str(reader.get("original.end_to_end_id"))))
    return words


def _lines(ctx: Context, words: list[Word]) -> list[str]:
    """``/CODE/text`` lines of 50 characters, ``//`` continuations of 48; what does not
    fit in 35 lines is cut (``+``) or dropped, word by word (reported)."""
    lines: list[str] = []
    for path, raw_code, raw in words:
        head = f"/{x_text(ctx, raw_code, path, ':79:')}/"
        text = x_text(ctx, raw, path, ":79:")
        room = _LINES - len(lines)
        if room <= 0:
            rule = f"79 holds {_LINES} lines of {_WIDTH} characters; they are full"
            ctx.ledger.dropped(path, rule, value=head + text, mt_tag=":79:")
            continue
        first = _WIDTH - len(head)
        capacity = first + (room - 1) * (_WIDTH - 2)
        text = cut(ctx, text, capacity, path, ":79:", f"79: {_LINES}*{_WIDTH}x")
        lines.append(head + text[:first])
        lines.extend("//" + piece for piece in chunks(text[first:], _WIDTH - 2))
    return lines
