"""Canonical parties, agents and narratives -> MT field text (the MX -> MT direction).

Follows the CBPR+ MX to MT translation rules (SWIFT, CBPR+ translation rules for
pacs.008 to MT 103 and pacs.009 to MT 202 / 202 COV) as the reverse of the MT ->
canonical mapping files (``mappings/fin/``), with the field formats of SWIFT Standards
MT SR 2025 (:mod:`gateway.fin.fields_parties`):

* **customers** (50a, 59a): the account (IBAN, else other id) on the ``/`` line; a
  name with a structured address (country and town) -> option F (``1/`` name, ``2/``
  address lines, ``3/CC/town``; 50F also ``4/``-``5/`` birth date and place, ``6/``
  CUST and ``7/`` NIDN identifiers, and line 1 a party identifier ``CODE/CC/id`` when
  there is no account); else a name -> 50K / 59 (name, then address lines: 4*35x);
  no name but a BIC (AnyBIC) -> 50A / 59A. A name wins over a BIC (the BIC is then
  reported dropped): name and address are what FATF and the beneficiary bank need;
* **institutions** (52a-58a): a BIC -> option A; else name and address -> D; else an
  account or clearing code -> C (56, 57) or B (53-55, 57); the party identifier line
  carries the account, else the clearing code ``//XX<member id>`` (the ISO clearing
  system code back to its MT code by the code map of
  ``mappings/fin/common/cbpr-plus.yaml``), else ``//RT`` (clearing channel RTGS).

Text is put in the X character set and cut to its field by :mod:`gateway.translate_text`;
what no option can carry is left untaken, so the translator's coverage check reports
it (``translate.dropped``). Where a field needs a line the source does not have (a
name for option D, 50K, 59), ``NOTPROVIDED`` is written (``translate.defaulted``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.fin.fields import Party, render_field
from gateway.mt_fields import Field
from gateway.translate_text import (
    NOT_PROVIDED,
    WIDTH,
    Context,
    chunks,
    cut,
    fit_lines,
    placeholder_taken,
    wrap,
    x_text,
)

__all__ = ["address_lines", "customer_field", "institution_field"]

#: 50F line 1 party identifier codes (Standards MT, field 50F: T55).
_ID_CODES = frozenset({"ARNU", "CCPT", "CUST", "DRLC", "EMPL", "NIDN", "SOSE", "TXID"})
_COUNTRY = re.compile(r"[A-Z]{2}")
_F_WIDTH = WIDTH - 2  # option F lines are 1!n/33x
_ADDRESS_PARTS = (
    "building_name",
    "floor",
    "room",
    "post_box",
    "department",
    "sub_department",
    "district_name",
    "town_location_name",
)


# ----------------------------------------------------------------------- accounts


def _account_source(ctx: Context, path: str | None) -> str | None:
    """The canonical path of the identifier of the account at ``path``: its IBAN,
    else its other id; None when it has neither. Nothing is taken."""
    account = ctx.reader.peek(path) if path else None
    if not isinstance(account, dict):
        return None
    if account.get("iban"):
        return f"{path}.iban"
    return f"{path}.other.id" if ctx.reader.peek(f"{path}.other.id") else None


def _account_value(ctx: Context, source: str, mt_tag: str) -> str:
    ctx.reader.take(source)
    text = x_text(ctx, str(ctx.reader.peek(source)), source, mt_tag)
    return cut(ctx, text, 34, source, mt_tag, "account: /34x")


def account_text(ctx: Context, path: str, mt_tag: str) -> str | None:
    """The identifier of the account at ``path`` (IBAN, else other id), taken."""
    source = _account_source(ctx, path)
    return _account_value(ctx, source, mt_tag) if source is not None else None


# ----------------------------------------------------------------------- addresses


def address_lines(ctx: Context, path: str, mt_tag: str, *, with_town: bool = True) -> list[str]:
    """The postal address at ``path`` as free text lines (address lines, street and
    building number, other parts, post code town and subdivision, country), taken.
    ``with_town`` False leaves town, post code, subdivision and country to the caller
    (option F line 3)."""
    if not isinstance(ctx.reader.peek(path), dict) or placeholder_taken(ctx, path):
        return []

    def part(name: str) -> str:
        value = ctx.reader.get(f"{path}.{name}")
        return str(value) if value else ""

    lines = [str(line) for line in ctx.reader.get(f"{path}.address_lines") or []]
    lines.append(" ".join(filter(None, (part("street_name"), part("building_number")))))
    lines.append(", ".join(filter(None, (part(name) for name in _ADDRESS_PARTS))))
    if with_town:
        town = (part("post_code"), part("town_name"), part("country_sub_division"))
        lines += [" ".join(filter(None, town)), part("country")]
    return [x_text(ctx, line, path, mt_tag) for line in lines if line]


# ----------------------------------------------------------------------- customers


def customer_field(
    ctx: Context, number: str, party_path: str, account_path: str, *, option_f: bool = True
) -> Field | None:
    """50a (``number`` ``"50"``) or 59a (``"59"``) of a canonical party and account."""
    reader = ctx.reader
    party = reader.peek(party_path) or {}
    if not party and reader.peek(account_path) is None:
        return None
    where = f":{number}a:"
    name = party.get("name")
    address = party.get("postal_address") or {}
    ident = party.get("identification") or {}
    account = account_text(ctx, account_path, where)
    if not name and ident.get("any_bic"):
        bic = reader.get(f"{party_path}.identification.any_bic")
        return Field(f"{number}A", render_field(f"{number}A", Party(account=account, bic=bic)))
    structured = bool(address.get("country") and address.get("town_name"))
    fatf = number == "50" and bool(ident.get("private_other") or ident.get("birth"))
    if option_f and (structured or fatf):
        found = _option_f(ctx, number, party_path, account, structured)
        if found is not None:
            return found
    if name:
        text = x_text(ctx, str(reader.get(f"{party_path}.name")), f"{party_path}.name", where)
        lines = [cut(ctx, text, WIDTH, f"{party_path}.name", where, "name: 35x")]
    else:
        lines = [NOT_PROVIDED]
        reader.take(f"{party_path}.name")
        ctx.ledger.defaulted(
            f"{party_path}.name", NOT_PROVIDED, f"{number}a needs a name line", mt_tag=where
        )
    address_path = f"{party_path}.postal_address"
    found_lines = address_lines(ctx, address_path, where)
    lines += fit_lines(ctx, found_lines, 3, WIDTH, address_path, where)
    tag = "50K" if number == "50" else "59"
    return Field(tag, render_field(tag, Party(account=account, name_address=tuple(lines))))


def _option_f(
    ctx: Context, number: str, party_path: str, account: str | None, structured: bool
) -> Field | None:
    """50F / 59F (see module docstring); None when 50F has no line 1 to write."""
    reader = ctx.reader
    tag = f"{number}F"
    where = f":{tag}:"
    first_id, numbered = _identifiers(ctx, number, party_path, account)
    if number == "50" and account is None and first_id is None:
        return None
    budget = _FBudget(ctx, party_path, where)
    name = reader.get(f"{party_path}.name")
    address_path = f"{party_path}.postal_address"
    if structured:
        streets = address_lines(ctx, address_path, where, with_town=False)
        country = reader.get(f"{address_path}.country")
        town = " ".join(
            str(reader.get(f"{address_path}.{p}"))
            for p in ("town_name", "post_code", "country_sub_division")
            if reader.peek(f"{address_path}.{p}")
        )
        town = x_text(ctx, town, address_path, where)
        third = cut(ctx, f"{country}/{town}", _F_WIDTH, address_path, where, "3/: 33x")
    else:
        streets, third = [], None
    birth = reader.peek(f"{party_path}.identification.birth") if number == "50" else None
    birth_lines: list[tuple[str, str]] = []
    if birth and birth.get("birth_date") and birth.get("country") and birth.get("city"):
        reader.take(f"{party_path}.identification.birth")
        city = x_text(ctx, str(birth["city"]), f"{party_path}.identification.birth", where)
        birth_lines = [
            ("4", str(birth["birth_date"]).replace("-", "")),
            ("5", cut(ctx, f"{birth['country']}/{city}", _F_WIDTH, party_path, where, "33x")),
        ]
    name_text = x_text(ctx, str(name), f"{party_path}.name", where) if name else None
    lines = budget.lay_out(name_text, streets, third, birth_lines, numbered)
    if number == "50":
        party = Party(account=account, party_identifier=first_id, structured=tuple(lines))
    else:
        party = Party(account=account, structured=tuple(lines))
    return Field(tag, render_field(tag, party))


def _identifiers(
    ctx: Context, number: str, party_path: str, account: str | None
) -> tuple[str | None, list[tuple[str, str, str]]]:
    """50F line 1 party identifier (``CODE/CC/id``, when there is no account) and the
    ``6/`` (CUST) and ``7/`` (NIDN) lines: (number, details, canonical path)."""
    if number != "50":
        return None, []
    ids_path = f"{party_path}.identification.private_other"
    first: str | None = None
    numbered: list[tuple[str, str, str]] = []
    for index, item in enumerate(ctx.reader.peek(ids_path) or []):
        code = (item.get("scheme") or {}).get("code") or ""
        issuer, ident = item.get("issuer") or "", item.get("id") or ""
        if not (_COUNTRY.fullmatch(issuer) and ident and code in _ID_CODES):
            continue
        path = f"{ids_path}[{index}]"
        if account is None and first is None and len(ident) <= 27:
            first = f"{code}/{issuer}/{ident}"
            ctx.reader.take(path)
        elif code in ("CUST", "NIDN"):
            numbered.append(("6" if code == "CUST" else "7", f"{issuer}/{ident}", path))
            ctx.reader.take(path)
    return first, numbered


@dataclass(slots=True)
class _FBudget:
    """Option F's four ``n/33x`` lines, given out by priority: the first name line and
    line 3, then address lines, identifiers, birth, further name lines."""

    ctx: Context
    party_path: str
    where: str

    def lay_out(
        self,
        name: str | None,
        streets: list[str],
        third: str | None,
        birth: list[tuple[str, str]],
        numbered: list[tuple[str, str, str]],
    ) -> list[tuple[str, str]]:
        ctx, where = self.ctx, self.where
        name_lines = wrap(name, _F_WIDTH) if name else []
        room = 4 - min(1, len(name_lines)) - (1 if third else 0)
        address_path = f"{self.party_path}.postal_address"
        street_lines = fit_lines(ctx, streets, room, _F_WIDTH, address_path, where)
        room -= len(street_lines)
        ids: list[tuple[str, str]] = []
        for num, details, path in numbered:
            if room > 0:
                ids.append((num, cut(ctx, details, _F_WIDTH, path, where, "33x")))
                room -= 1
            else:
                ctx.ledger.dropped(path, f"{where} has no line left", mt_tag=where)
        if birth and room >= 2:
            room -= 2
        elif birth:
            birth_path = f"{self.party_path}.identification.birth"
            ctx.ledger.dropped(birth_path, f"{where} has no line left", mt_tag=where)
            birth = []
        if len(name_lines) > 1 + room and name is not None:
            keep = 1 + room
            rule = f"{where}: the name has {keep} line(s) of 33 characters left"
            text = cut(ctx, name, keep * _F_WIDTH, f"{self.party_path}.name", where, rule)
            name_lines = chunks(text, _F_WIDTH)
        out = [("1", line) for line in name_lines]
        out += [("2", line) for line in street_lines]
        out += [("3", third)] if third is not None else []
        return out + birth + ids


# ----------------------------------------------------------------------- institutions


def institution_field(
    ctx: Context,
    number: str,
    agent_path: str,
    account_path: str | None,
    options: str,
    *,
    channel: str | None = None,
    dc_mark: str | None = None,
) -> Field | None:
    """52a-58a of the agent at ``agent_path`` in the first of ``options`` (``"AD"``,
    ``"ABD"``, ``"ACD"``...) that can carry it; ``channel`` a ``//RT``-style party
    identifier written when the agent has no account and no clearing code."""
    reader = ctx.reader
    agent = reader.peek(agent_path) or {}
    where = f":{number}a:"
    account = _account_source(ctx, account_path)
    clearing = _clearing(ctx, agent_path)
    if not agent and account is None:
        return None
    identified = account is not None or clearing is not None or channel is not None
    named = bool(agent.get("name") or agent.get("postal_address"))
    option = next(
        (
            letter
            for letter, fits in (
                ("A", bool(agent.get("bic"))),
                ("D", named),
                ("C", identified and dc_mark is None),
                ("B", identified),
                ("D", identified),
            )
            if fits and letter in options
        ),
        None,
    )
    if option is None:
        return None  # left untaken: the coverage check reports it dropped
    identifier = channel
    if account is not None:
        identifier = "/" + _account_value(ctx, account, where)
    elif clearing is not None:
        reader.take(f"{agent_path}.clearing_member")
        rule = "party identifier: //34x"
        identifier = cut(ctx, clearing, 35, f"{agent_path}.clearing_member", where, rule)
    party_id = identifier[1:] if identifier is not None else None
    tag = f"{number}{option}"
    if option == "A":
        party = Party(account=party_id, dc_mark=dc_mark, bic=reader.get(f"{agent_path}.bic"))
    elif option == "D":
        address_path = f"{agent_path}.postal_address"
        lines = [_name_line(ctx, agent.get("name"), agent_path, where)]
        found = address_lines(ctx, address_path, where)
        lines += fit_lines(ctx, found, 3, WIDTH, address_path, where)
        party = Party(account=party_id, dc_mark=dc_mark, name_address=tuple(lines))
    else:
        party = Party(account=party_id, dc_mark=dc_mark)
    return Field(tag, render_field(tag, party))


def _name_line(ctx: Context, name: Any, agent_path: str, where: str) -> str:
    if name:
        ctx.reader.take(f"{agent_path}.name")
        text = x_text(ctx, str(name), f"{agent_path}.name", where)
        return cut(ctx, text, WIDTH, f"{agent_path}.name", where, "name: 35x")
    rule = "option D needs a name line"
    ctx.ledger.defaulted(f"{agent_path}.name", NOT_PROVIDED, rule, mt_tag=where)
    return NOT_PROVIDED


def _clearing(ctx: Context, agent_path: str) -> str | None:
    """``//FW021000021`` from a clearing member whose system has an MT code."""
    member = ctx.reader.peek(f"{agent_path}.clearing_member") or {}
    code = (member.get("clearing_system") or {}).get("code")
    mt = ctx.clearing_codes.get(str(code)) if code else None
    member_id = member.get("member_id")
    if mt is None or not member_id:
        return None
    return f"//{mt}{member_id}"
