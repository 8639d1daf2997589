"""The SEPA scheme packs (sepa-sct, sepa-inst): their checks, versions and limits.

Every rule's pass/fail fixture pair runs in :mod:`tests.test_rule_fixtures`; this
module tests the checks of :mod:`gateway.rules.sepa` on hand-made subjects (both
outcomes), the pack versions by message date (the SCT Inst maximum amount, the
country list), a tenant's own SCT Inst limit and when a tenant's packs apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.pipeline import Gateway, RuleSelection
from gateway.report import Report, Severity
from gateway.rules import CHECKS, Hit, Subject
from gateway.rules.sepa import involved_countries, latin_problem
from tests.conftest import FIXTURES

SCT = FIXTURES / "rules" / "sepa-sct"
INST = FIXTURES / "rules" / "sepa-inst"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
NS = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"


def _hits(check: str, subject: Subject, **params: Any) -> list[Hit]:
    return list(CHECKS[check].fn(subject, params))


def _events(*events: Mapping[str, Any]) -> Subject:
    return Subject("pacs.008.001.08", [dict(e) for e in events], [], mapped=True)


def _document(body: str) -> Subject:
    root = etree.fromstring(
        f'<Document xmlns="{NS}"><FIToFICstmrCdtTrf>{body}</FIToFICstmrCdtTrf></Document>'
    )
    return Subject("pacs.008.001.08", [], [], document=root)


def _judge(gateway: Gateway, payload: bytes, selection: RuleSelection) -> Report:
    return gateway.inbound(payload, rules=selection, received_at=NOW).report


def _codes(report: Report, prefix: str = "sepa_") -> list[str]:
    return [f.code for f in report.findings if f.code.startswith(prefix)]


# ---------------------------------------------------------------- the checks


def test_iban_country_accepts_scope_countries_and_names_the_others() -> None:
    subject = _events(
        {"debtor_account": {"iban": "DE89370400440532013000"},
         "creditor_account": {"iban": "ch9300762011623852957"}},
        {"debtor_account": {"iban": "DE89370400440532013000"},
         "creditor_account": {"iban": "TR330006100519786457841326"}},
    )  # fmt: skip
    [hit] = _hits("sepa_iban_country", subject, countries=["DE", "CH"])
    assert (hit.event, hit.field, hit.context) == (1, "creditor_account.iban", {"country": "TR"})
    assert "TR330006" not in hit.message  # the IBAN itself is never quoted
    assert (
        _hits("sepa_iban_country", subject, countries=["DE"], fields=["debtor_account.iban"]) == []
    )


def test_non_eea_rules_apply_only_when_a_non_eea_country_is_involved() -> None:
    address = {"postal_address": {"country": "DE", "address_lines": ["Alsterufer 12, Hamburg"]}}
    fields = [["debtor.postal_address.town_name", "debtor.postal_address.address_lines"]]
    eea = {"creditor_account": {"iban": "NL90RABO0318825407"}}
    swiss = {"creditor_account": {"iban": "CH9300762011623852957"}}
    jersey_bank = {**eea, "creditor_agent": {"bic": "RBOSJESHXXX"}}
    non_eea = ["CH", "JE"]
    assert _hits("sepa_non_eea_required", _events(eea), non_eea=non_eea, fields=fields) == []
    [hit] = _hits("sepa_non_eea_required", _events(swiss), non_eea=non_eea, fields=fields)
    assert hit.field == "debtor.postal_address.town_name"
    assert hit.context["non_eea"] == ["CH"]
    [hit] = _hits("sepa_non_eea_required", _events(jersey_bank), non_eea=non_eea, fields=fields)
    assert hit.context["non_eea"] == ["JE"]  # found by the BIC: Jersey uses GB IBANs
    # any one of the alternatives satisfies the item
    ok = _events({**swiss, "debtor": address})
    assert _hits("sepa_non_eea_required", ok, non_eea=non_eea, fields=fields) == []
    assert involved_countries({**swiss, "debtor_agent": {"bic": "COBADEFFXXX"}}) == {"CH", "DE"}


def test_service_level_must_be_sepa_when_given() -> None:
    def level(*codes: str) -> dict[str, Any]:
        return {"payment_type": {"service_level": [{"code": c} for c in codes]}}

    subject = _events({}, level("SEPA"), level("NURG"), level("URGP", "SEPA"))
    hits = _hits("sepa_service_level", subject, codes=["SEPA"])
    assert [(h.event, h.context["service_level"]) for h in hits] == [(2, ["NURG"])]


def test_latin_character_set() -> None:
    assert latin_problem("Mueller + Soehne (Koeln) 12/A-3: ok? 'yes', .") is None
    assert latin_problem("Müller & Söhne") == "'&', 'ö', 'ü'"
    assert latin_problem("tab\there") == "U+0009"
    assert latin_problem("Müller", frozenset("ü")) is None


def test_charset_judges_every_text_of_the_document_with_named_relaxations() -> None:
    subject = _document(
        "<GrpHdr><MsgId>M-1</MsgId></GrpHdr>"
        "<CdtTrfTxInf><Cdtr><Nm>Åsa Öberg</Nm><CtctDtls><EmailAdr>a@b.se</EmailAdr>"
        "</CtctDtls></Cdtr></CdtTrfTxInf>"
    )
    hits = _hits("sepa_charset", subject)
    assert [etree.QName(h.element).localname for h in hits if h.element is not None] == [
        "Nm",
        "EmailAdr",
    ]
    assert _hits("sepa_charset", subject, extra="ÅÖö", exempt=["EmailAdr"]) == []
    assert _hits("sepa_charset", Subject("x", [], [])) == []  # no Document (MT): nothing


@pytest.mark.parametrize(
    ("value", "bad"),
    [("/INV4711", True), ("INV4711/", True), ("INV//4711", True), ("INV/2026/4711", False)],
)
def test_reference_slashes(value: str, bad: bool) -> None:
    subject = _document(
        f"<CdtTrfTxInf><PmtId><EndToEndId>{value}</EndToEndId></PmtId>"
        "<RmtInf><Ustrd>//free text is not a reference//</Ustrd></RmtInf>"
        "</CdtTrfTxInf>"
    )
    hits = _hits("sepa_reference_slashes", subject)
    assert [h.context["value"] for h in hits] == ([value] if bad else [])
    assert _hits("sepa_reference_slashes", subject, elements=["TxId"]) == []


# ---------------------------------------------------------------- the packs


def _with(path: Path, *swaps: tuple[str, str]) -> bytes:
    text = path.read_text(encoding="utf-8")
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def _dated(path: Path, day: str, amount: str | None = None) -> bytes:
    """A pacs.008 fixture created (and settled, accepted) on ``day``."""
    text = path.read_text(encoding="utf-8")
    for old in ("2026-11-26", "2025-06-16"):
        text = text.replace(old, day)
    if amount is not None:
        old_amount = text.split('<IntrBkSttlmAmt Ccy="EUR">')[1].split("<")[0]
        text = text.replace(f">{old_amount}<", f">{amount}<")
    return text.encode()


@pytest.mark.parametrize(
    ("day", "amount", "version", "exceeds"),
    [
        ("2023-11-19", "100000.01", "2023", True),  # the first 2019-message rulebook
        ("2025-10-04", "100000.00", "2023", False),  # the maximum itself is allowed
        ("2025-10-04", "100000.01", "2023", True),  # last day of the EUR 100,000 maximum
        ("2025-10-05", "100000.01", "2025", False),  # 2025 rulebook: no scheme maximum
        ("2026-11-26", "999999999.99", "2025", False),
        ("2026-11-26", "1000000000.00", "2025", True),  # the IGs' amount format maximum
    ],
)
def test_the_sct_inst_maximum_follows_the_rulebook_in_force(
    gateway: Gateway, day: str, amount: str, version: str, exceeds: bool
) -> None:
    payload = _dated(INST / "sepa_inst.max_amount.pass.xml", day, amount)
    report = _judge(gateway, payload, RuleSelection(packs=("sepa-inst",)))
    used = [u.version for u in report.judged_by if u.id == "sepa-inst"]
    assert used == [version]
    assert ("sepa_inst.max_amount" in _codes(report)) is exceeds


def test_a_tenant_sets_its_own_sct_inst_limit_below_the_scheme(gateway: Gateway) -> None:
    payload = _dated(INST / "sepa_inst.max_amount.pass.xml", "2026-11-26", "60000.00")
    own = RuleSelection(
        packs=("sepa-inst",), overrides={"sepa_inst.max_amount": {"limit": "50000"}}
    )
    [hit] = [f for f in _judge(gateway, payload, own).findings if f.code == "sepa_inst.max_amount"]
    assert "participant limit of 50000 EUR" in hit.message
    assert hit.context["participant_limit"] == "50000"
    assert hit.context["participant_limit_capped"] is False
    assert hit.iso_reason == "AM02"
    below = _dated(INST / "sepa_inst.max_amount.pass.xml", "2026-11-26", "50000.00")
    assert "sepa_inst.max_amount" not in _codes(_judge(gateway, below, own))
    # under the 2023 rulebook a tenant limit above EUR 100,000 cannot lift the scheme's
    old = _dated(INST / "sepa_inst.max_amount.pass.xml", "2025-06-16", "150000.00")
    high = RuleSelection(
        packs=("sepa-inst",), overrides={"sepa_inst.max_amount": {"limit": "250000"}}
    )
    [hit] = [f for f in _judge(gateway, old, high).findings if f.code == "sepa_inst.max_amount"]
    assert hit.context["participant_limit_capped"] is True
    assert "scheme maximum of 100000 EUR" in hit.message


@pytest.mark.parametrize("pack", ["sepa-sct", "sepa-inst"])
def test_the_country_list_follows_the_pack_version(gateway: Gateway, pack: str) -> None:
    folder, prefix = (SCT, "sepa_sct") if pack == "sepa-sct" else (INST, "sepa_inst")
    albania = folder / f"{prefix}.iban_country.pass.xml"
    rule = f"{prefix}.iban_country"
    before = _judge(gateway, _dated(albania, "2025-10-04"), RuleSelection(packs=(pack,)))
    after = _judge(gateway, _dated(albania, "2025-10-05"), RuleSelection(packs=(pack,)))
    assert rule in _codes(before)
    assert rule not in _codes(after)
    # Albania is a non-EEA SEPA country since then: the debtor's address is required
    no_address = _with(albania, ("<TwnNm>Hamburg</TwnNm>", ""), ("<Ctry>DE</Ctry>", ""))
    report = _judge(gateway, no_address, RuleSelection(packs=(pack,)))
    assert _codes(report) == [f"{prefix}.non_eea_debtor_address"]


def test_a_tenant_pack_judges_only_the_messages_it_matches(gateway: Gateway) -> None:
    inst = (INST / "sepa_inst.currency.pass.xml").read_bytes()
    sct = (SCT / "sepa_sct.currency.pass.xml").read_bytes()
    fednow = (FIXTURES / "rules/fednow/fednow.currency.pass.xml").read_bytes()

    def packs(payload: bytes, *names: str) -> list[str]:
        report = _judge(gateway, payload, RuleSelection(tenant_packs=names))
        return [u.id for u in report.judged_by if u.kind == "rule_pack"]

    assert packs(inst, "sepa-inst") == ["business", "sepa-inst"]
    assert packs(sct, "sepa-inst") == ["business"]  # SEPA but not INST
    assert packs(sct, "sepa-sct") == ["business", "sepa-sct"]
    assert packs(fednow, "sepa-sct", "sepa-inst") == ["business"]


def test_clean_initiations_pass_in_both_message_versions(gateway: Gateway) -> None:
    pain09 = (SCT / "sepa_sct.payment_method.pass.xml").read_bytes()
    pain03 = _with(
        SCT / "sepa_sct.payment_method.fail-pain03.xml",
        ("<PmtMtd>TRA</PmtMtd>", "<PmtMtd>TRF</PmtMtd>"),
    )
    inst09 = (INST / "sepa_inst.local_instrument.pass-pain001.xml").read_bytes()
    for payload, pack in ((pain09, "sepa-sct"), (pain03, "sepa-sct"), (inst09, "sepa-inst")):
        report = _judge(gateway, payload, RuleSelection(packs=(pack,)))
        assert [f.code for f in report.findings] == []
        assert report.transaction_count == 1


@pytest.mark.parametrize("name", ["sepa-sct", "sepa-inst"])
def test_versions_of_a_pack_agree_on_their_rules(gateway: Gateway, name: str) -> None:
    assert gateway.rules is not None
    versions = gateway.rules.packs.versions(name)
    assert [v.version for v in versions] == ["2023", "2025"]
    assert [v.effective_from for v in versions] == [date(2023, 11, 19), date(2025, 10, 5)]
    shapes = [{(r.id, r.check, r.severity, r.iso_reason) for r in v.rules} for v in versions]
    assert shapes[0] == shapes[1]
    for version in versions:
        assert version.reference and version.messages == (
            "pacs.008.001.08",
            "pain.001.001.09",
            "pain.001.001.03",
        )
        for rule in version.rules:
            assert "IG" in rule.description or "rulebook" in rule.description, rule.id
            assert rule.severity is Severity.ERROR or rule.id.endswith("charset_initiation")
