"""Canonical event -> the text block of an MT 103 / MT 103 STP (pacs.008 -> MT 103).

Fields 23B to 77B of :mod:`gateway.translate_mt`'s rules (CBPR+ pacs.008 to MT 103
translation, SWIFT Standards MT SR 2025 network rules C1, C2, C9, C14, C15 of MT 103
and their MT 103 STP equivalents): 23B ``CRED``; 23E from the service level SDVA, the
category purpose INTC/CORT and the instructions for the creditor agent (HOLD, CHQB,
PHOB, TELB; MT 103 STP only CORT, INTC, REPA, SDVA); 26T; 32A; 33B and 36; 50a; 52a
unless it is the sender; 53a-55a; 56a; 57a unless it is the receiver and no 56a
needs it; 59a; 70; 71A, 71F, 71G; 72; 77B.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gateway.fin.fields import Amount, Code, Rate, Text, render_field
from gateway.fin.network import EU_EEA_33B
from gateway.mt_fields import Field
from gateway.translate_mt_fields import (
    CREDITOR_CODES,
    MtCodes,
    RtgsChannel,
    TextFields,
    amount_field,
    charge_bearer_71a,
    decimal_of,
    field72,
    instructions72,
    is_header,
    regulatory,
    settlement,
)
from gateway.translate_parties import customer_field, institution_field
from gateway.translate_text import (
    NOT_PROVIDED,
    WIDTH,
    Context,
    chunks,
    cut,
    same_bic,
    x_text,
)

__all__ = ["customer_transfer"]

_STP_23E = frozenset({"CORT", "INTC", "REPA", "SDVA"})


def customer_transfer(
    ctx: Context,
    target: str,
    out: TextFields,
    words72: list[tuple[str, str | None, str]],
    codes: MtCodes,
    sender: str,
    receiver: str,
) -> None:
    reader = ctx.reader
    stp = target == "fin.103.STP"
    out.add(Field("23B", render_field("23B", Code("CRED"))))
    ctx.ledger.defaulted("23B", "CRED", "pacs.008 has no bank operation code", mt_tag=":23B:")
    for code in _instruction_codes(ctx, stp, words72):
        out.add(Field("23E", render_field("23E", code)))
    purpose = reader.peek("purpose.proprietary")
    if isinstance(purpose, str) and len(purpose) == 3 and purpose.isalnum():
        reader.take("purpose.proprietary")
        out.add(Field("26T", render_field("26T", Code(purpose))))
    date = str(reader.get("dates.interbank_settlement"))
    out.add(amount_field(ctx, "32A", "amounts.interbank_settlement", date))
    settled = reader.peek("amounts.interbank_settlement")
    fees, receiver_fee = _charges(ctx, receiver)
    _instructed(ctx, out, settled, fees, receiver_fee, sender, receiver)
    out.add(customer_field(ctx, "50", "debtor", "debtor_account"))
    agent_options = "A" if stp else "AD"
    if not is_header(ctx, "debtor_agent", "debtor_agent_account", sender):
        out.add(institution_field(ctx, "52", "debtor_agent", "debtor_agent_account", agent_options))
    settlement(ctx, target, out, "")
    rtgs = RtgsChannel(ctx)
    intermediary = institution_field(
        ctx,
        "56",
        "intermediary_agent_1",
        "intermediary_agent_1_account",
        "A" if stp else "ACD",
        channel=rtgs.pending,
    )
    out.add(intermediary)
    rtgs.carried_by(intermediary)
    if (
        intermediary is not None
        or rtgs.pending
        or not is_header(ctx, "creditor_agent", "creditor_agent_account", receiver)
    ):
        creditor_agent = institution_field(
            ctx,
            "57",
            "creditor_agent",
            "creditor_agent_account",
            "A" if stp else "ABCD",
            channel=rtgs.pending,
        )
        out.add(creditor_agent)
        rtgs.carried_by(creditor_agent)
    out.add(customer_field(ctx, "59", "creditor", "creditor_account"))
    out.add(_remittance70(ctx))
    details = charge_bearer_71a(ctx, codes)
    out.add(Field("71A", render_field("71A", Code(details))))
    _write_charges(ctx, out, details, fees, receiver_fee, settled, sender)
    out.add(field72(ctx, instructions72(ctx, words72, "", bnf=False)))
    out.add(regulatory(ctx))


def _instruction_codes(
    ctx: Context, stp: bool, words72: list[tuple[str, str | None, str]]
) -> list[Code]:
    """23E in the handbook's order: SDVA, INTC, CORT, then HOLD/CHQB/PHOB/TELB."""
    reader = ctx.reader
    codes: list[Code] = []
    for index, level in enumerate(reader.peek("payment_type.service_level") or []):
        if level.get("code") == "SDVA" and not any(c.code == "SDVA" for c in codes):
            reader.take(f"payment_type.service_level[{index}]")
            codes.append(Code("SDVA"))
    purpose = reader.peek("payment_type.category_purpose.code")
    if purpose:
        reader.take("payment_type.category_purpose.code")
        if purpose in ("INTC", "CORT"):
            codes.append(Code(str(purpose)))
        else:
            words72.append(("payment_type.category_purpose", "CATPURP", str(purpose)))
    for index, item in enumerate(reader.peek("instructions_for_creditor_agent") or []):
        code = item.get("code")
        if code not in CREDITOR_CODES or (stp and code not in _STP_23E):
            continue
        path = f"instructions_for_creditor_agent[{index}]"
        reader.take(f"{path}.code")
        info = item.get("information")
        if info and code != "CHQB":
            reader.take(f"{path}.information")
            info = cut(
                ctx,
                x_text(ctx, str(info), f"{path}.information", ":23E:"),
                30,
                f"{path}.information",
                ":23E:",
                "23E: /30x",
            )
        codes.append(Code(str(code), str(info) if info and code != "CHQB" else None))
    return codes


def _charges(
    ctx: Context, receiver: str
) -> tuple[list[tuple[str, dict[str, Any]]], tuple[str, dict[str, Any]] | None]:
    """The charges (path, charge) with an amount: the one taken by the receiver (71G
    candidate) and the others (71F)."""
    fees: list[tuple[str, dict[str, Any]]] = []
    receiver_fee: tuple[str, dict[str, Any]] | None = None
    for index, charge in enumerate(ctx.reader.peek("amounts.charges") or []):
        amount = charge.get("amount")
        if not amount:
            continue
        path = f"amounts.charges[{index}]"
        agent = charge.get("agent") or {}
        if receiver_fee is None and same_bic(agent.get("bic"), receiver):
            receiver_fee = (path, charge)
        else:
            fees.append((path, charge))
    return fees, receiver_fee


def _write_charges(
    ctx: Context,
    out: TextFields,
    bearer: str,
    fees: list[tuple[str, dict[str, Any]]],
    receiver_fee: tuple[str, dict[str, Any]] | None,
    settled: dict[str, Any],
    sender: str,
) -> None:
    """71G (the receiver's charges) with OUR, 71F (sender's charges) with SHA/BEN
    (MT 103 C14); BEN needs a 71F. 71F has no agent: one that is the sender or the
    CBPR+ ``NOTPROVIDED`` placeholder is said by the field, another one is dropped."""
    reader = ctx.reader
    if bearer == "OUR":
        if receiver_fee is not None:
            reader.take(receiver_fee[0])
            out.add(amount_field(ctx, "71G", f"{receiver_fee[0]}.amount"))
        for path, _ in fees:
            rule = "71F (sender's charges) is not allowed with 71A OUR"
            ctx.ledger.dropped(path, rule, mt_tag=":71F:", xpath=ctx.xpath_of("amounts.charges"))
            reader.take(path)
        return
    if receiver_fee is not None:
        fees = [*fees, receiver_fee]
    for path, charge in fees:
        out.add(amount_field(ctx, "71F", f"{path}.amount"))
        if _implied_agent(charge.get("agent") or {}, sender):
            reader.take(f"{path}.agent")
    if bearer == "BEN" and not fees:
        zero = Amount(str(settled["currency"]), "0")
        out.add(Field("71F", render_field("71F", zero)))
        rule = "71A BEN needs a 71F"
        ctx.ledger.defaulted("amounts.charges", f"{zero.currency}0,", rule, mt_tag=":71F:")


def _implied_agent(agent: dict[str, Any], sender: str) -> bool:
    """A 71F charge's agent that the field itself says: the sender, or the CBPR+
    placeholder (name and address line ``NOTPROVIDED``) of an MT -> MX translation."""
    placeholder = {"name": NOT_PROVIDED, "postal_address": {"address_lines": [NOT_PROVIDED]}}
    return agent == placeholder or (set(agent) == {"bic"} and same_bic(agent["bic"], sender))


def _instructed(
    ctx: Context,
    out: TextFields,
    settled: dict[str, Any],
    fees: list[tuple[str, dict[str, Any]]],
    receiver_fee: tuple[str, dict[str, Any]] | None,
    sender: str,
    receiver: str,
) -> None:
    """33B and 36 (C1, C2, C15)."""
    reader = ctx.reader
    instructed = reader.peek("amounts.instructed")
    rate = reader.peek("amounts.exchange_rate")
    if instructed:
        out.add(amount_field(ctx, "33B", "amounts.instructed"))
        if rate is not None and instructed.get("currency") != settled.get("currency"):
            reader.take("amounts.exchange_rate")
            out.add(Field("36", render_field("36", Rate(str(rate)))))
        elif rate is not None:
            reader.take("amounts.exchange_rate")
            ctx.ledger.dropped(
                "amounts.exchange_rate",
                "36 only goes with a 33B in another currency than 32A (C1)",
                mt_tag=":36:",
            )
        return
    if rate is not None:
        reader.take("amounts.exchange_rate")
        ctx.ledger.dropped("amounts.exchange_rate", "36 needs 33B (C1)", mt_tag=":36:")
    eu = sender[4:6] in EU_EEA_33B and receiver[4:6] in EU_EEA_33B
    if not (eu or fees or receiver_fee):
        return
    total = decimal_of(settled["value"]) or Decimal(0)
    for _, charge in fees:
        amount = charge["amount"]
        if amount.get("currency") == settled["currency"]:
            total += decimal_of(amount.get("value")) or Decimal(0)
    value = format(total, "f")
    rule = "33B is mandatory here (MT 103 C2/C15): 32A plus the sender's charges"
    text = render_field("33B", Amount(str(settled["currency"]), value))
    ctx.ledger.defaulted("amounts.instructed", text, rule, mt_tag=":33B:")
    out.add(Field("33B", text))


def _remittance70(ctx: Context) -> Field | None:
    """70: ``/ROC/`` + the end-to-end id (unless NOTPROVIDED), then the remittance
    information; lines of 35 (the MT -> canonical mapping reads 70 joined)."""
    reader = ctx.reader
    e2e = reader.get("ids.end_to_end_id")
    remittance = "".join(str(r) for r in reader.get("remittance.unstructured") or [])
    lines: list[str] = []
    if e2e and e2e != NOT_PROVIDED:
        rule = "70: /ROC/ + 30x"
        ref = cut(
            ctx,
            x_text(ctx, str(e2e), "ids.end_to_end_id", ":70:"),
            WIDTH - 5,
            "ids.end_to_end_id",
            ":70:",
            rule,
        )
        lines.append(f"/ROC/{ref}")
        if remittance.startswith(lines[0]):
            remittance = remittance[len(lines[0]) :]
    if remittance:
        text = x_text(ctx, remittance, "remittance.unstructured", ":70:")
        room = 4 - len(lines)
        text = cut(ctx, text, room * WIDTH, "remittance.unstructured", ":70:", "70: 4*35x")
        lines.extend(chunks(text, WIDTH))
    return Field("70", render_field("70", Text("\n".join(lines)))) if lines else None
