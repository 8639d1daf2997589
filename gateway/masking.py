"""Masking of sensitive values in anything the gateway writes about a message.

Reports and logs never hold account identifiers or card numbers in clear
(DESIGN.md §5). Values quoted in finding messages (libxml2 quotes the offending
value) are masked when the element holds an account or proxy identifier, or when
the value itself looks like an account or card number.
"""

from __future__ import annotations

import re

__all__ = ["mask", "mask_quoted_values", "sensitive_path"]

#: Element paths whose values identify an account (IBAN, Othr/Id of any *Acct, proxies).
_SENSITIVE_PATH = re.compile(r"(Acct(\[\d+\])?/(Id|Prxy)/|/IBAN$|/Prxy/Id$|/Othr/Id$)")
#: Runs of digits long enough to be an account or card number (PAN: 13-19 digits).
_LONG_NUMBER = re.compile(r"\d[\d ]{6,}\d")
_QUOTED_VALUE = re.compile(r"(The value ')([^']*)(')")


def mask(value: str) -> str:
    """Keep at most the first two and last two characters: ``DE89************3000`` ->
    ``DE****00``-like shapes never longer than the original."""
    if len(value) <= 4:
        return "*" * len(value)
    keep = 2 if len(value) >= 8 else 1
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def sensitive_path(xpath: str | None) -> bool:
    return bool(xpath and _SENSITIVE_PATH.search(xpath))


def mask_quoted_values(message: str, xpath: str | None) -> str:
    """Mask ``The value '...'`` in a libxml2 message where it may identify an account."""
    path_is_sensitive = sensitive_path(xpath)

    def replace(match: re.Match[str]) -> str:
        value = match.group(2)
        if path_is_sensitive or _LONG_NUMBER.search(value):
            return match.group(1) + mask(value) + match.group(3)
        return match.group(0)

    return _QUOTED_VALUE.sub(replace, message)
