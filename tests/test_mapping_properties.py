"""Property-based: generated pacs.008.001.08 messages map value-for-value to events."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.events import PaymentEvent
from gateway.pipeline import Gateway
from gateway.report import Outcome

NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"

# Text the XSD accepts for MaxNText: no leading/trailing whitespace worries (the XSD
# has no pattern on MaxNText); XML 1.0 forbids most control characters.
xml_chars = st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc"))
text = st.text(alphabet=xml_chars, min_size=1, max_size=35)
bic = st.from_regex(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?", fullmatch=True)
currency = st.from_regex(r"[A-Z]{3}", fullmatch=True)
amount = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999"), places=2)
uetr = st.uuids(version=4).map(str)

transaction = st.fixed_dictionaries(
    {
        "e2e": text,
        "amount": amount,
        "ccy": currency,
        "debtor": st.text(alphabet=xml_chars, min_size=1, max_size=140),
        "creditor_bic": bic,
        "uetr": st.one_of(st.none(), uetr),
        "ustrd": st.lists(text, max_size=3),
    }
)


def _el(
    parent: etree._Element, name: str, value: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{name}", **attrs)
    if value is not None:
        element.text = value
    return element


def build(msg_id: str, txs: list[dict[str, object]]) -> bytes:
    doc = etree.Element(f"{{{NS}}}Document", nsmap={None: NS})
    root = _el(doc, "FIToFICstmrCdtTrf")
    hdr = _el(root, "GrpHdr")
    _el(hdr, "MsgId", msg_id)
    _el(hdr, "CreDtTm", "2026-11-26T10:00:00Z")
    _el(hdr, "NbOfTxs", str(len(txs)))
    _el(_el(hdr, "SttlmInf"), "SttlmMtd", "INDA")
    for tx in txs:
        node = _el(root, "CdtTrfTxInf")
        pmt = _el(node, "PmtId")
        _el(pmt, "EndToEndId", str(tx["e2e"]))
        if tx["uetr"]:
            _el(pmt, "UETR", str(tx["uetr"]))
        _el(node, "IntrBkSttlmAmt", str(tx["amount"]), Ccy=str(tx["ccy"]))
        _el(node, "ChrgBr", "SHAR")
        _el(_el(node, "Dbtr"), "Nm", str(tx["debtor"]))
        _el(_el(_el(node, "DbtrAgt"), "FinInstnId"), "BICFI", "DEUTDEFFXXX")
        _el(_el(_el(node, "CdtrAgt"), "FinInstnId"), "BICFI", str(tx["creditor_bic"]))
        _el(_el(node, "Cdtr"), "Nm", "Creditor")
        if tx["ustrd"]:
            rmt = _el(node, "RmtInf")
            for line in tx["ustrd"]:  # type: ignore[attr-defined]
                _el(rmt, "Ustrd", line)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg_id=text, txs=st.lists(transaction, min_size=1, max_size=5))
def test_generated_messages_map_value_for_value(
    gateway: Gateway, msg_id: str, txs: list[dict[str, object]]
) -> None:
    result = gateway.inbound(build(msg_id, txs), rules=None)  # mapping only: data is random
    assert result.report.outcome is Outcome.ACCEPTED, result.report.findings
    assert len(result.events) == len(txs)
    for event, tx in zip(result.events, txs, strict=True):
        PaymentEvent.model_validate(event)
        assert event["group"]["message_id"] == msg_id
        assert event["ids"]["end_to_end_id"] == tx["e2e"]
        assert event["ids"].get("uetr") == tx["uetr"]
        assert event["amounts"]["interbank_settlement"] == {
            "value": str(tx["amount"]),
            "currency": tx["ccy"],
        }
        assert event["debtor"]["name"] == tx["debtor"]
        assert event["creditor_agent"]["bic"] == tx["creditor_bic"]
        assert event.get("remittance", {}).get("unstructured", []) == tx["ustrd"]
