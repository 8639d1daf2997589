"""The mapping vocabulary (spec) and the engine, on small hand-written mappings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.errors import MappingError
from gateway.events import PaymentEvent
from gateway.mapping import map_inbound
from gateway.mapping.spec import load_mapping

NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"

MAPPING = """
mapping: pain.001.001.09
version: 7
event_type: test.event
document: Root
templates:
  party:
    name: Nm
    postal_address:
      path: PstlAdr
      fields: {country: Ctry, address_lines: {path: AdrLine, many: true}}
fields:
  group.message_id: {path: Hdr/MsgId, required: true}
  group.batch_booking: {path: Hdr/Btch, type: bool}
  charge_bearer: Hdr/ChrgBr
each:
  path: Blk
  fields:
    ids.payment_information_id: Id
    debtor: {path: Dbtr, template: party}
    charge_bearer: {path: ChrgBr, codes: {SLEV: SLEV, SHAR: SHAR}}
  each:
    path: Tx
    fields:
      ids.end_to_end_id: {path: E2E, required: true}
      amounts.instructed: {path: Amt, type: amount, required: true}
      remittance.unstructured: {path: Ustrd, many: true}
"""


def write(tmp_path: Path, text: str, name: str = "pain.001.001.09.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def doc(body: str) -> etree._Element:
    return etree.fromstring(f'<Document xmlns="{NS}"><Root>{body}</Root></Document>'.encode())


BODY = """
<Hdr><MsgId>M1</MsgId><Btch>true</Btch><ChrgBr>DEBT</ChrgBr></Hdr>
<Blk><Id>B1</Id><Dbtr><Nm>Acme</Nm><PstlAdr><Ctry>DE</Ctry><AdrLine>l1</AdrLine><AdrLine>l2</AdrLine></PstlAdr></Dbtr>
  <Tx><E2E>E1</E2E><Amt Ccy="EUR">1.50</Amt><Ustrd>a</Ustrd><Ustrd>b</Ustrd></Tx>
  <Tx><E2E>E2</E2E><Amt Ccy="EUR">2</Amt><Extra>x</Extra></Tx>
</Blk>
<Blk><Id>B2</Id><ChrgBr>SLEV</ChrgBr><Tx><E2E>E3</E2E><Amt Ccy="USD">3</Amt></Tx></Blk>
"""


def run(tmp_path: Path, body: str = BODY):  # type: ignore[no-untyped-def]
    mapping = load_mapping(write(tmp_path, MAPPING))
    return map_inbound(
        doc(body),
        mapping,
        seed="s",
        source={"message_id": "pain.001.001.09", "payload_sha256": "0"},
    )


def test_events_per_innermost_element_with_inherited_and_overridden_values(tmp_path: Path) -> None:
    result = run(tmp_path)
    events = result.events
    assert [e["ids"]["end_to_end_id"] for e in events] == ["E1", "E2", "E3"]
    assert [e["source"]["transaction_index"] for e in events] == [0, 1, 2]
    assert events[0]["group"] == {"message_id": "M1", "batch_booking": True}
    assert events[0]["ids"]["payment_information_id"] == "B1"
    assert events[0]["debtor"] == {
        "name": "Acme",
        "postal_address": {"country": "DE", "address_lines": ["l1", "l2"]},
    }
    assert events[0]["amounts"]["instructed"] == {"value": "1.50", "currency": "EUR"}
    assert events[0]["remittance"]["unstructured"] == ["a", "b"]
    assert events[0]["charge_bearer"] == "DEBT"  # from the header
    assert events[2]["charge_bearer"] == "SLEV"  # block value overrides the header value
    assert events[2]["ids"] == {"payment_information_id": "B2", "end_to_end_id": "E3"}
    assert events[0]["source"]["mapping"] == "pain.001.001.09@7"
    for event in events:
        PaymentEvent.model_validate(event)


def test_unconsumed_elements_are_reported_once_per_path_with_count(tmp_path: Path) -> None:
    body = BODY.replace("<Extra>x</Extra>", "<Extra>x</Extra><Extra>y</Extra>")
    result = run(tmp_path, body)
    unmapped = [f for f in result.findings if f.code == "mapping.unmapped"]
    assert [f.location.xpath for f in unmapped] == ["/Document/Root/Blk/Tx/Extra"]
    assert unmapped[0].context == {"count": 2}
    assert unmapped[0].location.line is not None


def test_a_second_value_for_a_single_field_is_not_silently_dropped(tmp_path: Path) -> None:
    body = BODY.replace("<Id>B1</Id>", "<Id>B1</Id><Id>B1bis</Id>")
    result = run(tmp_path, body)
    unmapped = {f.location.xpath: f for f in result.findings if f.code == "mapping.unmapped"}
    assert "/Document/Root/Blk/Id" in unmapped


def test_missing_mandatory_is_a_finding_not_a_default(tmp_path: Path) -> None:
    body = BODY.replace("<E2E>E2</E2E>", "")
    result = run(tmp_path, body)
    missing = [f for f in result.findings if f.code == "mapping.missing_mandatory"]
    assert [f.location.xpath for f in missing] == ["/Document/Root/Blk/Tx/E2E"]
    assert missing[0].severity.value == "error"
    assert "end_to_end_id" not in result.events[1].get("ids", {})


def test_value_outside_a_code_map_is_an_invalid_value(tmp_path: Path) -> None:
    result = run(tmp_path, BODY.replace("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>CRED</ChrgBr>"))
    codes = [f.code for f in result.findings]
    assert "mapping.invalid_value" in codes
    assert result.events[2]["charge_bearer"] == "DEBT"  # nothing invented: the header value stands


def test_bad_boolean_and_amount_without_currency(tmp_path: Path) -> None:
    body = BODY.replace("<Btch>true</Btch>", "<Btch>yes</Btch>").replace('Ccy="USD"', "")
    result = run(tmp_path, body)
    invalid = [f.location.xpath for f in result.findings if f.code == "mapping.invalid_value"]
    assert invalid == ["/Document/Root/Hdr/Btch", "/Document/Root/Blk/Tx/Amt"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version: 7", "version: 7\nsurprise: 1"), "unknown top-level key"),
        (("charge_bearer: Hdr/ChrgBr", "no_such_field: Hdr/ChrgBr"), "not a canonical field"),
        (
            (
                "remittance.unstructured: {path: Ustrd, many: true}",
                "remittance.unstructured: Ustrd",
            ),
            "'many' must be true",
        ),
        (("template: party", "template: nobody"), "unknown template"),
        (("type: bool", "type: float"), "is not one of"),
        (("type: bool", "type: amount"), "does not fit"),
        (("{path: E2E, required: true}", "{path: E2E, requird: true}"), "unknown key"),
        (("path: Tx", "paths: Tx"), "unknown key"),
        (("ids.end_to_end_id: {path: E2E", "ids: {path: E2E"), "not an object|does not fit"),
        (("{path: Hdr/MsgId, required: true}", "{path: /Hdr/MsgId}"), "relative element path"),
        (("{path: Hdr/MsgId, required: true}", "{path: 'Hdr/Msg Id'}"), "invalid step"),
    ],
)
def test_spec_errors_name_file_and_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in MAPPING
    path = write(tmp_path, MAPPING.replace(old, new, 1))
    with pytest.raises(MappingError, match=message) as info:
        load_mapping(path)
    assert "pain.001.001.09.yaml" in str(info.value)


def test_recursive_template_is_refused(tmp_path: Path) -> None:
    looping = MAPPING.replace(
        "templates:\n", "templates:\n  a:\n    postal_address: {path: P, template: a}\n", 1
    ).replace("debtor: {path: Dbtr, template: party}", "debtor: {path: Dbtr, template: a}")
    with pytest.raises(MappingError, match="recursive"):
        load_mapping(write(tmp_path, looping))


def test_file_name_must_match_mapping_id(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"must be pain\.001\.001\.09\.yaml"):
        load_mapping(write(tmp_path, MAPPING, name="other.yaml"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    blocks=st.lists(
        st.lists(
            st.tuples(
                st.from_regex(r"[A-Za-z0-9]{1,35}", fullmatch=True),
                st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
            ),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_every_transaction_becomes_exactly_one_event(
    tmp_path: Path, blocks: list[list[tuple[str, object]]]
) -> None:
    body = "<Hdr><MsgId>M</MsgId></Hdr>" + "".join(
        "<Blk>"
        + "".join(f'<Tx><E2E>{e2e}</E2E><Amt Ccy="EUR">{amt}</Amt></Tx>' for e2e, amt in txs)
        + "</Blk>"
        for txs in blocks
    )
    result = run(tmp_path, body)
    flat = [tx for txs in blocks for tx in txs]
    assert [e["ids"]["end_to_end_id"] for e in result.events] == [e2e for e2e, _ in flat]
    assert [e["amounts"]["instructed"]["value"] for e in result.events] == [str(a) for _, a in flat]
    assert len({e["event_id"] for e in result.events}) == len(flat)
    assert not [f for f in result.findings if f.severity.value == "error"]


def test_inner_objects_replace_outer_ones_while_dotted_groups_merge(tmp_path: Path) -> None:
    text = MAPPING.replace(
        "  charge_bearer: Hdr/ChrgBr\n",
        "  charge_bearer: Hdr/ChrgBr\n  debtor: {path: Hdr/Dbtr, template: party}\n",
    )
    mapping = load_mapping(write(tmp_path, text))
    body = BODY.replace(
        "<ChrgBr>DEBT</ChrgBr></Hdr>",
        "<ChrgBr>DEBT</ChrgBr>"
        "<Dbtr><Nm>Group Co</Nm><PstlAdr><Ctry>FR</Ctry></PstlAdr></Dbtr></Hdr>",
    ).replace("<Dbtr><Nm>Acme</Nm><PstlAdr><Ctry>DE</Ctry>", "<Dbtr><PstlAdr><Ctry>DE</Ctry>")
    result = map_inbound(doc(body), mapping, seed="s", source={})
    first, _, third = result.events
    # block B1 has its own debtor (no name): it replaces the group's, no blending
    assert first["debtor"] == {"postal_address": {"country": "DE", "address_lines": ["l1", "l2"]}}
    assert third["debtor"] == {"name": "Group Co", "postal_address": {"country": "FR"}}
    # dotted targets from both levels merge
    assert first["ids"] == {"payment_information_id": "B1", "end_to_end_id": "E1"}
    assert first["group"]["message_id"] == "M1"


def test_a_required_object_that_is_present_but_empty_is_not_missing(tmp_path: Path) -> None:
    # The XSD decides whether an element may be empty (pacs.008 accepts <Dbtr/>): the
    # mapping does not second-guess it; absent is what "missing" means.
    text = MAPPING.replace(
        "debtor: {path: Dbtr, template: party}",
        "debtor: {path: Dbtr, template: party, required: true}",
    )
    mapping = load_mapping(write(tmp_path, text))
    body = BODY.replace(
        "<Dbtr><Nm>Acme</Nm><PstlAdr><Ctry>DE</Ctry><AdrLine>l1</AdrLine><AdrLine>l2</AdrLine></PstlAdr></Dbtr>",
        "<Dbtr/>",
    )
    result = map_inbound(doc(body), mapping, seed="s", source={})
    missing = [f.location.xpath for f in result.findings if f.code == "mapping.missing_mandatory"]
    assert missing == ["/Document/Root/Blk/Dbtr"]  # only block B2, which has no Dbtr at all
    assert "debtor" not in result.events[0]
