"""Canonical payment return (pacs.004) -> SWIFT MT 103 RETN / MT 202 RETN (MX -> MT).

MT has no return message of its own: a return is an MT 103 or MT 202 whose field 72
follows the *Payments Reject/Return Guidelines* (SWIFT Standards MT Usage Guidelines).
Written from the canonical return event (``mappings/pacs.004.001.09.yaml``) after the
CBPR+ pacs.004 to MT translation rules. Rules implemented:

* **family** (:func:`return_target`): the MT follows the return chain. A customer
  debtor or creditor (a party in ``RtrChain/Dbtr`` or ``RtrChain/Cdtr``) -> MT 103;
  financial institutions on both ends -> MT 202. ``--to fin.103`` and ``--to fin.202``
  both name the family; another one than asked for is reported ``translate.defaulted``
  on ``{2:}``;
* **headers**: as :mod:`gateway.translate_mt` (sender = instructing agent, receiver =
  instructed agent); ``{3:121}`` carries the *original* UETR (``OrgnlUETR``): a
  return travels under the UETR of the payment it returns (SWIFT gpi, CBPR+);
* **20** the return id (``RtrId``; 16x, cut with ``+``); without one, the message id
  (reported defaulted); **21** (MT 202) the original end-to-end id, as field 21 of
  the pacs.009 -> MT 202 translation (CBPR+), cut to 16x; ``NOTPROVIDED`` when absent
  (reported defaulted); **32A** the settlement date and the returned interbank
  settlement amount;
* **MT 103**: 23B ``CRED`` (reported defaulted: pacs.004 has no bank operation
  code); 33B the returned instructed amount when present, with 36 when its currency
  differs (C1); without one, 33B is derived where it is mandatory (C2, C15) as 32A plus
  the 71F charges (reported defaulted); 50a the return debtor (the original creditor)
  and 59a the return creditor (the original debtor) by the party rules of
  :mod:`gateway.translate_parties`; an institution in their place is written as
  option A with its BIC (else by name); 52a the debtor agent unless it is the sender,
  53a-55a the settlement, 56a the first intermediary, 57a the creditor agent unless it
  is the receiver and no 56a needs it (C9); 71A from the charge bearer (SHA when absent
  or without an MT code, reported defaulted); with SHA/BEN each charge is a 71F (BEN
  needs one: ``0``, reported defaulted); with OUR the receiver's charge is 71G and the
  others go to 72 ``/CHGS/``;
* **MT 202**: 52a the debtor institution unless it is the sender, 53a/54a the
  settlement, 56a, 57a, 58a the creditor institution (mandatory); every charge goes to
  72 ``/CHGS/`` (MT 202 has no charges field);
* **72** (6*35x, the guideline's line layout): line 1 ``/RETN/`` + the tag of the
  field of the original message the return relates to: pacs.004 has none, so ``99``
  (reported defaulted); line 2 ``/<reason>/`` + up to 29 characters of narrative: the
  first reason's ISO code when it has the MT shape ``2!c2!n`` (``AC01``, ``AM04``);
  another code (``DUPL``) or a proprietary reason is written as ``/MS03/`` (ISO "not
  specified reason, agent generated", reported defaulted) followed by the code itself,
  so nothing is lost; no reason at all gives ``/MS03/`` too; line 3 ``/MREF/`` + the
  original instruction id (the original MT's field 20; 16x; ``NOTPROVIDED``, reported
  defaulted, when absent); ``/TREF/`` + the original end-to-end id (16x) unless absent
  or ``NOTPROVIDED``; ``/CHGS/<ccy><amount>`` per charge 72 carries; ``/TEXT/`` the rest
  of the narrative and the further reasons. What does not fit in 6 lines is cut or
  dropped, and reported.

Values no MT field takes (the original message id, name and creation time, the
original transaction id, amount and date, reason originators ...) are left untaken:
the translator reports them ``translate.dropped``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from gateway.fin.fields import Amount, Code, Party, Rate, Text, render_field
from gateway.fin.network import EU_EEA_33B
from gateway.mt import MtMessage
from gateway.mt_fields import Field, TagValue
from gateway.report import finding
from gateway.translate_mt_fields import (
    MtCodes,
    TextFields,
    amount_field,
    charge_bearer_71a,
    decimal_of,
    field72,
    group_header,
    input_message,
    is_header,
    settlement,
)
from gateway.translate_parties import account_text, customer_field, institution_field
from gateway.translate_report import Ledger
from gateway.translate_text import NOT_PROVIDED, Context, cut, same_bic, x_text

__all__ = ["RETURN_EVENT_TYPE", "is_return", "render_return_event", "return_target"]

#: The event type of ``mappings/pacs.004.*.yaml``.
RETURN_EVENT_TYPE = "payment.return"
#: Line 1 of the return's 72: the field of the original message is unknown.
UNKNOWN_FIELD = "99"
#: ISO ExternalReturnReason1Code "not specified reason, agent generated".
UNSPECIFIED_REASON = "MS03"
_MT_REASON = re.compile(r"[A-Z0-9]{2}[0-9]{2}")
_REASON_TEXT = 29  # line 2: /2!c2!n/ + 29x
_REFERENCE = 16
_AMOUNT = "amounts.returned_interbank_settlement"
Word = tuple[str, str | None, str]


def is_return(event: dict[str, Any]) -> bool:
    return event.get("event_type") == RETURN_EVENT_TYPE


def return_target(requested: str, event: dict[str, Any], ledger: Ledger) -> str:
    """The MT family the return chain calls for (a customer on either end: MT 103)."""
    customer = bool(event.get("debtor") or event.get("creditor"))
    actual = "fin.103" if customer else "fin.202"
    if actual != requested:
        rule = (
            "the return chain has a customer debtor or creditor (MT 103 RETN)"
            if customer
            else "the return chain's debtor and creditor are institutions (MT 202 RETN)"
        )
        ledger.defaulted("{2:}", actual.split(".")[1], rule, mt_tag="{2:}")
    return actual


def render_return_event(ctx: Context, target: str, codes: MtCodes) -> MtMessage | None:
    """The MT 103 / 202 RETN of the return event in ``ctx.reader`` (None, with an error
    finding, when a value the message cannot go without is missing)."""
    reader = ctx.reader
    sender = reader.get("instructing_agent.bic")
    receiver = reader.get("instructed_agent.bic")
    needed = [
        ("instructing_agent.bic (the sender)", sender),
        ("instructed_agent.bic (the receiver)", receiver),
        ("amounts.returned_interbank_settlement (32A)", reader.peek(_AMOUNT)),
        ("dates.interbank_settlement (32A)", reader.peek("dates.interbank_settlement")),
    ]
    if target == "fin.103":
        needed += [
            ("debtor or debtor_institution (50a)", _either(ctx, "debtor")),
            ("creditor or creditor_institution (59a)", _either(ctx, "creditor")),
        ]
    else:
        needed.append(("creditor_institution (58a)", reader.peek("creditor_institution")))
    missing = [name for name, value in needed if not value]
    if missing:
        ctx.ledger.add(
            finding(
                "mapping.missing_mandatory",
                f"{target} cannot be written without {', '.join(missing)}; never defaulted.",
                context={"target": target, "fields": missing},
            )
        )
        return None
    out = TextFields([])
    block3 = [TagValue("121", str(uetr))] if (uetr := reader.get("original.uetr")) else []
    _references(ctx, target, out)
    date = str(reader.get("dates.interbank_settlement"))
    out.add(amount_field(ctx, "32A", _AMOUNT, date))
    if target == "fin.103":
        chgs = _customer_return(ctx, out, codes, str(sender), str(receiver))
    else:
        chgs = _institution_return(ctx, out, str(sender))
    out.add(field72(ctx, _return_words(ctx, chgs)))
    return input_message(target, str(sender), str(receiver), block3, out.items)


def _either(ctx: Context, role: str) -> Any:
    return ctx.reader.peek(role) or ctx.reader.peek(f"{role}_institution")


def _reference(ctx: Context, path: str, tag: str, rule: str, value: Any = None) -> str:
    """The reference at ``path`` (or ``value``), taken, in 16x (cut with ``+``)."""
    found = ctx.reader.get(path)
    text = x_text(ctx, str(value or found), path, tag)
    return cut(ctx, text, _REFERENCE, path, tag, rule)


def _references(ctx: Context, target: str, out: TextFields) -> None:
    """20 (the return id), 21 of MT 202 (the original end-to-end id), the group header."""
    reader = ctx.reader
    reference = reader.peek("ids.return_id")
    for path in ("ids.message_id", "group.message_id"):
        message_id = reader.get(path)
        if message_id is not None and message_id != reference:
            rule = "the MT message is identified by field 20 (the return id)"
            ctx.ledger.regenerated(path, rule, mt_tag=":20:", xpath=ctx.xpath_of(path))
    if reference:
        ref = _reference(ctx, "ids.return_id", ":20:", "field 20: 16x")
    else:  # the message id is the return's only other reference
        path = "ids.message_id" if reader.peek("ids.message_id") else "group.message_id"
        ref = _reference(ctx, path, ":20:", "field 20: 16x", reader.peek(path) or NOT_PROVIDED)
        rule = "field 20 is mandatory; the return id is absent"
        ctx.ledger.defaulted("ids.return_id", ref, rule, mt_tag=":20:")
    out.add(Field("20", render_field("20", Text(ref))))
    if target == "fin.202":
        if reader.peek("original.end_to_end_id"):
            ref = _reference(ctx, "original.end_to_end_id", ":21:", "field 21: 16x")
        else:
            ref = NOT_PROVIDED
            rule = "field 21 is mandatory; the original end-to-end id is absent"
            ctx.ledger.defaulted("original.end_to_end_id", ref, rule, mt_tag=":21:")
        out.add(Field("21", render_field("21", Text(ref))))
    group_header(ctx)
    amount = reader.peek(_AMOUNT) or {}
    total = reader.peek("group.total_interbank_settlement_amount") or {}
    same = total.get("currency") == amount.get("currency")
    for path, value in (
        ("group.control_sum", reader.peek("group.control_sum")),
        ("group.total_interbank_settlement_amount", total.get("value") if same else None),
    ):
        if value is not None and decimal_of(value) == decimal_of(amount.get("value")):
            reader.take(path)
            rule = "32A carries the one returned amount"
            ctx.ledger.regenerated(path, rule, xpath=ctx.xpath_of(path))


# ----------------------------------------------------------------------- MT 103


def _customer_return(
    ctx: Context, out: TextFields, codes: MtCodes, sender: str, receiver: str
) -> list[Word]:
    """23B-71G of the MT 103 RETN; returns the 72 /CHGS/ words (charges 71F/71G cannot
    carry)."""
    out.add(Field("23B", render_field("23B", Code("CRED"))))
    ctx.ledger.defaulted("23B", "CRED", "pacs.004 has no bank operation code", mt_tag=":23B:")
    out.add(_party(ctx, "50", "debtor", "debtor_account"))
    if not is_header(ctx, "debtor_agent", "debtor_agent_account", sender):
        out.add(institution_field(ctx, "52", "debtor_agent", "debtor_agent_account", "AD"))
    settlement(ctx, "fin.103", out, "")
    intermediary = institution_field(
        ctx, "56", "intermediary_agent_1", "intermediary_agent_1_account", "ACD"
    )
    out.add(intermediary)
    if intermediary is not None or not is_header(
        ctx, "creditor_agent", "creditor_agent_account", receiver
    ):
        out.add(institution_field(ctx, "57", "creditor_agent", "creditor_agent_account", "ABCD"))
    out.add(_party(ctx, "59", "creditor", "creditor_account"))
    details = charge_bearer_71a(ctx, codes)
    out.add(Field("71A", render_field("71A", Code(details))))
    fees, chgs = _charges71(ctx, out, details, sender, receiver)
    _instructed(ctx, out, fees, sender, receiver)
    return chgs


def _party(ctx: Context, number: str, role: str, account_path: str) -> Field | None:
    """50a / 59a of the return debtor / creditor: a party by the customer rules; an
    institution in its place by its BIC (option A), else by name and address."""
    if ctx.reader.peek(role) is not None:
        return customer_field(ctx, number, role, account_path)
    institution = f"{role}_institution"
    bic = ctx.reader.get(f"{institution}.bic")
    if not bic:
        return customer_field(ctx, number, institution, account_path)
    account = account_text(ctx, account_path, f":{number}a:")
    tag = f"{number}A"
    return Field(tag, render_field(tag, Party(account=account, bic=str(bic))))


def _charges71(
    ctx: Context, out: TextFields, details: str, sender: str, receiver: str
) -> tuple[list[dict[str, Any]], list[Word]]:
    """71F / 71G (MT 103 C14): with SHA/BEN every charge is a sender's charge (71F);
    with OUR the receiver's charge is 71G and the others go to 72 /CHGS/. Returns the
    71F amounts and the /CHGS/ words."""
    fees: list[dict[str, Any]] = []
    chgs: list[Word] = []
    receiver_fee = False
    for path, charge in _charge_items(ctx):
        agent = charge.get("agent") or {}
        if details != "OUR":
            out.add(amount_field(ctx, "71F", f"{path}.amount"))
            fees.append(charge["amount"])
        elif not receiver_fee and same_bic(agent.get("bic"), receiver):
            receiver_fee = True
            ctx.reader.take(f"{path}.agent")
            out.add(amount_field(ctx, "71G", f"{path}.amount"))
            continue
        else:
            chgs.append(_chgs(ctx, path))
        _implied_agent(ctx, path, agent, sender)
    if details == "BEN" and not fees:
        currency = str((ctx.reader.peek(_AMOUNT) or {}).get("currency"))
        text = render_field("71F", Amount(currency, "0"))
        ctx.ledger.defaulted("amounts.charges", text, "71A BEN needs a 71F", mt_tag=":71F:")
        out.add(Field("71F", text))
    return fees, chgs


def _instructed(
    ctx: Context, out: TextFields, fees: list[dict[str, Any]], sender: str, receiver: str
) -> None:
    """33B and 36 (MT 103 C1, C2, C15)."""
    reader = ctx.reader
    settled = reader.peek(_AMOUNT) or {}
    instructed = reader.peek("amounts.returned_instructed")
    rate = reader.peek("amounts.exchange_rate")
    if instructed:
        out.add(amount_field(ctx, "33B", "amounts.returned_instructed"))
        if rate is not None and instructed.get("currency") != settled.get("currency"):
            reader.take("amounts.exchange_rate")
            out.add(Field("36", render_field("36", Rate(str(rate)))))
        elif rate is not None:
            reader.take("amounts.exchange_rate")
            rule = "36 only goes with a 33B in another currency than 32A (C1)"
            ctx.ledger.dropped("amounts.exchange_rate", rule, mt_tag=":36:")
        return
    if rate is not None:
        reader.take("amounts.exchange_rate")
        ctx.ledger.dropped("amounts.exchange_rate", "36 needs 33B (C1)", mt_tag=":36:")
    eu = sender[4:6] in EU_EEA_33B and receiver[4:6] in EU_EEA_33B
    charged = fees or any(f.tag in ("71F", "71G") for _, f in out.items)
    if not (eu or charged):
        return
    total = decimal_of(settled.get("value")) or Decimal(0)
    for amount in fees:
        if amount.get("currency") == settled.get("currency"):
            total += decimal_of(amount.get("value")) or Decimal(0)
    text = render_field("33B", Amount(str(settled.get("currency")), format(total, "f")))
    rule = "33B is mandatory here (MT 103 C2/C15): 32A plus the sender's charges"
    ctx.ledger.defaulted("amounts.returned_instructed", text, rule, mt_tag=":33B:")
    out.add(Field("33B", text))


# ----------------------------------------------------------------------- MT 202


def _institution_return(ctx: Context, out: TextFields, sender: str) -> list[Word]:
    """52a-58a of the MT 202 RETN; returns the 72 /CHGS/ words (every charge)."""
    if not is_header(ctx, "debtor_institution", "debtor_account", sender):
        out.add(institution_field(ctx, "52", "debtor_institution", "debtor_account", "AD"))
    settlement(ctx, "fin.202", out, "")
    out.add(
        institution_field(ctx, "56", "intermediary_agent_1", "intermediary_agent_1_account", "AD")
    )
    out.add(institution_field(ctx, "57", "creditor_agent", "creditor_agent_account", "ABD"))
    out.add(institution_field(ctx, "58", "creditor_institution", "creditor_account", "AD"))
    chgs: list[Word] = []
    for path, charge in _charge_items(ctx):
        chgs.append(_chgs(ctx, path))
        _implied_agent(ctx, path, charge.get("agent") or {}, sender)
    return chgs


# ----------------------------------------------------------------------- charges, 72


def _charge_items(ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    """The charges (path, charge) that have an amount."""
    return [
        (f"amounts.charges[{index}]", charge)
        for index, charge in enumerate(ctx.reader.peek("amounts.charges") or [])
        if charge.get("amount")
    ]


def _chgs(ctx: Context, path: str) -> Word:
    amount = ctx.reader.get(f"{path}.amount")
    text = render_field("71F", Amount(str(amount["currency"]), str(amount["value"])))
    return (f"{path}.amount", "CHGS", text)


def _implied_agent(ctx: Context, path: str, agent: dict[str, Any], sender: str) -> None:
    """A charge's agent that the field says by itself (the sender) is taken; any other
    is left for the coverage check (dropped: 71F and /CHGS/ name no agent)."""
    if set(agent) == {"bic"} and same_bic(agent["bic"], sender):
        ctx.reader.take(f"{path}.agent")


def _return_words(ctx: Context, chgs: list[Word]) -> list[Word]:
    """72 of the return, in the guideline's line order (see the module docstring)."""
    reader = ctx.reader
    rule = "pacs.004 does not name the field of the original message the return is about"
    ctx.ledger.defaulted("/RETN/", UNKNOWN_FIELD, rule, mt_tag=":72:")
    words: list[Word] = [("/RETN/", "RETN", UNKNOWN_FIELD)]
    count = len(reader.peek("reasons") or [])
    code, label, narrative = _reason(ctx, 0)
    if code is None:
        code = UNSPECIFIED_REASON
        rule = f"return reason {label} has no MT reason code (2!c2!n)"
        if not label:
            rule = "line 2 needs a reason code; the pacs.004 gives none"
        ctx.ledger.defaulted("reasons[0].reason", code, rule, mt_tag=":72:")
    first, rest = _split(narrative, _REASON_TEXT)
    words.append(("reasons[0]", code, first))
    if reader.peek("original.instruction_id"):
        mref = _reference(ctx, "original.instruction_id", ":72:", "/MREF/: 16x")
    else:
        mref = NOT_PROVIDED
        rule = "/MREF/ (line 3) is mandatory; the original instruction id is absent"
        ctx.ledger.defaulted("original.instruction_id", mref, rule, mt_tag=":72:")
    words.append(("original.instruction_id", "MREF", mref))
    if reader.peek("original.end_to_end_id") not in (None, NOT_PROVIDED):
        tref = _reference(ctx, "original.end_to_end_id", ":72:", "/TREF/: 16x")
        words.append(("original.end_to_end_id", "TREF", tref))
    words += chgs
    if rest:
        words.append(("reasons[0].additional_info", "TEXT", rest))
    for index in range(1, count):
        further, _, narrative = _reason(ctx, index)
        words.append((f"reasons[{index}]", "TEXT", " ".join(filter(None, (further, narrative)))))
    return words


def _reason(ctx: Context, index: int) -> tuple[str | None, str | None, str]:
    """(MT reason code, label, narrative) of one return reason, taken: an ISO code of
    the MT shape (2!c2!n) is the code; another code or a proprietary reason (the
    label) opens the narrative instead."""
    path = f"reasons[{index}]"
    code = ctx.reader.get(f"{path}.reason.code")
    proprietary = ctx.reader.get(f"{path}.reason.proprietary")
    info = " ".join(str(line) for line in ctx.reader.get(f"{path}.additional_info") or [])
    if code and _MT_REASON.fullmatch(str(code)):
        return str(code), None, info
    label = str(code or proprietary) if code or proprietary else None
    return None, label, " ".join(part for part in (label, info) if part)


def _split(text: str, width: int) -> tuple[str, str]:
    """``text`` as a first line of at most ``width`` (broken at a space where one is)
    and the rest."""
    if len(text) <= width:
        return text, ""
    at = text.rfind(" ", 1, width + 1)
    if at <= 0:
        return text[:width], text[width:]
    return text[:at], text[at + 1 :]
