"""Hostile SWIFT FIN (MT) over HTTP: the rules of ``test_hostile.py`` (a fast, clear 4xx,
only the rejected report stored, the worker up) for FIN payloads. The payloads of
``test_api_mt.py`` are reused; here they are also timed and every table is counted.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api_fixtures import ApiEnv
from tests.reliability_support import unique_mt103
from tests.test_api_mt import HOSTILE as HOSTILE_FIN
from tests.test_hostile import hostile, post, refused, rejected

MT = unique_mt103("HOSTILE").decode()
FIN_REJECTED: dict[str, tuple[bytes, str | None]] = {
    **{f"FIN: {name}": (payload, None) for name, payload in HOSTILE_FIN.items()},
    "FIN: CRLF injection forging a second message": (
        MT.replace(
            ":20:HOSTILE",
            ":20:X\r\n-}{1:F01EVILBANKAXXX0000000000}{2:I103EVILBANKXXXXN}{4:\r\n:20:FORGED",
        ).encode(),
        None,
    ),
    "FIN: CRLF injection in a header block": (
        MT.replace("{121:", "{108:A}\r\n{119:STP}{121:").encode(),
        None,
    ),
    "FIN: field 20 over 16 characters": (
        MT.replace(":20:HOSTILE", ":20:" + "X" * 300).encode(),
        "mt.field_format",
    ),
    "FIN: unbalanced braces": (b"{1:F01DEUTDEFFAXXX0000000001}{2:I103" + b"{" * 3000, None),
    "FIN over 16 KiB declared as XML": (
        MT.replace(":71A:SHA", ":70:" + "A" * 20_000).encode(),
        "mt.too_large",
    ),
}


@pytest.mark.parametrize("name", list(FIN_REJECTED))
def test_hostile_fin_is_a_fast_422_and_stores_only_its_report(api: ApiEnv, name: str) -> None:
    payload, code = FIN_REJECTED[name]
    content_type = "application/xml" if "declared as XML" in name else "text/plain"
    response, stored = hostile(api, payload, content_type)
    body = rejected(response, stored, code)
    assert all(f["code"].startswith(("mt.", "xml.", "business.")) for f in body["findings"])


def test_fin_over_the_mt_cap_is_413_before_reading(api: ApiEnv) -> None:
    """MT over 10,000 characters and over GATEWAY_MAX_MT_BYTES (16 KiB): refused unread."""
    payload = MT.replace(":71A:SHA", ":70:" + "ABCDEFGHIJ\r\n" * 2_000 + ":71A:SHA").encode()
    response, stored = hostile(api, payload, "text/plain")
    refused(response, stored, 413, "payload-too-large")


def test_valid_fin_after_hostile_fin_is_accepted(api: ApiEnv) -> None:
    for payload, _ in FIN_REJECTED.values():
        post(api, payload, "text/plain")
    response, _ = post(api, unique_mt103(f"OK{uuid.uuid4().hex[:12]}"), "text/plain")
    assert response.status_code == 202, response.text
