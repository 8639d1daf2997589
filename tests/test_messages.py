"""MessageId: parsing, namespaces and derived properties."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.messages import ISO_NAMESPACE_PREFIX, MessageId

MX_IDS = ["pacs.008.001.08", "pain.001.001.03", "camt.053.001.08", "head.001.001.02"]
FIN_IDS = ["fin.103", "fin.103.STP", "fin.202.COV", "fin.940", "fin.103.REMT", "fin.103.REMIT"]
INVALID_IDS = [
    "",
    " ",
    "pacs",
    "pacs.008",
    "pacs.008.001",
    "pacs.008.001.8",  # one-digit version
    "pacs.008.001.008",  # three-digit version
    "pacs.8.001.08",
    "pacs.008.1.08",
    "PACS.008.001.08",  # business area is lower case
    "pac.008.001.08",
    "pacsx.008.001.08",
    "pac5.008.001.08",
    "pacs.00a.001.08",
    "pacs-008-001-08",
    "pacs.008.001.08.xyz",  # usage-guideline suffix is not part of the id
    "pacs.008.001.08 ",  # the constructor does not strip (parse does)
    "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08",
    "fin",
    "fin.",
    "fin.10",
    "fin.1030",
    "FIN.103",
    "fin.103.",
    "fin.103.stp",
    "fin.103.ST",
    "fin.103.STPXXX",
    "fin.103.S1P",
    "fin.10a",
    "mt.103",
    "103",
]

areas = st.sampled_from(["pacs", "pain", "camt", "head", "acmt", "reda"])
numbers = st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}")
versions = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
mx_ids = st.builds(lambda a, m, v, ver: f"{a}.{m}.{v}.{ver}", areas, numbers, numbers, versions)


@pytest.mark.parametrize("text", MX_IDS)
def test_mx_id_parses_and_is_canonical(text: str) -> None:
    mid = MessageId.parse(text)
    assert str(mid) == text
    assert mid.value == text
    assert mid.family == "mx"
    assert mid == MessageId(text)


@pytest.mark.parametrize("text", FIN_IDS)
def test_fin_id_parses(text: str) -> None:
    mid = MessageId.parse(text)
    assert str(mid) == text
    assert mid.family == "mt"
    assert mid.business_area == "fin"
    assert mid.base == text  # an MT id has no version to drop
    assert mid.namespace is None


@pytest.mark.parametrize("text", INVALID_IDS)
def test_invalid_ids_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a message id"):
        MessageId(text)


@pytest.mark.parametrize("text", [t for t in INVALID_IDS if t.strip() == t or not t.strip()])
def test_parse_rejects_invalid_ids_too(text: str) -> None:
    with pytest.raises(ValueError, match="not a message id"):
        MessageId.parse(text)


@pytest.mark.parametrize("padded", ["  pacs.008.001.08", "pacs.008.001.08\n", "\tfin.103.STP \r\n"])
def test_parse_strips_surrounding_whitespace(padded: str) -> None:
    mid = MessageId.parse(padded)
    assert str(mid) == padded.strip()


@pytest.mark.parametrize("text", ["pacs.008.001.08\n", "fin.103\n", "fin.103.STP\n"])
def test_constructor_rejects_trailing_newline(text: str) -> None:
    # "$" would match before a trailing newline; the canonical value must not carry one.
    with pytest.raises(ValueError, match="not a message id"):
        MessageId(text)


def test_from_namespace_rejects_trailing_newline() -> None:
    assert MessageId.from_namespace(ISO_NAMESPACE_PREFIX + "pacs.008.001.08\n") is None


def test_from_namespace() -> None:
    mid = MessageId.from_namespace("urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08")
    assert mid == MessageId("pacs.008.001.08")


@pytest.mark.parametrize(
    "namespace",
    [
        "",
        "urn:swift:xsd:envelope",
        "urn:example:pacs.008.001.08",
        "pacs.008.001.08",
        ISO_NAMESPACE_PREFIX,
        ISO_NAMESPACE_PREFIX + "pacs.008",
        ISO_NAMESPACE_PREFIX + "PACS.008.001.08",
        ISO_NAMESPACE_PREFIX + "pacs.008.001.08.xyz",
        ISO_NAMESPACE_PREFIX + "fin.103",  # MT ids have no namespace
        ISO_NAMESPACE_PREFIX.upper() + "pacs.008.001.08",
        " " + ISO_NAMESPACE_PREFIX + "pacs.008.001.08",
        "urn:iso:std:iso:20022:tech:xsd:head.001.001.02:extra",
    ],
)
def test_from_namespace_returns_none_for_non_message_namespaces(namespace: str) -> None:
    assert MessageId.from_namespace(namespace) is None


def test_properties_of_an_mx_id() -> None:
    mid = MessageId("camt.053.001.08")
    assert mid.family == "mx"
    assert mid.business_area == "camt"
    assert mid.base == "camt.053.001"
    assert mid.namespace == "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def test_properties_of_a_fin_id_with_flag() -> None:
    mid = MessageId("fin.202.COV")
    assert (mid.family, mid.business_area, mid.base, mid.namespace) == (
        "mt",
        "fin",
        "fin.202.COV",
        None,
    )


def test_ids_are_frozen_hashable_and_ordered() -> None:
    a, b = MessageId("pacs.008.001.08"), MessageId("pacs.008.001.12")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.value = "pacs.009.001.08"  # type: ignore[misc]
    assert {a, MessageId("pacs.008.001.08")} == {a}
    assert a < b
    assert sorted([b, MessageId("camt.053.001.08"), a])[0] == MessageId("camt.053.001.08")
    assert a != "pacs.008.001.08"  # a MessageId is not its string


@given(mx_ids)
def test_generated_mx_ids_round_trip_through_their_namespace(text: str) -> None:
    mid = MessageId.parse(text)
    assert str(mid) == text
    assert mid.family == "mx"
    assert mid.business_area == text[:4]
    assert mid.base == text[:-3]
    assert mid.namespace == ISO_NAMESPACE_PREFIX + text
    assert MessageId.from_namespace(mid.namespace) == mid


@given(st.text(max_size=24))
def test_arbitrary_text_either_parses_to_a_valid_id_or_raises(text: str) -> None:
    try:
        mid = MessageId(text)
    except ValueError:
        return
    # Whatever was accepted keeps a consistent shape.
    assert mid.family in {"mx", "mt"}
    assert mid.business_area == ("fin" if mid.family == "mt" else text[:4])
