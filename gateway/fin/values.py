"""Typed values and the header of an MT message, for the business rule pack.

The MT side of :class:`gateway.rules.model.Subject` (the MX side is
:mod:`gateway.rules.mx`), read from the typed fields of :mod:`gateway.fin.fields`
and the FIN headers (SWIFT *FIN Service Description*: block 1 basic header, block 2
application header in input and output form, block 3 field 121):

* ``bic``: the Identifier Code of every option A party field and of 25P;
* ``iban``: the account of a party field when it has the shape of an IBAN of a
  country in the SWIFT IBAN registry (other account numbers are not IBANs and get
  no value: ``/US12345678`` is an account, not a broken IBAN);
* ``amount``: 32A, 32B, 33B, 71F, 71G as decimals with ``.``, with their currency in
  ``Value.currency`` (as MX amounts carry ``Ccy``), which is how the currency checks
  read them - no separate ``currency`` value, so a bad code is reported once;
* ``country``: the country of line 3 of 50F/59F;
* ``uetr``: block 3 field 121.

Values are located by the field (``mt_tag=":32A:"``, ``name="32A"``); malformed
fields give no value (their format findings say why).
"""

from __future__ import annotations

import re
from functools import lru_cache

from schwifty import exceptions as schwifty_errors
from schwifty import registry as schwifty_registry

from gateway.fin.field_base import date_problem, iso_date
from gateway.fin.fields import FIELD_SPECS, AccountId, Amount, Party, parse_field
from gateway.mt import MtMessage
from gateway.rules.model import Header, Value

__all__ = ["looks_like_iban", "mt_header", "mt_values"]

_AMOUNT_TAGS = frozenset({"32A", "32B", "33B", "71F", "71G"})
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Za-z0-9]{1,30}")


@lru_cache(maxsize=256)
def _iban_country(country: str) -> bool:
    try:
        schwifty_registry.get_iban_spec(country)
    except schwifty_errors.SchwiftyException:
        return False
    return True


def looks_like_iban(account: str) -> bool:
    """An account written as an IBAN: the shape, and a country with an IBAN format."""
    return _IBAN_SHAPE.fullmatch(account) is not None and _iban_country(account[:2])


def mt_values(message: MtMessage) -> list[Value]:
    """Typed values (BIC, IBAN, amount with currency, country, UETR) by MT tag."""
    values: list[Value] = []
    text = message.text
    for field in text.fields if text is not None else ():
        if field.tag not in FIELD_SPECS:
            continue
        where, name, line = field.location, field.tag, field.line or None
        parsed = parse_field(field.tag, field.value)
        if isinstance(parsed, Party):
            if parsed.bic is not None:
                values.append(Value("bic", parsed.bic, mt_tag=where, name=name, line=line))
            if parsed.account is not None and looks_like_iban(parsed.account):
                values.append(Value("iban", parsed.account, mt_tag=where, name=name, line=line))
            if parsed.structured and parsed.country is not None:
                values.append(Value("country", parsed.country, mt_tag=where, name=name, line=line))
        elif isinstance(parsed, AccountId) and parsed.bic is not None:
            values.append(Value("bic", parsed.bic, mt_tag=where, name=name, line=line))
        elif isinstance(parsed, Amount) and field.tag in _AMOUNT_TAGS:
            values.append(Value("amount", parsed.amount, None, where, parsed.currency, name, line))
    uetr = message.uetr
    if uetr is not None:
        values.append(Value("uetr", uetr.strip(), mt_tag="{3:121}", name="121"))
    return values


def _bic(lt_address: str) -> str | None:
    """The BIC of a 12-character logical terminal address: BIC8 + branch code."""
    if len(lt_address) != 12:
        return None
    return lt_address[:8] + lt_address[9:]


def mt_header(message: MtMessage) -> Header | None:
    """Sender, receiver, reference (field 20), message id and, for output messages,
    the date the sender input the message; None without block 1 or 2.

    Input messages (``{2:I...}``) come from the block 1 address and go to the block 2
    receiver; output messages (``{2:O...}``) come from the block 2 message input
    reference's address and are delivered to the block 1 address. An input message
    says nothing of its creation date."""
    b1, b2 = message.basic_header, message.app_header
    if b1 is None and b2 is None:
        return None
    own = _bic(b1.lt_address) if b1 is not None and b1.valid else None
    sender = receiver = created = None
    if b2 is not None and b2.valid and b2.direction == "O":
        sender, receiver = _bic(b2.sender), own
        if date_problem(b2.mir_date) is None:
            created = iso_date(b2.mir_date)
    elif b2 is not None and b2.valid:
        sender, receiver = own, _bic(b2.receiver)
    else:
        sender = own
    text = message.text
    reference = text.get("20") if text is not None else None
    message_id = message.message_id
    return Header(
        from_bic=sender,
        to_bic=receiver,
        business_message_id=reference.value.strip() if reference is not None else None,
        message_definition=str(message_id) if message_id is not None else None,
        business_service=None,
        creation_date=created,
    )
