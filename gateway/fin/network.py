"""Network validated rules of the supported SWIFT MT types (SWIFT C/D/E error codes).

SWIFT Standards MT, release SR 2025 (November 2025), section "Network Validated Rules" of each
type: MT 103, MT 103 STP, MT 103 REMIT (Category 1), MT 202, MT 202 COV (Category 2),
MT 910, MT 940, MT 950 (Category 9), MT n92/n95/n96 (Category n); plus the field-level
network rules of 23E, which compare the occurrences of a repeated field. Sources: the
SWIFT User Handbook pages for MT 103 REMIT and MT 103 STP (rules and error codes), the
FIN Error Codes reference, the Category n field pages; the rule numbering of MT 103,
MT 202 and MT 202 COV cross-checked with open-source validators. Nothing copied: each
check's docstring restates its rule in our words.

A rule is a check function (``Context -> Iterator[Breach]``) registered for message ids
under the number the handbook gives it there (``C1`` ...). Error codes seen on a SWIFT
page: D75, D49, E01-E04 (MT 103 REMIT page), D98, D67, E46 (MT 103 STP 23E page); the
other MT 103 / 103 STP codes match the open-source validators consulted (a Rust and two
Python MT libraries, an XSLT rule set) wherever those give one; MT 202 C1 is the C81 rule
of MT 103 C9. A rule whose code has no such support is registered with
``confirmed=False`` and its findings say so (``context["swift_error_confirmed"]``).
MT 103 REMIT gets the MT 103 rules under MT 103 numbering; the REMIT handbook numbers
them alike up to C6 but differently after (its D51 rule is C16), and its full list could
not be confirmed.

Field values are read with the minimal readers of :mod:`gateway.fin.peek`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gateway.fin.peek import Context, RuleInput, Scope, country, currency, party_identifier
from gateway.fin.peek import receiver as receiver_of
from gateway.fin.peek import sender as sender_of
from gateway.mt import Field
from gateway.report import Finding, finding

__all__ = ["EU_EEA_33B", "RULES", "Breach", "Rule", "RuleInput", "check_network"]


@dataclass(frozen=True, slots=True)
class Breach:
    """One violation: SWIFT error code, what is wrong, and where: the offending field,
    or the tag of an absent field (``":36:"``) with the line of the field requiring it."""

    error: str
    message: str
    at: Field | str
    line: int | None = None


Check = Callable[[Context], Iterator[Breach]]


@dataclass(frozen=True, slots=True)
class Rule:
    rule: str  # "C1"; for a field-level rule the field ("23E")
    errors: tuple[str, ...]
    check: Check
    confirmed: bool = True

    @property
    def summary(self) -> str:
        """The first paragraph of the check's docstring, on one line."""
        doc = (self.check.__doc__ or "").strip().split("\n\n", 1)[0]
        return " ".join(doc.split())


#: Network rules by canonical message id, in handbook order.
RULES: dict[str, tuple[Rule, ...]] = {}


def check_network(message_id: str, data: RuleInput) -> Iterator[Finding]:
    """Every network rule of ``message_id`` on ``data``, as ``mt.network_rule`` findings."""
    rules = RULES.get(message_id, ())
    ctx = Context(data)
    mt = "MT " + " ".join(message_id.split(".")[1:])
    for r in rules:
        for breach in r.check(ctx):
            at = breach.at
            tag, line = (at.location, at.line) if isinstance(at, Field) else (at, breach.line)
            context: dict[str, object] = {"swift_error": breach.error, "rule": r.rule}
            if not r.confirmed:
                context["swift_error_confirmed"] = False
            yield finding(
                "mt.network_rule",
                f"{mt} rule {r.rule} ({breach.error}): {breach.message}",
                mt_tag=tag,
                line=line,
                rule=f"{message_id}.{r.rule}",
                context=context,
            )


def _line(*fields: Field | None) -> int | None:
    return next((f.line for f in fields if f is not None), None)


# ------------------------------------------------------------ MT 103 family (cat. 1)

#: Bank operation codes that restrict the message to STP-friendly options (MT 103).
_STP_CODES = frozenset({"SPRI", "SSTD", "SPAY"})
#: MT 103 C2: 33B is mandatory when sender and receiver are both in these countries
#: (list as published in the User Handbook, MT 103 REMIT rule C2).
# fmt: off
EU_EEA_33B = frozenset((
    "AD", "AT", "BE", "BG", "BV", "CH", "CY", "CZ", "DE", "DK", "ES", "EE", "FI", "FR", "GB",
    "GF", "GI", "GP", "GR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MQ", "MT",
    "NL", "NO", "PL", "PM", "PT", "RE", "RO", "SE", "SI", "SJ", "SK", "SM", "TF", "VA",
))
# fmt: on


def exchange_rate(m: Context) -> Iterator[Breach]:
    """If 33B is present in a currency other than that of 32A, 36 (exchange rate) is
    mandatory; otherwise (33B absent, or in the currency of 32A) 36 is not allowed."""
    f32, f33, f36 = m.all.first("32A"), m.all.first("33B"), m.all.first("36")
    c32 = currency(f32) if f32 else None
    c33 = currency(f33) if f33 else None
    if f33 is not None and c32 and c33 and c33 != c32:
        if f36 is None:
            message = f"33B is in {c33} and 32A in {c32}: exchange rate 36 is mandatory."
            yield Breach("D75", message, ":36:", f33.line)
    elif f36 is not None and f33 is None:
        yield Breach("D75", "36 is not allowed without 33B.", f36)
    elif f36 is not None and c32 and c33 == c32:
        yield Breach("D75", f"36 is not allowed: 33B and 32A are both in {c32}.", f36)


def instructed_amount_eu(m: Context) -> Iterator[Breach]:
    """If the sender's and the receiver's BICs are both in a listed EU/EEA country,
    33B (currency/instructed amount) is mandatory."""
    countries = country(sender_of(m.data.message)), country(receiver_of(m.data.message))
    if all(c in EU_EEA_33B for c in countries) and not m.all.has("33B"):
        message = f"sender ({countries[0]}) and receiver ({countries[1]}): 33B is mandatory."
        yield Breach("D49", message, ":33B:", _line(m.all.first("32A")))


def spri_instructions(allowed: tuple[str, ...]) -> Check:
    def check(m: Context) -> Iterator[Breach]:
        """With 23B SPRI, 23E may only carry the listed codes; with SSTD or SPAY, 23E
        is not allowed."""
        operation = m.code("23B", 4)
        for f, c in m.codes("23E", 4):
            if operation == "SPRI" and c not in allowed:
                message = f"with 23B SPRI, 23E may only be {', '.join(allowed)}, not {c}."
                yield Breach("E01", message, f)
            elif operation in ("SSTD", "SPAY"):
                yield Breach("E02", f"with 23B {operation}, 23E is not allowed.", f)

    return check


def _stp_code_options(
    m: Context, tag: str, allowed: tuple[str, ...], error: str
) -> Iterator[Breach]:
    operation = m.code("23B", 4)
    if operation in _STP_CODES:
        options = " or ".join(allowed)
        for f in m.all.all(tag):
            if f.option not in allowed:
                message = f"with 23B {operation}, {tag} may only use option {options}."
                yield Breach(error, message, f)


def sender_correspondent_not_d(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, SSTD or SPAY, 53a may not use option D."""
    yield from _stp_code_options(m, "53a", ("A", "B"), "E03")


def receiver_correspondent_a(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, SSTD or SPAY, 54a may only use option A."""
    yield from _stp_code_options(m, "54a", ("A",), "E05")


def reimbursement_a(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, SSTD or SPAY, 55a may only use option A."""
    yield from _stp_code_options(m, "55a", ("A",), "E07")


def correspondent_b_identified(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, SSTD or SPAY, a 53B must carry its party identifier."""
    if m.code("23B", 4) in _STP_CODES:
        yield from _53b_identified(m)


def _53b_identified(m: Context) -> Iterator[Breach]:
    """53B must carry its party identifier (the ``/`` line)."""
    for f in m.all.all("53B"):
        if not party_identifier(f):
            yield Breach("E04", "53B must start with its party identifier (/...).", f)


def reimbursement_needs_correspondents(m: Context) -> Iterator[Breach]:
    """If 55a (third reimbursement institution) is present, 53a and 54a must be too."""
    f55 = m.all.first("55a")
    if f55 is not None:
        absent = [t for t in ("53a", "54a") if not m.all.has(t)]
        if absent:
            yield Breach("E06", f"55a requires {' and '.join(absent)}.", f55)


def _needs_account_with(fields: Scope, error: str, where: str = "") -> Iterator[Breach]:
    f56 = fields.first("56a")
    if f56 is not None and not fields.has("57a"):
        yield Breach(error, f"56a{where} requires 57a{where}.", ":57a:", f56.line)


def intermediary_needs_account_with(m: Context) -> Iterator[Breach]:
    """If 56a (intermediary) is present, 57a (account with institution) must be too."""
    yield from _needs_account_with(m.all, "C81")


def intermediary_with_stp_codes(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, 56a is not allowed; with SSTD or SPAY, 56a may only use option A
    or C, and option C must carry a clearing code (``//`` + code)."""
    operation = m.code("23B", 4)
    for f in m.all.all("56a"):
        if operation == "SPRI":
            yield Breach("E16", "with 23B SPRI, 56a is not allowed.", f)
        elif operation in ("SSTD", "SPAY") and (
            f.option not in ("A", "C") or (f.option == "C" and not _CLEARING.match(f.value))
        ):
            message = f"with 23B {operation}, 56a must be 56A or 56C with a clearing code."
            yield Breach("E17", message, f)


_CLEARING = re.compile(r"//[A-Z]{2}")


def intermediary_spri_stp(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, 56A is not allowed."""
    if m.code("23B", 4) == "SPRI":
        yield from (
            Breach("E16", "with 23B SPRI, 56A is not allowed.", f) for f in m.all.all("56a")
        )


def account_with_stp_codes(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, SSTD or SPAY, 57a may only use option A, C or D, and 57D must
    carry its party identifier."""
    operation = m.code("23B", 4)
    if operation in _STP_CODES:
        for f in m.all.all("57a"):
            if f.option not in ("A", "C", "D") or (f.option == "D" and not party_identifier(f)):
                message = (
                    f"with 23B {operation}, 57a must be 57A, 57C, or 57D with a party identifier."
                )
                yield Breach("E09", message, f)


def beneficiary_account_with_stp_codes(m: Context) -> Iterator[Breach]:
    """With 23B SPRI, SSTD or SPAY, 59a must carry the beneficiary's account."""
    operation = m.code("23B", 4)
    if operation in _STP_CODES:
        yield from _beneficiary_account(m, f"with 23B {operation}, ")


def _beneficiary_account(m: Context, why: str = "") -> Iterator[Breach]:
    """59a must carry the beneficiary's account (its first line ``/account``)."""
    for f in m.all.all("59a"):
        if not party_identifier(f):
            yield Breach("E10", f"{why}59a must start with the beneficiary's account (/...).", f)


def cheque_without_account(m: Context) -> Iterator[Breach]:
    """If a 23E carries CHQB (pay by cheque), 59a must not carry an account."""
    if any(c == "CHQB" for _, c in m.codes("23E", 4)):
        for f in m.all.all("59a"):
            if party_identifier(f):
                yield Breach("E18", "with 23E CHQB, 59a must not carry an account.", f)


def charges(m: Context) -> Iterator[Breach]:
    """71A OUR: no 71F, 71G optional. 71A SHA: 71F optional, no 71G. 71A BEN: at least
    one 71F, no 71G."""
    f71a = m.all.first("71A")
    bearer = m.code("71A", 3)
    fees, f71g = m.all.all("71F"), m.all.first("71G")
    if bearer == "OUR":
        yield from (Breach("E13", "with 71A OUR, 71F is not allowed.", f) for f in fees)
    elif bearer in ("SHA", "BEN") and f71g is not None:
        yield Breach("D50", f"with 71A {bearer}, 71G is not allowed.", f71g)
    if bearer == "BEN" and not fees:
        yield Breach("E15", "with 71A BEN, at least one 71F is mandatory.", ":71F:", _line(f71a))


def charges_need_instructed_amount(m: Context) -> Iterator[Breach]:
    """If 71F or 71G is present, 33B is mandatory."""
    charge = m.all.first("71F") or m.all.first("71G")
    if charge is not None and not m.all.has("33B"):
        yield Breach("D51", f"{charge.tag} requires 33B.", ":33B:", charge.line)


def _contact_needs(m: Context, codes: tuple[str, ...], tag: str, error: str) -> Iterator[Breach]:
    if not m.all.has(tag):
        for f, c in m.codes("23E", 4):
            if c in codes:
                yield Breach(error, f"23E {c} requires {tag}.", f)


def phone_intermediary(m: Context) -> Iterator[Breach]:
    """If 56a is absent, no 23E may carry TELI or PHOI (contact the intermediary)."""
    yield from _contact_needs(m, ("TELI", "PHOI"), "56a", "E44")


def phone_account_with(m: Context) -> Iterator[Breach]:
    """If 57a is absent, no 23E may carry TELE or PHON (contact the account with
    institution)."""
    yield from _contact_needs(m, ("TELE", "PHON"), "57a", "E45")


def receiver_charges_currency(m: Context) -> Iterator[Breach]:
    """71G (receiver's charges) must be in the currency of 32A."""
    f32, f71g = m.all.first("32A"), m.all.first("71G")
    c32, c71 = (currency(f32) if f32 else None), (currency(f71g) if f71g else None)
    if f71g is not None and c32 and c71 and c71 != c32:
        yield Breach("C02", f"71G is in {c71}, 32A in {c32}: they must be the same.", f71g)


def instruction_code_sequence(order: tuple[str, ...], exclusive: tuple[str, ...]) -> Check:
    def check(m: Context) -> Iterator[Breach]:
        """Repeated 23E: each code at most once, in the handbook's order, and no two
        mutually exclusive codes together."""
        seen: list[str] = []
        for f, c in m.codes("23E", 4):
            last = next((s for s in reversed(seen) if s in order), None)
            if c in seen:
                yield Breach("E46", f"23E {c} occurs more than once.", f)
            elif last is not None and c in order and order.index(c) < order.index(last):
                yield Breach("D98", f"23E {c} must come before {last}.", f)
            clash = next(
                (s for s in seen if f"{s}+{c}" in exclusive or f"{c}+{s}" in exclusive), None
            )
            if clash is not None:
                yield Breach("D67", f"23E {c} may not be combined with {clash}.", f)
            seen.append(c)

    return check


_23E_ORDER = (
    "SDVA",
    "INTC",
    "REPA",
    "CORT",
    "HOLD",
    "CHQB",
    "PHOB",
    "TELB",
    "PHON",
    "TELE",
    "PHOI",
    "TELI",
)
# fmt: off
_23E_EXCLUSIVE = (
    "SDVA+HOLD", "SDVA+CHQB", "INTC+HOLD", "INTC+CHQB", "REPA+HOLD", "REPA+CHQB", "REPA+CORT",
    "CORT+HOLD", "CORT+CHQB", "HOLD+CHQB", "PHOB+TELB", "PHON+TELE", "PHOI+TELI",
)
# fmt: on

_MT103 = (
    Rule("C1", ("D75",), exchange_rate),
    Rule("C2", ("D49",), instructed_amount_eu),
    Rule("C3", ("E01", "E02"), spri_instructions(("SDVA", "TELB", "PHOB", "INTC"))),
    Rule("C4", ("E03",), sender_correspondent_not_d),
    Rule("C5", ("E04",), correspondent_b_identified),
    Rule("C6", ("E05",), receiver_correspondent_a),
    Rule("C7", ("E06",), reimbursement_needs_correspondents),
    Rule("C8", ("E07",), reimbursement_a),
    Rule("C9", ("C81",), intermediary_needs_account_with),
    Rule("C10", ("E16", "E17"), intermediary_with_stp_codes),
    Rule("C11", ("E09",), account_with_stp_codes),
    Rule("C12", ("E10",), beneficiary_account_with_stp_codes),
    Rule("C13", ("E18",), cheque_without_account),
    Rule("C14", ("E13", "D50", "E15"), charges),
    Rule("C15", ("D51",), charges_need_instructed_amount),
    Rule("C16", ("E44",), phone_intermediary),
    Rule("C17", ("E45",), phone_account_with),
    Rule("C18", ("C02",), receiver_charges_currency),
    Rule("23E", ("E46", "D98", "D67"), instruction_code_sequence(_23E_ORDER, _23E_EXCLUSIVE)),
)

_MT103_STP = (
    Rule("C1", ("D75",), exchange_rate),
    Rule("C2", ("D49",), instructed_amount_eu),
    Rule("C3", ("E01", "E02"), spri_instructions(("SDVA", "INTC"))),
    Rule("C4", ("E06",), reimbursement_needs_correspondents),
    Rule("C5", ("C81",), intermediary_needs_account_with),
    Rule("C6", ("E16",), intermediary_spri_stp),
    Rule("C7", ("E13", "D50", "E15"), charges),
    Rule("C8", ("D51",), charges_need_instructed_amount),
    Rule("C9", ("C02",), receiver_charges_currency),
    # field-level network rules of the STP field specifications
    Rule("53a", ("E04",), _53b_identified, confirmed=False),
    Rule("59a", ("E10",), _beneficiary_account, confirmed=False),
    Rule("23E", ("E46", "D98", "D67"), instruction_code_sequence(_23E_ORDER[:4], ("REPA+CORT",))),
)

RULES["fin.103"] = _MT103
RULES["fin.103.REMIT"] = _MT103
RULES["fin.103.STP"] = _MT103_STP

# ------------------------------------------------------------ MT 202 family (cat. 2)


def cover_intermediary_a(m: Context) -> Iterator[Breach]:
    """If 56a is present in sequence A, 57a must be present in sequence A."""
    yield from _needs_account_with(m.seq("A"), "C81", " in sequence A")


def cover_intermediary_b(m: Context) -> Iterator[Breach]:
    """If 56a is present in sequence B, 57a must be present in sequence B."""
    yield from _needs_account_with(m.seq("B"), "C68", " in sequence B")


RULES["fin.202"] = (Rule("C1", ("C81",), intermediary_needs_account_with),)
RULES["fin.202.COV"] = (
    Rule("C1", ("C81",), cover_intermediary_a),
    Rule("C2", ("C68",), cover_intermediary_b, confirmed=False),
)

# ------------------------------------------------------- cash management (cat. 9)


def ordering_party(m: Context) -> Iterator[Breach]:
    """Either 50a (ordering customer) or 52a (ordering institution) must be present."""
    if not m.all.has("50a") and not m.all.has("52a"):
        yield Breach(
            "C06", "either 50a or 52a must be present.", ":52a:", _line(m.all.first("32A"))
        )


def balance_currencies(m: Context) -> Iterator[Breach]:
    """The balances (60a, 62a, 64, 65) must all be in currencies whose first two
    characters are the same."""
    balances = [f for f in m.all.fields if f.number in ("60", "62", "64", "65")]
    first = next(((f, c) for f in balances if (c := currency(f))), None)
    for f in balances:
        c = currency(f)
        if first is not None and c and c[:2] != first[1][:2]:
            yield Breach("C27", f"{f.tag} is in {c}, {first[0].tag} in {first[1]}.", f)


RULES["fin.910"] = (Rule("C1", ("C06",), ordering_party, confirmed=False),)
RULES["fin.940"] = (Rule("C2", ("C27",), balance_currencies, confirmed=False),)
RULES["fin.950"] = (Rule("C1", ("C27",), balance_currencies, confirmed=False),)

# ------------------------------------------------------- common group (cat. n)


def narrative_or_copy(m: Context) -> Iterator[Breach]:
    """79 (narrative of the original message), a copy of its fields, or both, must be
    present."""
    if not m.all.has("79") and not m.seq("Copy").fields:
        yield Breach(
            "C25",
            "79 or a copy of the original message's fields must be present.",
            ":79:",
            _line(*m.all.fields[-1:]),
        )


def narrative_xor_copy(m: Context) -> Iterator[Breach]:
    """79 (narrative of the original message) and a copy of its fields may not both be
    present."""
    f79, copy = m.all.first("79"), m.seq("Copy").fields
    if f79 is not None and copy:
        yield Breach(
            "C31", "79 and a copy of the original message's fields exclude each other.", copy[0]
        )


for _category in range(1, 10):
    RULES[f"fin.{_category}92"] = (Rule("C1", ("C25",), narrative_or_copy, confirmed=False),)
    RULES[f"fin.{_category}95"] = (Rule("C1", ("C31",), narrative_xor_copy, confirmed=False),)
    RULES[f"fin.{_category}96"] = (Rule("C1", ("C31",), narrative_xor_copy, confirmed=False),)
