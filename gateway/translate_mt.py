"""Canonical payment event -> SWIFT MT 103 / 103 STP / 202 / 202 COV (MX -> MT).

The reverse of the MT -> canonical mapping files (``mappings/fin/fin.103.yaml`` ...),
after the CBPR+ MX to MT translation rules (SWIFT, pacs.008 to MT 103 and pacs.009
to MT 202 / 202 COV), so that a message read into an event and written back gives
the fields it had (``tests/test_translate_properties.py``):

* **headers** (SWIFT *FIN Service Description*): block 1 ``F01`` + the sender's LT
  address (instructing agent BIC8 + ``A`` + branch, ``XXX`` for a BIC8) + session
  and sequence ``0000``/``000000``; block 2 input form ``I<type>`` + the receiver
  (instructed agent BIC8 + ``X`` + branch) + priority ``N``; block 3 ``{119:STP}`` /
  ``{119:COV}``, ``{111:00n}`` from service level ``G00n``, ``{121:UETR}``;
* **text block**, fields in the order of the message definition
  (:data:`gateway.fin.definitions.DEFINITIONS`), each written by
  :func:`gateway.fin.fields.render_field`:

  - 20 instruction id (16x, cut with ``+``; else the message id, reported
    defaulted); 21 (202) end-to-end id; 23B ``CRED`` (defaulted: pacs.008 has no bank
    operation code); 23E SDVA (service level), INTC/CORT (category purpose),
    HOLD/CHQB/PHOB/TELB (instructions for the creditor agent, with their information);
    26T proprietary purpose of 3 characters; 32A settlement date, currency, amount;
    33B instructed amount (derived from 32A and the charges when 33B is mandatory:
    MT 103 C2 (sender and receiver in the EU/EEA) and C15 (71F/71G present),
    reported defaulted); 36 exchange rate (only with a 33B in another currency: C1);
  - 50a / 59a, 52a-58a: :mod:`gateway.translate_parties`; 52a is left out when the
    debtor agent is the sender, 57a (MT 103) when the creditor agent is the receiver
    and no 56a needs it (C9): the MT -> canonical mapping reads them back so;
  - 53a/54a/55a the reimbursement agents; without them the settlement account is
    53B ``/account`` (``/C/account`` for settlement method INGA); settlement method
    INDA/INGA (no reimbursement agent) and COVE (some) are said by 53a-55a
    (METAFCT001 read backwards), CLRG and the other cases are dropped;
  - 70 ``/ROC/<end-to-end id>`` (unless NOTPROVIDED) then the unstructured
    remittance, 4*35x; MT 202: remittance as 72 ``/BNF/``;
  - 71A DEBT/CRED/SHAR -> OUR/BEN/SHA (SHA when absent, reported defaulted); charges
    taken by the receiver (agent = receiver) -> 71G with OUR, other charges -> 71F
    (BEN needs one: ``0`` in the settlement currency, reported defaulted);
  - 72 ``/INS/`` previous instructing agent, ``/ACC/`` instructions for the creditor
    agent, ``/SVCLVL/``, ``/LOCINS/``, ``/CATPURP/`` the payment type codes MT has no
    field for, then the instructions for the next agent as written; 6*35x;
  - 77B regulatory reporting information, 3*35x;
  - MT 202 COV sequence B from ``underlying_customer_transfer``.

Every canonical value is accounted for through :class:`~gateway.translate_report.
EventReader`: what no field carries is reported ``translate.dropped`` by the caller.
"""

from __future__ import annotations

from gateway.fin.fields import Text, render_field
from gateway.mt import MtMessage
from gateway.mt_fields import Field, TagValue
from gateway.report import Finding, finding
from gateway.translate_mt103 import customer_transfer
from gateway.translate_mt_fields import (
    MtCodes,
    RtgsChannel,
    TextFields,
    amount_field,
    field72,
    input_message,
    instructions72,
    is_header,
    references,
    service_levels,
    settlement,
)
from gateway.translate_parties import customer_field, institution_field
from gateway.translate_text import WIDTH, Context, chunks, cut, x_text

__all__ = ["MT_TARGETS", "MtCodes", "render_mt_event"]

MT_TARGETS = ("fin.103", "fin.103.STP", "fin.202", "fin.202.COV")


def render_mt_event(ctx: Context, target: str, codes: MtCodes) -> MtMessage | None:
    """The MT message of the event in ``ctx.reader`` (None, with an error finding,
    when the sender, receiver or settlement amount and date are missing)."""
    reader = ctx.reader
    sender = reader.get("instructing_agent.bic")
    receiver = reader.get("instructed_agent.bic")
    amount = reader.peek("amounts.interbank_settlement")
    date = reader.peek("dates.interbank_settlement")
    missing = [
        name
        for name, value in (
            ("instructing_agent.bic (the sender)", sender),
            ("instructed_agent.bic (the receiver)", receiver),
            ("amounts.interbank_settlement (32A)", amount),
            ("dates.interbank_settlement (32A)", date),
        )
        if not value
    ]
    if missing:
        ctx.ledger.add(_missing(target, missing))
        return None
    out = TextFields([])
    block3: list[TagValue] = []
    if target.endswith((".STP", ".COV")):
        block3.append(TagValue("119", target.rsplit(".", 1)[1]))
    words72: list[tuple[str, str | None, str]] = []
    service_levels(ctx, target, block3, words72, codes.gpi)
    uetr = reader.get("ids.uetr")
    if uetr:
        block3.append(TagValue("121", str(uetr)))
    references(ctx, target, out)
    if target.startswith("fin.103"):
        customer_transfer(ctx, target, out, words72, codes, str(sender), str(receiver))
    else:
        _institution_transfer(ctx, target, out, words72, str(sender))
    return input_message(target, str(sender), str(receiver), block3, out.items)


def _missing(target: str, what: list[str]) -> Finding:
    return finding(
        "mapping.missing_mandatory",
        f"{target} cannot be written without {', '.join(what)}; never defaulted.",
        context={"target": target, "fields": what},
    )


def _institution_transfer(
    ctx: Context,
    target: str,
    out: TextFields,
    words72: list[tuple[str, str | None, str]],
    sender: str,
) -> None:
    reader = ctx.reader
    cov = target == "fin.202.COV"
    seq = "A" if cov else ""
    date = str(reader.get("dates.interbank_settlement"))
    out.add(amount_field(ctx, "32A", "amounts.interbank_settlement", date), seq)
    purpose = reader.peek("payment_type.category_purpose.code")
    if purpose:
        reader.take("payment_type.category_purpose.code")
        words72.append(("payment_type.category_purpose", "CATPURP", str(purpose)))
    if not is_header(ctx, "debtor_institution", "debtor_account", sender):
        out.add(institution_field(ctx, "52", "debtor_institution", "debtor_account", "AD"), seq)
    settlement(ctx, target, out, seq)
    rtgs = RtgsChannel(ctx)
    intermediary = institution_field(
        ctx,
        "56",
        "intermediary_agent_1",
        "intermediary_agent_1_account",
        "AD",
        channel=rtgs.pending,
    )
    out.add(intermediary, seq)
    rtgs.carried_by(intermediary)
    agent = institution_field(
        ctx, "57", "creditor_agent", "creditor_agent_account", "ABD", channel=rtgs.pending
    )
    out.add(agent, seq)
    rtgs.carried_by(agent)
    out.add(institution_field(ctx, "58", "creditor_institution", "creditor_account", "AD"), seq)
    out.add(field72(ctx, instructions72(ctx, words72, "", bnf=True)), seq)
    if cov:
        _sequence_b(ctx, out)


def _sequence_b(ctx: Context, out: TextFields) -> None:
    """MT 202 COV sequence B from the underlying customer credit transfer."""
    u = "underlying_customer_transfer."
    out.add(customer_field(ctx, "50", f"{u}debtor", f"{u}debtor_account"), "B")
    out.add(institution_field(ctx, "52", f"{u}debtor_agent", f"{u}debtor_agent_account", "AD"), "B")
    out.add(institution_field(ctx, "56", f"{u}intermediary_agent_1", None, "ACD"), "B")
    out.add(
        institution_field(ctx, "57", f"{u}creditor_agent", f"{u}creditor_agent_account", "ABCD"),
        "B",
    )
    out.add(customer_field(ctx, "59", f"{u}creditor", f"{u}creditor_account"), "B")
    remittance = "".join(str(r) for r in ctx.reader.get(f"{u}remittance.unstructured") or [])
    if remittance:
        path = f"{u}remittance.unstructured"
        text = cut(ctx, x_text(ctx, remittance, path, ":70:"), 4 * WIDTH, path, ":70:", "70: 4*35x")
        out.add(Field("70", render_field("70", Text("\n".join(chunks(text, WIDTH))))), "B")
    out.add(field72(ctx, instructions72(ctx, [], u, bnf=False)), "B")
    if ctx.reader.peek(f"{u}instructed_amount"):
        out.add(amount_field(ctx, "33B", f"{u}instructed_amount"), "B")
