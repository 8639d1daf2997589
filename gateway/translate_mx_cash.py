"""The translator's own values for cash-management and exception MX targets (MT -> MX).

:mod:`gateway.translate_mx` renders the Document of the target through its mapping
file read backwards. Some elements the target requires have no source in the MT
message; the SWIFT MT -> MX translation writes them by rule. Each such value is
reported ``translate.defaulted`` (info) at its canonical field and target element,
never passed off as source data:

* camt.053.001.08 / camt.054.001.08 (from MT 940 / 950 / 900 / 910):

  - ``GrpHdr/CreDtTm`` = the translation time (the MT has no creation time of its
    own; the CBPR+ MT -> MX rules use the time of translation);
  - ``Ntry/Sts/Cd`` = ``BOOK`` for every entry without a status: SWIFT *Standards MT*
    defines the MT 940/950 statement lines as booked entries and the MT 900/910 as
    the confirmation of a debit/credit booked to the account;
  - ``Stmt/StmtPgntn/PgNb`` = ``1`` for an MT 940/950 whose 28C has no sequence number
    and whose closing balance is final (62F, ``LastPgInd`` true): the statement is that
    one message (``StmtPgntn`` needs both; an intermediate page without a sequence
    number cannot say its page, so ``LastPgInd`` is reported dropped instead);
  - ``Ntry/BkTxCd`` (mandatory in both schemas) for an entry without one: the
    family the message type itself states, ``PMNT`` / ``ICDT`` (issued credit
    transfers, MT 900 debit) or ``PMNT`` / ``RCDT`` (received credit transfers,
    MT 910 credit), sub-family ``OTHR``; MT 940/950 statement lines carry their
    transaction type identification code (``NTRF`` ...) as the proprietary code,
    which is kept as written.

* camt.056.001.08 / camt.029.001.09 (from MT 192 / 196): the original message's name
  (11R/11S) without its reference cannot be written (``OrgnlGrpInf`` needs
  ``OrgnlMsgId``): it is reported dropped; ``Assgnmt/CreDtTm`` = the
  translation time (the assignment is created by the translation); ``Case/Cretr``
  (``RslvdCase/Cretr``), mandatory with the case id, = the agent that opened the case:
  the sender of the MT 192 - the assigner of the camt.056, the assignee of the
  camt.029 answering it (the receiver of the MT 196).

Anything else the target requires and the source lacks stays absent: the output then
fails XSD validation and is reported invalid rather than completed with invented data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["CASE_TARGETS", "CASH_TARGETS", "STATEMENT_TARGETS", "enrich_cash"]

STATEMENT_TARGETS = frozenset({"camt.053.001.08", "camt.054.001.08"})
CASE_TARGETS = frozenset({"camt.056.001.08", "camt.029.001.09"})
CASH_TARGETS = STATEMENT_TARGETS | CASE_TARGETS
#: MT type -> the ISO bank transaction code family its entries belong to.
_FAMILIES = {"fin.900": ("PMNT", "ICDT", "OTHR"), "fin.910": ("PMNT", "RCDT", "OTHR")}

#: default(path, value, rule): write a value at a canonical path and report it.
Default = Callable[[str, Any, str], None]


def enrich_cash(
    out: dict[str, Any],
    source_id: str,
    target: str,
    default: Default,
    now: datetime,
    drop: Callable[[str, str], None],
) -> None:
    """Write into ``out`` (a JSON-ready event, changed in place) the values the module
    docstring lists for ``target``, each through ``default``; ``now`` is the
    translation time."""
    stamp = now.isoformat(timespec="seconds")
    if target in STATEMENT_TARGETS:
        if not (out.get("group") or {}).get("creation_datetime"):
            default("group.creation_datetime", stamp, "CBPR+ MT to MX: the translation time")
        _pagination(out, source_id, default, drop)
        _entries(out, source_id, default)
    elif target in CASE_TARGETS:
        original = out.get("original") or {}
        if not original.get("message_id"):
            for name in ("message_name_id", "creation_datetime"):
                if original.pop(name, None) is not None:
                    drop(f"original.{name}", "OrgnlGrpInf needs OrgnlMsgId, which the MT lacks")
        case = out.get("case") or {}
        if not case.get("assignment_datetime"):
            rule = "MT -> MX: the assignment is created by the translation (translation time)"
            default("case.assignment_datetime", stamp, rule)
        opener = "assigner" if target == "camt.056.001.08" else "assignee"
        agent = case.get(opener)
        if (
            case.get("case_id")
            and not (case.get("case_creator") or case.get("case_creator_party"))
            and isinstance(agent, dict)
        ):
            rule = "the sender of the MT 192 opened the case" + (
                " (this message's sender)" if opener == "assigner" else " (its receiver)"
            )
            default("case.case_creator", dict(agent), rule)


def _pagination(
    out: dict[str, Any], source_id: str, default: Default, drop: Callable[[str, str], None]
) -> None:
    statement = out.get("statement") or {}
    if statement.get("page_number") or statement.get("last_page") is None:
        return
    if statement["last_page"]:
        rule = f"{_name(source_id)} 28C without a sequence number, closing balance final (62F)"
        default("statement.page_number", "1", rule)
    else:
        del statement["last_page"]
        drop("statement.last_page", "StmtPgntn needs a page number; 28C has none")


def _entries(out: dict[str, Any], source_id: str, default: Default) -> None:
    entries = (out.get("statement") or {}).get("entries") or []
    family = _FAMILIES.get(source_id)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        where = f"statement.entries[{index}]"
        if not entry.get("status"):
            rule = f"{_name(source_id)} reports booked entries (SWIFT Standards MT)"
            default(f"{where}.status.code", "BOOK", rule)
        if not entry.get("bank_transaction_code") and family is not None:
            domain, fam, sub = family
            rule = f"{_name(source_id)} confirms a {'debit' if fam == 'ICDT' else 'credit'}"
            default(f"{where}.bank_transaction_code.domain", domain, rule)
            default(f"{where}.bank_transaction_code.family", fam, rule)
            default(f"{where}.bank_transaction_code.sub_family", sub, rule)


def _name(source_id: str) -> str:
    """``fin.900`` -> ``MT 900``."""
    return "MT " + source_id.removeprefix("fin.")
