"""The FedNow scheme pack: its checks, the network limit by date, a participant's own
limit, and the FedNow Service samples of ../shared/samples.

Every rule's pass/fail fixture pair runs in :mod:`tests.test_rule_fixtures`; the
samples (pacs.008, pacs.009, pacs.002, camt.056, camt.029, head.001) run here when
``../shared/samples`` is present (their schemas come from there too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.errors import ConfigError
from gateway.pipeline import Gateway, RuleSelection
from gateway.report import Report, Severity
from gateway.rules import CHECKS, Header, Hit, Subject, Value
from gateway.rules.fednow import effective_limit, routing_number_problem
from tests.conftest import FIXTURES, SAMPLES, samples_available

RULES = FIXTURES / "rules" / "fednow"
CLEAN = RULES / "fednow.max_amount.pass.xml"  # USD 5,000,000.00 on 26 November 2026
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
FEDNOW = RuleSelection(packs=("fednow",))

needs_samples = pytest.mark.skipif(not samples_available(), reason="../shared/samples absent")


def _hits(check: str, subject: Subject, **params: Any) -> list[Hit]:
    return list(CHECKS[check].fn(subject, params))


def _events(*events: Mapping[str, Any], message_id: str = "pacs.008.001.08") -> Subject:
    return Subject(message_id, [dict(e) for e in events], [], mapped=True)


def _judge(gateway: Gateway, payload: bytes, selection: RuleSelection = FEDNOW) -> Report:
    return gateway.inbound(payload, rules=selection, received_at=NOW).report


def _codes(report: Report) -> list[str]:
    return [f.code for f in report.findings if f.code.startswith("fednow.")]


def _payment(day: str, amount: str) -> bytes:
    """The clean FedNow pacs.008 fixture, created and settled on ``day``, for ``amount``."""
    text = CLEAN.read_text(encoding="utf-8").replace("2026-11-26", day)
    text = text.replace(">5000000.00<", f">{amount}<").replace("20261126", day.replace("-", ""))
    return text.encode()


# ---------------------------------------------------------------- routing numbers


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("021000021", None),
        ("011104238", None),
        ("021000022", "fails the ABA check digit (weights 3, 7, 1, modulo 10)"),
        ("02100002", "is not 9 digits"),
        ("0210000211", "is not 9 digits"),
        ("02100002A", "is not 9 digits"),
        ("", "is not 9 digits"),
    ],
)
def test_routing_numbers_need_nine_digits_and_the_aba_check_digit(
    text: str, problem: str | None
) -> None:
    assert routing_number_problem(text) == problem


def _member(code: str | None, member_id: str) -> str:
    system = f"<ClrSysId><Cd>{code}</Cd></ClrSysId>" if code else ""
    return f"<ClrSysMmbId>{system}<MmbId>{member_id}</MmbId></ClrSysMmbId>"


def test_only_usaba_member_ids_are_judged_as_routing_numbers() -> None:
    ns = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
    document = etree.fromstring(
        f'<Document xmlns="{ns}"><X>{_member("USABA", "021000022")}'
        f"{_member('CHAPS', '12345')}{_member(None, '1')}</X></Document>"
    )
    apphdr = etree.fromstring(
        '<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02">'
        f"<Fr>{_member(None, '12100035')}</Fr><To>{_member(None, '026009593')}</To></AppHdr>"
    )
    subject = Subject("pacs.008.001.08", [], [], document=document, header=Header(element=apphdr))
    hits = _hits("fednow_routing_numbers", subject)
    assert [h.context["member_id"] for h in hits] == ["021000022", "12100035"]
    # the AppHdr's unqualified member ids are judged unless told otherwise
    hits = _hits("fednow_routing_numbers", subject, apphdr_unqualified=False)
    assert [h.context["member_id"] for h in hits] == ["021000022"]
    assert _hits("fednow_routing_numbers", subject, clearing_systems=["CHAPS"]) != []


def test_agents_are_identified_by_usaba_member_ids() -> None:
    usaba = {"clearing_member": {"clearing_system": {"code": "USABA"}, "member_id": "021000021"}}
    other = {"clearing_member": {"clearing_system": {"code": "CACPA"}, "member_id": "1"}}
    event = {"instructing_agent": usaba, "debtor_agent": other, "creditor_agent": {"bic": "X"}}
    agents = ["instructing_agent", "debtor_agent", "creditor_agent"]
    hits = _hits("fednow_agent_clearing_ids", _events(event), agents=agents)
    assert [(h.field, h.context["clearing_system"]) for h in hits] == [
        ("debtor_agent.clearing_member", "CACPA"),
        ("creditor_agent.clearing_member", None),
    ]
    # agents per message id: pacs.009 names its financial institutions differently
    by_message = {"pacs.009.001.08": ["debtor_institution"], "pacs.008.001.08": agents[:1]}
    assert _hits("fednow_agent_clearing_ids", _events(event), agents=by_message) == []
    fi = _events({"debtor_institution": usaba}, message_id="pacs.009.001.08")
    assert _hits("fednow_agent_clearing_ids", fi, agents=by_message) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("20230604011104238Sc01Step1MsgId", True),
        ("20261126121000358F", True),  # 18 characters, the shortest
        ("20261126121000358", False),  # no sequence
        ("20261126121000358FX0000000000000000X", False),  # 36 characters
        ("2026112612100035-FX01", False),
        ("FX-2026-11-26-000417", False),
    ],
)
def test_message_ids_follow_the_fednow_pattern(value: str, ok: bool) -> None:
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.056.001.08"
    document = etree.fromstring(
        f'<Document xmlns="{ns}"><FIToFIPmtCxlReq><Assgnmt><Id>{value}</Id></Assgnmt>'
        "<Case><Id>not judged</Id></Case></FIToFIPmtCxlReq></Document>"
    )
    hits = _hits("fednow_message_id", Subject("camt.056.001.08", [], [], document=document))
    assert (hits == []) is ok


def test_settlement_amounts_are_in_usd() -> None:
    values = [
        Value("amount", "10.00", currency="USD", name="IntrBkSttlmAmt"),
        Value("amount", "10.00", currency="EUR", name="OrgnlIntrBkSttlmAmt"),
        Value("amount", "10.00", currency="EUR", name="DuePyblAmt"),  # remittance: any
    ]
    hits = _hits("fednow_settlement_currency", Subject("x", [], values), currency="USD")
    assert [h.context["currency"] for h in hits] == ["EUR"]
    assert "OrgnlIntrBkSttlmAmt" in hits[0].message


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("network_max", "limit", "applied", "capped"),
    [
        (None, None, None, False),
        ("500000", None, "500000", False),
        ("500000", "25000", "25000", False),
        ("500000", "500000", "500000", False),
        ("500000", "2000000", "500000", True),
        (None, "25000", "25000", False),
    ],
)
def test_a_participant_limit_lowers_the_network_maximum_never_raises_it(
    network_max: str | None, limit: str | None, applied: str | None, capped: bool
) -> None:
    def dec(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    assert effective_limit(dec(network_max), dec(limit)) == (dec(applied), capped)


def _amounts(*pairs: tuple[str, str]) -> Subject:
    return _events(
        *({"amounts": {"interbank_settlement": {"value": v, "currency": c}}} for v, c in pairs)
    )


def test_network_max_amount_judges_the_scheme_currency_only() -> None:
    subject = _amounts(("500000.00", "USD"), ("500000.01", "USD"), ("9000000", "EUR"))
    [hit] = _hits("network_max_amount", subject, currency="USD", network_max="500000")
    assert hit.event == 1
    assert hit.field == "amounts.interbank_settlement"
    assert hit.context == {"amount": "500000.01", "limit": "500000", "network_max": "500000"}
    # no network maximum and no participant limit: nothing to judge
    assert _hits("network_max_amount", subject, currency="USD", network_max=None) == []
    with pytest.raises(ConfigError, match="limit 'lots' is not a decimal amount"):
        _hits("network_max_amount", subject, currency="USD", limit="lots")


@pytest.mark.parametrize(
    ("day", "version", "network_max"),
    [
        ("2023-07-19", "2023-07", "500000"),  # before the launch: the first version judges
        ("2023-07-20", "2023-07", "500000"),
        ("2025-06-23", "2023-07", "500000"),
        ("2025-06-24", "2025-06", "1000000"),
        ("2025-10-31", "2025-06", "1000000"),
        ("2025-11-01", "2025-11", "10000000"),
        ("2026-11-26", "2025-11", "10000000"),
    ],
)
def test_the_network_limit_in_force_on_the_creation_date_judges(
    gateway: Gateway, day: str, version: str, network_max: str
) -> None:
    at_limit = _judge(gateway, _payment(day, f"{network_max}.00"))
    assert [u.version for u in at_limit.judged_by if u.id == "fednow"] == [version]
    assert _codes(at_limit) == []
    above = _judge(gateway, _payment(day, f"{network_max}.01"))
    [hit] = [f for f in above.findings if f.code == "fednow.max_amount"]
    assert hit.context["network_max"] == network_max
    assert hit.iso_reason == "AM02"
    assert hit.location.xpath == "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/IntrBkSttlmAmt"


def test_a_tenant_sets_its_own_limit_below_the_network_maximum(gateway: Gateway) -> None:
    own = RuleSelection(packs=("fednow",), overrides={"fednow.max_amount": {"limit": "25000"}})
    [hit] = [
        f
        for f in _judge(gateway, _payment("2026-11-26", "25000.01"), own).findings
        if f.code == "fednow.max_amount"
    ]
    assert hit.message == "Amount 25000.01 USD exceeds the participant limit of 25000 USD."
    assert hit.context["participant_limit"] == "25000"
    assert hit.context["network_max"] == "10000000"
    assert _codes(_judge(gateway, _payment("2026-11-26", "25000.00"), own)) == []
    # the same override under the 2023 version: still the tenant's, lower, limit
    assert _codes(_judge(gateway, _payment("2024-05-02", "30000.00"), own)) == ["fednow.max_amount"]


def test_a_tenant_limit_above_the_network_maximum_is_capped(gateway: Gateway) -> None:
    high = RuleSelection(packs=("fednow",), overrides={"fednow.max_amount": {"limit": "2000000"}})
    # June 2025: network maximum USD 1,000,000
    report = _judge(gateway, _payment("2025-08-04", "1500000.00"), high)
    [hit] = [f for f in report.findings if f.code == "fednow.max_amount"]
    assert hit.context["participant_limit_capped"] is True
    assert hit.context["limit"] == "1000000"
    assert "the participant limit of 2000000 cannot raise it" in hit.message
    # since November 2025 the same tenant limit is below the network maximum and applies
    report = _judge(gateway, _payment("2026-11-26", "2000000.01"), high)
    [hit] = [f for f in report.findings if f.code == "fednow.max_amount"]
    assert hit.context["participant_limit_capped"] is False


def test_the_fednow_pack_applies_to_fdn_payments_only(gateway: Gateway) -> None:
    tenant = RuleSelection(tenant_packs=("fednow",))
    fednow = _judge(gateway, CLEAN.read_bytes(), tenant)
    assert [u.id for u in fednow.judged_by if u.kind == "rule_pack"] == ["business", "fednow"]
    fedwire = (RULES / "fednow.clearing_system.fail.xml").read_bytes()  # ClrSys FDW
    sepa = (FIXTURES / "rules/sepa-sct/sepa_sct.currency.pass.xml").read_bytes()
    for payload in (fedwire, sepa):
        report = _judge(gateway, payload, tenant)
        assert [u.id for u in report.judged_by if u.kind == "rule_pack"] == ["business"]


def test_versions_differ_only_in_the_network_limit(gateway: Gateway) -> None:
    assert gateway.rules is not None
    versions = gateway.rules.packs.versions("fednow")
    assert [(v.version, v.effective_from) for v in versions] == [
        ("2023-07", date(2023, 7, 20)),
        ("2025-06", date(2025, 6, 24)),
        ("2025-11", date(2025, 11, 1)),
    ]
    limits = [
        r.params["network_max"] for v in versions for r in v.rules if r.id.endswith("max_amount")
    ]
    assert limits == ["500000", "1000000", "10000000"]

    def shape(rules: Any) -> list[Any]:
        def params(rule: Any) -> dict[str, Any]:
            return {k: v for k, v in rule.params.items() if k != "network_max"}

        return [(r.id, r.check, r.severity, r.iso_reason, r.messages, params(r)) for r in rules]

    assert shape(versions[0].rules) == shape(versions[1].rules) == shape(versions[2].rules)
    assert all(r.severity is Severity.ERROR and r.iso_reason for r in versions[0].rules)


# ---------------------------------------------------------------- FedNow Service samples


def _sample(message_id: str, stem: str) -> Path:
    return SAMPLES / "mx" / message_id / f"moov-fednow__{stem}.xml"


SAMPLE_FILES = [
    ("pacs.008.001.08", "CustomerCreditTransfer_Scenario1_Step1_pacs.008"),
    ("pacs.009.001.08", "FICreditTransfer_Scenario1_Step1_pacs.009"),
    ("pacs.002.001.10", "CustomerCreditTransfer_Scenario1_Step4_pacs.002_BankA"),
    ("camt.056.001.08", "PaymentReturn_Scenario1_Step2_camt.056"),
    ("camt.029.001.09", "PaymentReturn_Scenario1_Step3_camt.029"),
]


@needs_samples
@pytest.mark.parametrize(("message_id", "stem"), SAMPLE_FILES, ids=[s[0] for s in SAMPLE_FILES])
def test_fednow_samples_pass_the_fednow_pack(gateway: Gateway, message_id: str, stem: str) -> None:
    report = _judge(gateway, _sample(message_id, stem).read_bytes())
    assert report.message_id == message_id
    errors = [(f.code, f.location.xpath) for f in report.findings if f.severity is Severity.ERROR]
    assert errors == []
    # only the business pack's warnings on their 2023 dates (every sample maps, pacs.002
    # too; the camt.056 reason originator's CtctDtls/PrefrdMtd has no canonical field)
    assert {f.code for f in report.findings} <= {
        "business.date_too_far_in_past",
        "mapping.unmapped",
    }
    unmapped = [f.location.xpath or "" for f in report.findings if f.code == "mapping.unmapped"]
    assert all(xpath.endswith("/CtctDtls/PrefrdMtd") for xpath in unmapped), unmapped
    assert [u.id for u in report.judged_by if u.kind == "rule_pack"] == ["business", "fednow"]


@needs_samples
def test_the_samples_payments_are_judged_by_the_2023_limit(gateway: Gateway) -> None:
    # pacs.008 of 4 June 2023 for USD 51.74; the pacs.009 of 13 July 2023 moves exactly
    # USD 500,000 (the network limit applies to credit transfers, pacs.008)
    report = _judge(gateway, _sample(*SAMPLE_FILES[0]).read_bytes())
    assert [u.version for u in report.judged_by if u.id == "fednow"] == ["2023-07"]
    assert report.transaction_count == 1


@needs_samples
def test_the_sample_apphdr_and_document_together_pass(gateway: Gateway) -> None:
    apphdr = _sample("head.001.001.02", "CustomerCreditTransfer_Scenario1_Step1_head.001")
    document = _sample(*SAMPLE_FILES[0])

    def body(path: Path) -> str:
        return path.read_text(encoding="utf-8").split("?>", 1)[-1].strip()

    envelope = (
        f'<BizMsgEnvlp xmlns="urn:example:envelope">{body(apphdr)}{body(document)}</BizMsgEnvlp>'
    )
    report = _judge(gateway, envelope.encode())
    assert [f.code for f in report.findings if f.severity is Severity.ERROR] == []
    broken = envelope.replace("<MmbId>021150706</MmbId>", "<MmbId>021150705</MmbId>")
    [hit] = [f for f in _judge(gateway, broken.encode()).findings if f.severity is Severity.ERROR]
    assert (hit.code, hit.location.xpath) == (
        "fednow.routing_number",
        "/AppHdr/To/FIId/FinInstnId/ClrSysMmbId/MmbId",
    )


BROKEN = [
    # (sample, change, the rule that must catch it)
    (0, ("<MmbId>021040078</MmbId>", "<MmbId>021040079</MmbId>"), "fednow.routing_number"),
    (0, ('Ccy="USD">51.74', 'Ccy="CAD">51.74'), "fednow.currency"),
    (0, ("<Cd>FDN</Cd>", "<Cd>FDW</Cd>"), "fednow.clearing_system"),
    (0, (">51.74<", ">750000.00<"), "fednow.max_amount"),
    (1, ("LclInstrm>", "CtgyPurp>"), "fednow.required"),  # LMT1 as a category purpose
    (1, ("<MmbId>231981435</MmbId>", "<MmbId>23198143</MmbId>"), "fednow.routing_number"),
    (1, ("<Cd>USABA</Cd>", "<Cd>CACPA</Cd>"), "fednow.agent_routing"),
    (1, ("<MsgId>20230713021307481FISc01Step1MsgId</MsgId>", "<MsgId>FI-1</MsgId>"),
     "fednow.message_id"),
    (2, ("<MmbId>011104238</MmbId>", "<MmbId>011104239</MmbId>"), "fednow.routing_number"),
    (3, ('Ccy="USD"', 'Ccy="EUR"'), "fednow.currency"),
    (3, ("<Id>20230604011104238Sc01RTStep2MsgId</Id>", "<Id>RT-STEP-2</Id>"),
     "fednow.message_id"),
    (4, ("<MmbId>021040078</MmbId>", "<MmbId>21040078</MmbId>"), "fednow.routing_number"),
]  # fmt: skip


@needs_samples
@pytest.mark.parametrize(("index", "change", "rule"), BROKEN)
def test_deliberately_broken_samples_fail_on_the_right_rule(
    gateway: Gateway, index: int, change: tuple[str, str], rule: str
) -> None:
    text = _sample(*SAMPLE_FILES[index]).read_text(encoding="utf-8")
    assert change[0] in text
    report = _judge(gateway, text.replace(change[0], change[1]).encode())
    errors = {f.code for f in report.findings if f.severity is Severity.ERROR}
    assert rule in errors
    assert errors <= {rule, "business.currency_code"}
