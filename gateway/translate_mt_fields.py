"""Shared parts of the MT translations (canonical event -> MT 103 / 202 fields).

The helpers :mod:`gateway.translate_mt` and :mod:`gateway.translate_mt103` share:
the text block under construction, the clearing channel ``//RT``, field 20/21 and the
group header, service levels ({3:111}, 72 ``/SVCLVL/``, ``/LOCINS/``), settlement
(53a-55a and the settlement method they imply: METAFCT001 read backwards), field 72
(``/INS/``, ``/ACC/``, ``/BNF/``, the payment type codes, instructions for the next
agent) and 77B. The rules each follows are in :mod:`gateway.translate_mt`'s docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.fin.definitions import DEFINITIONS, FieldSpec, Item, SequenceSpec
from gateway.fin.fields import Amount, Text, render_field
from gateway.mt import MtMessage
from gateway.mt_fields import AppHeader, BasicHeader, Field, TagBlock, TagValue, TextBlock
from gateway.translate_parties import institution_field
from gateway.translate_text import (
    NOT_PROVIDED,
    WIDTH,
    Context,
    chunks,
    coded,
    cut,
    narrative_lines,
    placeholder_taken,
    same_bic,
    x_text,
)

__all__ = [
    "CREDITOR_CODES",
    "MtCodes",
    "RtgsChannel",
    "TextFields",
    "amount_field",
    "charge_bearer_71a",
    "decimal_of",
    "field72",
    "group_header",
    "input_message",
    "instructions72",
    "is_header",
    "references",
    "regulatory",
    "service_levels",
    "settlement",
]

#: 23E codes of instructions for the creditor agent (ISO Instruction3Code).
CREDITOR_CODES = ("HOLD", "CHQB", "PHOB", "TELB")


@dataclass(slots=True)
class TextFields:
    """The text block being built: tag -> field, per sequence (``""`` outside)."""

    items: list[tuple[str, Field]]

    def add(self, field: Field | None, sequence: str = "") -> None:
        if field is not None:
            self.items.append((sequence, field))


class RtgsChannel:
    """Clearing channel RTGS: ``//RT`` on 56a, else on 57a (where the MT -> canonical
    mapping reads it); taken once a field carries it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        rtgs = ctx.reader.peek("payment_type.clearing_channel") == "RTGS"
        self.pending: str | None = "//RT" if rtgs else None

    def carried_by(self, field: Field | None) -> None:
        if self.pending and field is not None and field.value.startswith(self.pending):
            self.ctx.reader.take("payment_type.clearing_channel")
            self.pending = None


@dataclass(frozen=True, slots=True)
class MtCodes:
    """The code maps of ``mappings/fin/common/cbpr-plus.yaml`` read backwards:
    service level -> block 3 field 111 (``G001`` -> ``001``), charge bearer -> 71A."""

    gpi: dict[str, str]
    bearer: dict[str, str]


def service_levels(
    ctx: Context,
    target: str,
    block3: list[TagValue],
    words72: list[tuple[str, str | None, str]],
    gpi_codes: dict[str, str],
) -> None:
    """Service levels: G00n -> {3:111}, SDVA -> 23E (MT 103; its 23E is written with
    the others), the rest -> 72 /SVCLVL/; proprietary ones are dropped."""
    reader = ctx.reader
    for index, level in enumerate(reader.peek("payment_type.service_level") or []):
        path = f"payment_type.service_level[{index}]"
        code = level.get("code")
        if code in gpi_codes and not any(t.tag == "111" for t in block3):
            reader.take(path)
            block3.append(TagValue("111", gpi_codes[code]))
        elif code == "SDVA" and target.startswith("fin.103"):
            continue  # 23E, see _instruction_codes
        elif code:
            reader.take(path)
            words72.append((path, "SVCLVL", str(code)))
    local = reader.peek("payment_type.local_instrument.code")
    if local:
        reader.take("payment_type.local_instrument.code")
        words72.append(("payment_type.local_instrument", "LOCINS", str(local)))


def references(ctx: Context, target: str, out: TextFields) -> None:
    """20 (the instruction id; CBPR+ MX to MT: ``InstrId``), 21 of MT 202 (the
    end-to-end id), both 16x cut with ``+``; the group header (:func:`group_header`)."""
    reader = ctx.reader
    reference = reader.get("ids.instruction_id")
    message_id = reader.peek("ids.message_id") or reader.peek("group.message_id")
    for path in ("ids.message_id", "group.message_id"):
        if reader.peek(path) is not None:
            reader.take(path)
            if reader.peek(path) != reference:
                rule = "the MT message is identified by field 20 (the instruction id)"
                ctx.ledger.regenerated(path, rule, mt_tag=":20:", xpath=ctx.xpath_of(path))
    if not reference:
        reference = message_id or NOT_PROVIDED
        rule = "field 20 is mandatory; the instruction id is absent"
        ctx.ledger.defaulted("ids.instruction_id", str(reference), rule, mt_tag=":20:")
    text = x_text(ctx, str(reference), "ids.instruction_id", ":20:")
    ref = cut(ctx, text, 16, "ids.instruction_id", ":20:", "field 20: 16x")
    sequence = "A" if target == "fin.202.COV" else ""
    out.add(Field("20", render_field("20", Text(ref))), sequence)
    if target.startswith("fin.202"):
        e2e = reader.get("ids.end_to_end_id")
        if not e2e:
            e2e = NOT_PROVIDED
            rule = "field 21 is mandatory; the end-to-end id is absent"
            ctx.ledger.defaulted("ids.end_to_end_id", e2e, rule, mt_tag=":21:")
        text = x_text(ctx, str(e2e), "ids.end_to_end_id", ":21:")
        ref = cut(ctx, text, 16, "ids.end_to_end_id", ":21:", "field 21: 16x")
        out.add(Field("21", render_field("21", Text(ref))), sequence)
    group_header(ctx)


def group_header(ctx: Context) -> None:
    """Group header data: the creation time and number of transactions are the MX
    message's own (MT states them its own way: regenerated); control sum and total
    amount too when they are the one transaction's amount (else dropped, later)."""
    reader = ctx.reader
    rule = "an MT message carries one transaction and has no creation time of its own"
    for path in ("group.creation_datetime", "group.number_of_transactions"):
        if reader.get(path) is not None:
            ctx.ledger.regenerated(path, rule, xpath=ctx.xpath_of(path))
    amount = reader.peek("amounts.interbank_settlement") or {}
    total = reader.peek("group.total_interbank_settlement_amount")
    checks = (
        ("group.control_sum", decimal_of(reader.peek("group.control_sum"))),
        (
            "group.total_interbank_settlement_amount",
            decimal_of(total.get("value"))
            if isinstance(total, dict) and total.get("currency") == amount.get("currency")
            else None,
        ),
    )
    for path, value in checks:
        if value is not None and value == decimal_of(amount.get("value")):
            reader.take(path)
            ctx.ledger.regenerated(path, "32A carries the one amount", xpath=ctx.xpath_of(path))


def decimal_of(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def amount_field(ctx: Context, tag: str, path: str, with_date: str | None = None) -> Field:
    amount = ctx.reader.get(path)
    value = Amount(str(amount["currency"]), str(amount["value"]), with_date)
    return Field(tag, render_field(tag, value))


def settlement(ctx: Context, target: str, out: TextFields, sequence: str) -> None:
    """53a/54a/55a and the settlement method they imply (METAFCT001 backwards)."""
    reader = ctx.reader
    stp = target == "fin.103.STP"
    method = reader.peek("settlement.method")
    agents = [
        ("53", "settlement.instructing_reimbursement_agent", "AB" if stp else "ABD"),
        ("54", "settlement.instructed_reimbursement_agent", "A" if stp else "ABD"),
    ]
    if target.startswith("fin.103"):  # MT 202 has no 55a
        agents.append(("55", "settlement.third_reimbursement_agent", "A" if stp else "ABD"))
    written = False
    for number, path, options in agents:
        found = institution_field(ctx, number, path, f"{path}_account", options)
        out.add(found, sequence)
        written = written or found is not None
    account_path = "settlement.account"
    if not written and reader.peek(account_path) is not None:
        mark = "C" if method == "INGA" else None
        found = institution_field(ctx, "53", "settlement.no_agent", account_path, "B", dc_mark=mark)
        out.add(found, sequence)
    if method is None:
        return
    implied = (method == "COVE") if written else (method in ("INDA", "INGA"))
    if implied:
        reader.take("settlement.method")
        rule = "said by the presence (COVE) or absence (INDA, INGA) of 53a-55a"
        ctx.ledger.regenerated("settlement.method", rule, mt_tag=":53a:")
    else:
        rule = f"method {method} has no MT form with {'' if written else 'no '}53a-55a"
        ctx.ledger.dropped(
            "settlement.method", rule, mt_tag=":53a:", xpath=ctx.xpath_of("settlement.method")
        )
        reader.take("settlement.method")


def instructions72(
    ctx: Context, words72: list[tuple[str, str | None, str]], prefix: str, bnf: bool
) -> list[tuple[str, str | None, str]]:
    """72's code words: /INS/, /ACC/, (/BNF/), the payment type codes, next agent.
    MT 202 (``bnf``) has no 23E: every instruction for the creditor agent is /ACC/
    (its code, if any, is dropped)."""
    reader = ctx.reader
    words: list[tuple[str, str | None, str]] = []
    agent = reader.peek(f"{prefix}previous_instructing_agent_1") or {}
    ins = agent.get("bic") or agent.get("name")
    if ins:
        part = "bic" if agent.get("bic") else "name"
        reader.take(f"{prefix}previous_instructing_agent_1.{part}")
        placeholder_taken(ctx, f"{prefix}previous_instructing_agent_1.postal_address")
        words.append((f"{prefix}previous_instructing_agent_1.{part}", "INS", str(ins)))
    for index, item in enumerate(reader.peek(f"{prefix}instructions_for_creditor_agent") or []):
        info = item.get("information")
        if info and (bnf or prefix or item.get("code") not in CREDITOR_CODES):
            path = f"{prefix}instructions_for_creditor_agent[{index}].information"
            reader.take(path)
            words.append((path, "ACC", str(info)))
    if bnf:
        for index, line in enumerate(reader.peek("remittance.unstructured") or []):
            words.append((f"remittance.unstructured[{index}]", "BNF", str(line)))
        reader.take("remittance.unstructured")
    words.extend(words72)
    for index, item in enumerate(reader.peek(f"{prefix}instructions_for_next_agent") or []):
        info = item.get("information")
        if info:
            path = f"{prefix}instructions_for_next_agent[{index}].information"
            reader.take(path)
            code, text = coded(str(info))
            words.append((path, code, text))
    return words


def field72(ctx: Context, words: list[tuple[str, str | None, str]]) -> Field | None:
    lines = narrative_lines(ctx, words, 6, ":72:")
    return Field("72", render_field("72", Text("\n".join(lines)))) if lines else None


def is_header(ctx: Context, agent_path: str, account_path: str, bic: str) -> bool:
    """The agent is the sender/receiver itself (only its BIC, no account): MT leaves
    its field out and the MT -> canonical mapping reads the header back."""
    agent = ctx.reader.peek(agent_path) or {}
    if set(agent) - {"bic"} or ctx.reader.peek(account_path) is not None:
        return False
    if same_bic(agent.get("bic"), bic):
        ctx.reader.take(agent_path)
        return True
    return False


def regulatory(ctx: Context) -> Field | None:
    """77B: the information lines of the regulatory reporting details (3*35x)."""
    words: list[tuple[str, str | None, str]] = []
    for r, report in enumerate(ctx.reader.peek("regulatory_reporting") or []):
        for d in range(len(report.get("details") or [])):
            path = f"regulatory_reporting[{r}].details[{d}].information"
            for line in ctx.reader.get(path) or []:
                words.extend((path, None, part) for part in chunks(str(line), WIDTH))
    if not words:
        return None
    lines: list[str] = []
    for path, _, text in words:
        if len(lines) == 3:
            ctx.ledger.dropped(
                path, "77B holds 3 lines of 35 characters", value=text, mt_tag=":77B:"
            )
            continue
        lines.append(x_text(ctx, text, path, ":77B:"))
    return Field("77B", render_field("77B", Text("\n".join(lines))))


def input_message(
    target: str,
    sender: str,
    receiver: str,
    block3: list[TagValue],
    items: list[tuple[str, Field]],
) -> MtMessage:
    """An MT ``target`` in input form from ``sender`` to ``receiver``: blocks 1, 2, 3 (when
    it has tags) and 4, the fields in the order of the message definition."""
    blocks: list[Any] = [
        BasicHeader("F", "01", _lt(sender, "A")),
        AppHeader("I", target.split(".")[1], receiver=_lt(receiver, "X"), priority="N"),
    ]
    if block3:
        blocks.append(TagBlock("3", tuple(block3)))
    blocks.append(TextBlock(tuple(_ordered(target, items))))
    return MtMessage(tuple(blocks))


def _lt(bic: str, terminal: str) -> str:
    """The 12-character LT address: BIC8 + terminal code + branch (``XXX``)."""
    return bic[:8] + terminal + (bic[8:11] or "XXX")


def _ordered(target: str, items: list[tuple[str, Field]]) -> list[Field]:
    """The fields in the order of the message definition (sequence by sequence); fields
    of one number (71F, 71G) keep the order they were added in."""
    rows: list[tuple[str, str]] = []

    def walk(entries: Sequence[Item], sequence: str) -> None:
        for entry in entries:
            if isinstance(entry, SequenceSpec):
                walk(entry.items, entry.label)
            elif isinstance(entry, FieldSpec):
                rows.append((sequence, entry.number))

    walk(DEFINITIONS[target].items, "")
    position = {row: index for index, row in reversed(list(enumerate(rows)))}

    def key(item: tuple[str, Field]) -> int:
        sequence, field = item
        return position.get((sequence, field.number), position.get(("A", field.number), 0))

    return [field for _, field in sorted(items, key=key)]


def charge_bearer_71a(ctx: Context, codes: MtCodes) -> str:
    """The 71A code of the charge bearer (DEBT/CRED/SHAR -> OUR/BEN/SHA); ``SHA`` when
    there is none or it has no MT code (reported defaulted, and dropped when it had a
    value)."""
    bearer = ctx.reader.get("charge_bearer")
    details = codes.bearer.get(str(bearer)) if bearer else None
    if details is None:
        details = "SHA"
        rule = f"charge bearer {bearer} has no 71A code" if bearer else "71A is mandatory"
        ctx.ledger.defaulted("charge_bearer", details, rule, mt_tag=":71A:")
        if bearer:
            ctx.ledger.dropped("charge_bearer", rule, mt_tag=":71A:")
    return details
