"""The rule framework: pack files, version selection, matching, locating, limits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.errors import ConfigError
from gateway.pipeline import Gateway, RuleSelection
from gateway.report import Layer, Severity
from gateway.rules import Header, PackRegistry, RuleEngine, Subject, load_pack
from gateway.rules.engine import MAX_HITS_PER_RULE
from gateway.settings import Settings
from tests.conftest import FIXTURES

PACS008 = FIXTURES / "mx/pacs.008.001.08/valid"
PAIN001 = FIXTURES / "mx/pain.001.001.09/valid"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _pack(folder: Path, name: str, body: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def _business(rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"pack": "business", "version": "t1", "layer": "business", "title": "t", **extra,
            "rules": rules}  # fmt: skip


def _rule(rule_id: str, check: str, **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "check": check, "description": "test rule", "iso_reason": "CH16",
            **extra}  # fmt: skip


def _gateway(base: Gateway, packs: Path) -> Gateway:
    return Gateway(base.settings, base.schemas, base.mappings, RuleEngine(PackRegistry.load(packs)))


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        (_rule("business.x", "no_such_check"), "unknown check 'no_such_check'"),
        (_rule("business.x", "required_fields"), "missing parameter(s) fields"),
        (_rule("business.x", "max_amount", params={"limits": {}, "cap": 1}), "takes no parameter"),
        ({**_rule("business.x", "max_transactions", params={"max": 1}), "iso_reason": None},
         "a rejecting rule needs an iso_reason"),
        (_rule("business.x", "max_transactions", params={"max": 1}, iso_reason="ZZ99"),
         "not a listed ExternalStatusReason1Code"),
        (_rule("Business X", "max_transactions", params={"max": 1}), "id"),
        (_rule("business.x", "max_transactions", params={"max": 1}, messages=["pacs.8"]),
         "messages"),
    ],
)  # fmt: skip
def test_bad_pack_files_are_rejected_naming_the_problem(
    tmp_path: Path, rule: dict[str, Any], error: str
) -> None:
    path = _pack(tmp_path, "bad", _business([rule]))
    with pytest.raises(ConfigError) as info:
        load_pack(path)
    assert str(path) in info.value.message
    assert error in info.value.message


def test_a_rule_id_belongs_to_one_pack_and_versions_are_unique(tmp_path: Path) -> None:
    rule = _rule("business.max", "max_transactions", params={"max": 1})
    _pack(tmp_path, "a", _business([rule]))
    _pack(tmp_path, "b", {**_business([rule]), "pack": "other", "layer": "scheme"})
    with pytest.raises(ConfigError, match="defined by packs"):
        PackRegistry.load(tmp_path)
    (tmp_path / "b.yaml").unlink()
    _pack(tmp_path, "c", _business([]))
    with pytest.raises(ConfigError, match="version t1 defined twice"):
        PackRegistry.load(tmp_path)


def test_unknown_pack_names_the_known_ones(tmp_path: Path) -> None:
    _pack(tmp_path, "a", _business([]))
    registry = PackRegistry.load(tmp_path)
    with pytest.raises(ConfigError, match="unknown rule pack 'nope'; known: business"):
        registry.resolve("nope", date(2026, 1, 1))


def test_the_version_in_force_on_the_message_date_judges_it(tmp_path: Path) -> None:
    for version, start in (("2024", "2024-11-17"), ("2025", "2025-11-16")):
        _pack(tmp_path, version, _business([], version=version, effective_from=start))
    registry = PackRegistry.load(tmp_path)
    assert registry.resolve("business", date(2025, 11, 15)).version == "2024"
    assert registry.resolve("business", date(2025, 11, 16)).version == "2025"
    assert registry.resolve("business", date(2020, 1, 1)).version == "2024"  # before the first


def _subject(**extra: Any) -> Subject:
    event = {"group": {"creation_datetime": "2025-06-01T10:00:00"}}
    return Subject(message_id="pacs.008.001.08", events=[event], values=[], **extra)


def test_message_date_comes_from_the_group_header_then_the_apphdr_then_receipt() -> None:
    assert _subject().message_date == date(2025, 6, 1)
    header = Header(creation_date="2024-02-29T23:00:00Z")
    subject = Subject("pacs.008.001.08", [], [], header=header)
    assert subject.message_date == date(2024, 2, 29)
    assert Subject("x", [], [], received_at=NOW).message_date == date(2026, 11, 26)


def test_tenant_packs_apply_only_where_their_match_holds(tmp_path: Path) -> None:
    rule = _rule("scheme.one", "max_transactions", params={"max": 0})
    match = {"business_service": ["swift.cbprplus."]}
    body = {"pack": "scheme-x", "version": "1", "layer": "scheme", "title": "x", "match": match}
    _pack(tmp_path, "s", {**body, "rules": [rule]})
    engine = RuleEngine(PackRegistry.load(tmp_path))
    plain = _subject()
    cbpr = _subject(header=Header(business_service="swift.cbprplus.02"))
    assert engine.select(plain, tenant_packs=["scheme-x"]) == []
    assert [p.pack for p in engine.select(cbpr, tenant_packs=["scheme-x"])] == ["scheme-x"]
    # named explicitly (--pack): applied regardless of the match
    assert [p.pack for p in engine.select(plain, explicit=["scheme-x"])] == ["scheme-x"]


def test_rules_apply_only_to_their_messages_and_dates(tmp_path: Path) -> None:
    rules = [
        _rule("business.only_pain", "max_transactions", params={"max": 0},
              messages=["pain.001.001.09"]),
        _rule("business.later", "max_transactions", params={"max": 0},
              effective_from="2026-01-01"),
        _rule("business.always", "max_transactions", params={"max": 0}),
    ]  # fmt: skip
    _pack(tmp_path, "b", _business(rules))
    engine = RuleEngine(PackRegistry.load(tmp_path))
    subject = _subject(mapped=True)
    result = engine.run(subject, RuleSelection())
    assert [f.code for f in result.findings] == ["business.always"]
    assert [(u.kind, u.id, u.version) for u in result.applied] == [("rule_pack", "business", "t1")]


def test_findings_carry_rule_layer_reason_pack_and_element_location(
    gateway: Gateway, tmp_path: Path
) -> None:
    rule = _rule("business.iban_required", "required_fields", iso_reason="AC01",
                 params={"fields": ["creditor_account.iban"]})  # fmt: skip
    _pack(tmp_path, "b", _business([rule]))
    payload = (PAIN001 / "two_pmtinf_3tx.xml").read_bytes()
    # drop the creditor IBAN of the third transaction (second PmtInf block)
    cut = payload.replace(b"<IBAN>FR7630003036200005027481548</IBAN>", b"<Othr><Id>1</Id></Othr>")
    assert cut != payload
    report = _gateway(gateway, tmp_path).inbound(cut, received_at=NOW).report
    [hit] = [f for f in report.findings if f.code == "business.iban_required"]
    assert hit.rule == "business.iban_required"
    assert hit.layer is Layer.BUSINESS
    assert hit.severity is Severity.ERROR
    assert hit.iso_reason == "AC01"
    assert hit.context["pack"] == "business" and hit.context["pack_version"] == "t1"
    assert hit.context["transaction_index"] == 2
    # the nearest present element on the mapped path, in the right PmtInf block
    assert hit.location.xpath == "/Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf/CdtrAcct/Id"
    line = cut.decode().splitlines()[hit.location.line - 1]  # type: ignore[operator]
    assert "<Id>" in line
    assert report.outcome.value == "rejected"
    assert report.event_ids == []


def test_outer_scope_fields_are_located_in_their_own_block(
    gateway: Gateway, tmp_path: Path
) -> None:
    rule = _rule("business.no_debtor_iban", "forbidden_fields", severity="warning",
                 iso_reason=None, params={"fields": ["debtor_account.iban"]})  # fmt: skip
    _pack(tmp_path, "b", _business([rule]))
    payload = (PAIN001 / "two_pmtinf_3tx.xml").read_bytes()
    report = _gateway(gateway, tmp_path).inbound(payload, received_at=NOW).report
    hits = [f for f in report.findings if f.code == "business.no_debtor_iban"]
    assert [h.location.xpath for h in hits] == [
        "/Document/CstmrCdtTrfInitn/PmtInf[1]/DbtrAcct/Id/IBAN",
        "/Document/CstmrCdtTrfInitn/PmtInf[1]/DbtrAcct/Id/IBAN",
        "/Document/CstmrCdtTrfInitn/PmtInf[2]/DbtrAcct/Id/IBAN",
    ]
    assert report.outcome.value == "accepted_with_warnings"
    assert len(report.event_ids) == 3


def test_hits_per_rule_are_capped_and_counted(gateway: Gateway, tmp_path: Path) -> None:
    from tests.fixtures.generate_pain001 import generate

    rule = _rule(
        "business.no_iban", "forbidden_fields", params={"fields": ["creditor_account.iban"]}
    )
    _pack(tmp_path, "b", _business([rule]))
    report = _gateway(gateway, tmp_path).inbound(generate(150), received_at=NOW).report
    hits = [f for f in report.findings if f.code == "business.no_iban"]
    assert len(hits) == MAX_HITS_PER_RULE
    assert hits[-1].context["more_hits"] == 50


def test_overrides_replace_pack_parameters(gateway: Gateway, tmp_path: Path) -> None:
    rule = _rule(
        "business.cap", "max_amount", iso_reason="AM02", params={"limits": {"EUR": "1000000"}}
    )
    _pack(tmp_path, "b", _business([rule]))
    judged = _gateway(gateway, tmp_path)
    payload = (PACS008 / "three_transactions.xml").read_bytes()
    assert not [f for f in judged.inbound(payload).report.findings if f.code == "business.cap"]
    tight = RuleSelection(overrides={"business.cap": {"limits": {"EUR": "1000"}}})
    hits = [
        f for f in judged.inbound(payload, rules=tight).report.findings if f.code == "business.cap"
    ]
    assert hits and all(h.context["limit"] == "1000" for h in hits)


def test_schema_only_runs_no_rules(gateway: Gateway, tmp_path: Path) -> None:
    rule = _rule("business.max", "max_transactions", params={"max": 0})
    _pack(tmp_path, "b", _business([rule]))
    payload = (PACS008 / "three_transactions.xml").read_bytes()
    judged = _gateway(gateway, tmp_path)
    assert judged.inbound(payload).report.outcome.value == "rejected"
    report = judged.inbound(payload, rules=None).report
    assert report.outcome.value == "accepted"
    assert "rule_pack" not in {u.kind for u in report.judged_by}
    assert "rules" not in report.timings_ms


def test_the_packs_directory_is_configurable(tmp_path: Path) -> None:
    settings = Settings.from_env({"GATEWAY_PACKS_DIR": str(tmp_path)})
    assert settings.rule_packs_dir == tmp_path
    with pytest.raises(ConfigError, match="GATEWAY_PACKS_DIR"):
        PackRegistry.load(tmp_path / "missing")


def test_a_value_given_at_the_payment_block_is_located_there(
    gateway: Gateway, tmp_path: Path
) -> None:
    rule = _rule("business.no_chrgbr", "forbidden_fields", params={"fields": ["charge_bearer"]})
    _pack(tmp_path, "b", _business([rule]))
    fixture = FIXTURES / "rules/business/business.charge_bearer.pass.xml"
    report = _gateway(gateway, tmp_path).inbound(fixture.read_bytes(), received_at=NOW).report
    hits = [f for f in report.findings if f.code == "business.no_chrgbr"]
    assert hits
    assert {h.location.xpath for h in hits} == {"/Document/CstmrCdtTrfInitn/PmtInf/ChrgBr"}


def test_code_set_rules_warn_on_statements_and_reject_payments(gateway: Gateway) -> None:
    payload = (FIXTURES / "rules/areas/camt053_bad_codes.xml").read_bytes()
    report = gateway.inbound(payload, received_at=NOW).report
    found = {f.code: f for f in report.findings if f.layer is Layer.BUSINESS}
    assert set(found) == {"business.iban", "business.country_code"}
    assert all(f.severity is Severity.WARNING for f in found.values())
    assert found["business.iban"].iso_reason == "AC01"
    assert report.outcome.value == "accepted_with_warnings"
    assert gateway.rules is not None
    iban = next(
        r for r in gateway.rules.packs.versions("business")[-1].rules if r.id == "business.iban"
    )
    assert iban.severity_for("pacs.008.001.08") is Severity.ERROR
    assert iban.severity_for("camt.053.001.08") is Severity.WARNING


def test_severity_by_area_names_business_areas(tmp_path: Path) -> None:
    rule = _rule("business.x", "max_transactions", params={"max": 1},
                 severity_by_area={"Camt.053": "warning"})  # fmt: skip
    with pytest.raises(ConfigError, match="not an ISO 20022 business area"):
        load_pack(_pack(tmp_path, "b", _business([rule])))


@pytest.mark.parametrize(
    ("check", "params", "error"),
    [
        ("max_amount", {"limits": {"USD": "lots"}}, "'lots' is not a decimal amount"),
        ("max_amount", {"limits": {"usd": "10"}}, "'usd' is not a currency code"),
        ("max_amount", {"limits": {"USD": "-5"}}, "must be a positive amount"),
        ("max_transactions", {"max": "1"}, "must be an integer"),
        ("network_max_amount", {"currency": "USD", "limit": "1e"}, "parameter limit"),
        ("date_window", {"fields": ["dates.x"], "past_days": -1}, "parameter past_days"),
    ],
)
def test_parameter_values_are_checked_when_the_pack_loads(
    tmp_path: Path, check: str, params: dict[str, Any], error: str
) -> None:
    path = _pack(tmp_path, "b", _business([_rule("business.x", check, params=params)]))
    with pytest.raises(ConfigError, match=r"rule business\.x") as info:
        load_pack(path)
    assert error in info.value.message


def test_unless_keeps_a_pack_off_the_messages_another_pack_judges(gateway: Gateway) -> None:
    assert gateway.rules is not None
    engine = gateway.rules

    def event(*instruments: str) -> dict[str, Any]:
        local = {"local_instrument": {"code": instruments[0]}} if instruments else {}
        return {"payment_type": {"service_level": [{"code": "SEPA"}], **local}}

    def chosen(*instruments: str) -> list[str]:
        subject = Subject("pacs.008.001.08", [event(*instruments)], [], received_at=NOW)
        packs = engine.select(subject, tenant_packs=["sepa-sct", "sepa-inst"])
        return [p.pack for p in packs]

    assert chosen() == ["business", "sepa-sct"]
    assert chosen("INST") == ["business", "sepa-inst"]
    assert chosen("CORE") == ["business", "sepa-sct"]
