"""Tenant rules (gateway/rules/tenant_rules.py): the fixture pairs, each rule's edges,
relaxations, per-day totals in memory, the tenant file's ``rules`` section and its
check against the loaded packs.

The fixture pairs in ``tests/fixtures/rules/tenant/`` are judged as the tenant of
``TEST.yaml`` there, received at :data:`RECEIVED_AT` (the generic harness
``tests/test_rule_fixtures.py`` skips that folder: tenant rules need a tenant).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from gateway.daily_totals import DailyAmounts, DailyLimitExceeded, MemoryDailyTotals
from gateway.errors import ConfigError
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Layer, Outcome, Report, Severity
from gateway.rules import Pack, PackRegistry, RuleDef, RuleEngine, Subject, Value
from gateway.rules.model import CHECKS
from gateway.rules.tenant_rules import (
    RULE_AMOUNT,
    RULE_COUNTRY,
    RULE_CURRENCY,
    RULE_CUTOFF,
    RULE_DAILY,
    RULE_MESSAGE,
    CutoffWindow,
    business_day,
    tenant_pack,
)
from gateway.tenants import RELAXED_CODES, Relaxation, Tenant, TenantRegistry, add_key, load_tenant
from tests.conftest import FIXTURES, REPO

FOLDER = FIXTURES / "rules" / "tenant"
TEST_FILE = FOLDER / "TEST.yaml"
#: Thursday 13:00 in Europe/Berlin
RECEIVED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TENANT_RULES = (RULE_MESSAGE, RULE_CURRENCY, RULE_AMOUNT, RULE_DAILY, RULE_CUTOFF, RULE_COUNTRY)
RELAXATION_OF = {
    RULE_MESSAGE: Relaxation.MESSAGE_NOT_ALLOWED,
    RULE_CURRENCY: Relaxation.CURRENCY_NOT_ALLOWED,
    RULE_AMOUNT: Relaxation.AMOUNT_OVER_LIMIT,
    RULE_DAILY: Relaxation.DAILY_LIMIT_EXCEEDED,
    RULE_CUTOFF: Relaxation.AFTER_CUTOFF,
    RULE_COUNTRY: Relaxation.BLOCKED_COUNTRY,
}


def _tenant(**changes: Any) -> Tenant:
    """The fixture tenant, with top-level keys or ``rules`` keys replaced."""
    tenant = load_tenant(TEST_FILE)
    rules = changes.pop("rules", None)
    data = tenant.model_dump(mode="json")
    data.update(changes)
    if rules is not None:
        data["rules"] = {**data["rules"], **rules}
    return Tenant.model_validate(data)


def _judge(
    gateway: Gateway,
    tenant: Tenant,
    payload: bytes,
    *,
    at: datetime = RECEIVED_AT,
    totals: MemoryDailyTotals | None = None,
) -> InboundResult:
    spent = totals.lookup(tenant) if totals is not None else None
    result = gateway.inbound(
        payload,
        tenant=tenant.id,
        relaxed=tenant.relaxed_codes(),
        rules=tenant.rule_selection(spent=spent),
        received_at=at,
    )
    if totals is not None:
        totals.record(tenant, result)
    return result


def _errors(report: Report) -> list[str]:
    return [f.code for f in report.findings if f.severity is Severity.ERROR]


def _rule_id(path: Path) -> str:
    return path.name.split(".fail")[0].split(".pass")[0]


# -- the fixture pairs ----------------------------------------------------------------


def test_every_tenant_rule_has_a_fixture_pair_and_a_relaxation() -> None:
    pack = tenant_pack(load_tenant(TEST_FILE))
    assert [rule.id for rule in pack.rules] == list(TENANT_RULES)
    for rule_id in TENANT_RULES:
        for kind in ("fail", "pass"):
            assert list(FOLDER.glob(f"{rule_id}.{kind}*.xml")), f"{rule_id}.{kind}.xml missing"
        assert RELAXED_CODES[RELAXATION_OF[rule_id]] == {rule_id}


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.fail*.xml")), ids=lambda p: p.name)
def test_failing_fixture_fails_on_its_rule_only(gateway: Gateway, path: Path) -> None:
    rule_id = _rule_id(path)
    tenant = load_tenant(TEST_FILE)
    report = _judge(gateway, tenant, path.read_bytes()).report
    assert report.outcome is Outcome.REJECTED
    assert _errors(report) == [rule_id], [(f.code, f.message) for f in report.findings]
    [hit] = [f for f in report.findings if f.code == rule_id]
    defined = next(r for r in tenant_pack(tenant).rules if r.id == rule_id)
    assert hit.rule == rule_id
    assert hit.layer is Layer.TENANT
    assert hit.iso_reason == defined.iso_reason
    assert hit.context["pack"] == "tenant:TEST"
    assert hit.context["pack_version"] == "fixtures-1"
    assert hit.location.line is not None and hit.location.xpath
    used = {(u.kind, u.id, u.version) for u in report.judged_by}
    assert ("rule_pack", "tenant:TEST", "fixtures-1") in used


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.pass*.xml")), ids=lambda p: p.name)
def test_passing_fixture_passes(gateway: Gateway, path: Path) -> None:
    report = _judge(gateway, load_tenant(TEST_FILE), path.read_bytes()).report
    assert _errors(report) == [], [(f.code, f.message) for f in report.findings]
    assert report.outcome is Outcome.ACCEPTED


@pytest.mark.parametrize("rule_id", TENANT_RULES)
def test_each_relaxation_downgrades_its_rule_to_a_warning(gateway: Gateway, rule_id: str) -> None:
    relaxed = _tenant(relaxations=[RELAXATION_OF[rule_id].value])
    report = _judge(gateway, relaxed, (FOLDER / f"{rule_id}.fail.xml").read_bytes()).report
    assert report.outcome is Outcome.ACCEPTED_WITH_WARNINGS
    [hit] = [f for f in report.findings if f.code == rule_id]
    assert hit.severity is Severity.WARNING
    assert hit.context["relaxed"] is True
    # another rule's relaxation changes nothing
    other = next(r for r in TENANT_RULES if r != rule_id)
    strict = _tenant(relaxations=[RELAXATION_OF[other].value])
    again = _judge(gateway, strict, (FOLDER / f"{rule_id}.fail.xml").read_bytes()).report
    assert again.outcome is Outcome.REJECTED


# -- checks, one by one ----------------------------------------------------------------


def _subject(
    *,
    message_id: str = "pacs.008.001.08",
    amounts: tuple[tuple[str, str], ...] = (),
    at: datetime = RECEIVED_AT,
    spent: Mapping[tuple[date, str], Decimal] | None = None,
    values: list[Value] | None = None,
) -> Subject:
    events = [
        {"amounts": {"interbank_settlement": {"value": value, "currency": currency}}}
        for value, currency in amounts
    ]
    lookup = None
    if spent is not None:
        table = dict(spent)

        def lookup(day: date, currency: str) -> Decimal:
            return table.get((day, currency), Decimal(0))

    return Subject(
        message_id=message_id,
        events=events,
        values=values or [],
        received_at=at,
        mapped=True,
        spent=lookup,
    )


def _run(check: str, subject: Subject, params: Mapping[str, Any]) -> list[Any]:
    return list(CHECKS[check].fn(subject, params))


def test_message_allowed() -> None:
    params = {"message_ids": ["pacs.008.001.08"]}
    assert _run("message_allowed", _subject(), params) == []
    [hit] = _run("message_allowed", _subject(message_id="pacs.009.001.08"), params)
    assert hit.context == {"message_id": "pacs.009.001.08"}


def test_daily_limit_counts_what_was_accepted_and_the_whole_message() -> None:
    params = {"limits": {"EUR": "1000"}, "time_zone": "Europe/Berlin"}
    day = date(2026, 11, 26)
    assert (
        _run("daily_amount_limit", _subject(amounts=(("600", "EUR"), ("400", "EUR"))), params) == []
    )
    [hit] = _run(
        "daily_amount_limit",
        _subject(amounts=(("100", "EUR"), ("300", "EUR"), ("200", "EUR")),
                 spent={(day, "EUR"): Decimal("650")}),
        params,
    )  # fmt: skip
    assert hit.event == 1  # 650 + 100 + 300 crosses 1000 at the second transaction
    assert hit.context == {"currency": "EUR", "day": "2026-11-26", "accepted_before": "650",
                           "message_total": "600", "limit": "1000"}  # fmt: skip
    # another day, another currency, a currency without limit: nothing
    other_day = _subject(
        amounts=(("600", "EUR"),), spent={(day - timedelta(1), "EUR"): Decimal(999)}
    )
    assert _run("daily_amount_limit", other_day, params) == []
    assert _run("daily_amount_limit", _subject(amounts=(("5000", "USD"),)), params) == []


def test_daily_limit_day_is_the_receipt_date_in_the_tenant_zone() -> None:
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert business_day(late, "Europe/Berlin") == date(2026, 11, 27)
    assert business_day(late, "America/New_York") == date(2026, 11, 26)
    assert business_day(late, None) == date(2026, 11, 26)  # UTC
    spent = {(date(2026, 11, 26), "EUR"): Decimal(900)}
    params = {"limits": {"EUR": "1000"}}
    subject = _subject(amounts=(("200", "EUR"),), at=late, spent=spent)
    assert _run("daily_amount_limit", subject, {**params, "time_zone": "Europe/Berlin"}) == []
    assert _run("daily_amount_limit", subject, {**params, "time_zone": "America/New_York"})


def _window(**values: Any) -> dict[str, Any]:
    return CutoffWindow.model_validate(values).model_dump(mode="json")


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        ("2026-11-26T08:59", False),  # Thursday, a minute before opening
        ("2026-11-26T09:00", True),  # opening time is inside
        ("2026-11-26T16:59", True),
        ("2026-11-26T17:00", False),  # closing time is outside
        ("2026-11-28T10:00", False),  # Saturday
    ],
)
def test_cutoff_window_edges(local: str, inside: bool) -> None:
    zone = "America/New_York"
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    params = {
        "time_zone": zone,
        "windows": [_window(open="09:00", close="17:00", weekdays=weekdays)],
    }
    from zoneinfo import ZoneInfo

    at = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    hits = _run("cutoff_window", _subject(at=at), params)
    assert (not hits) is inside
    if hits:
        assert hits[0].context["time_zone"] == zone
        assert "09:00-17:00 mon,tue,wed,thu,fri" in hits[0].message


def test_cutoff_follows_daylight_saving_time() -> None:
    params = {"time_zone": "America/New_York", "windows": [_window(open="09:00", close="17:00")]}
    # 13:30 UTC is 09:30 EDT in July, 08:30 EST in January
    assert (
        _run("cutoff_window", _subject(at=datetime(2026, 7, 15, 13, 30, tzinfo=UTC)), params) == []
    )
    assert _run("cutoff_window", _subject(at=datetime(2026, 1, 15, 13, 30, tzinfo=UTC)), params)


def test_cutoff_window_over_midnight_belongs_to_the_day_it_opens() -> None:
    window = CutoffWindow(open="22:00", close="06:00", weekdays=("fri",))
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Tokyo")
    assert window.contains(datetime(2026, 11, 27, 22, 0, tzinfo=zone))  # Friday night
    assert window.contains(datetime(2026, 11, 28, 5, 59, tzinfo=zone))  # Saturday morning
    assert not window.contains(datetime(2026, 11, 28, 6, 0, tzinfo=zone))
    assert not window.contains(datetime(2026, 11, 27, 5, 0, tzinfo=zone))  # Thursday's night
    assert CutoffWindow(open="00:00", close="24:00").contains(
        datetime(2026, 1, 1, 23, 59, tzinfo=zone)
    )


def test_cutoff_windows_for_a_message_replace_the_general_ones() -> None:
    params = {
        "time_zone": "UTC",
        "windows": [
            _window(messages=["pain.001.001.09"], open="06:00", close="10:00"),
            _window(open="00:00", close="24:00"),
        ],
    }
    assert _run("cutoff_window", _subject(), params) == []
    assert _run("cutoff_window", _subject(message_id="pain.001.001.09"), params)
    only_specific = {**params, "windows": params["windows"][:1]}
    assert _run("cutoff_window", _subject(), only_specific) == []  # no window: no cut-off


def test_blocked_countries_in_addresses_ibans_and_bics() -> None:
    root = etree.fromstring(
        b"<Doc><Cdtr><PstlAdr><Ctry>KP</Ctry></PstlAdr><CtryOfRes>IR</CtryOfRes>"
        b"<PrvtId><DtAndPlcOfBirth><CtryOfBirth>KP</CtryOfBirth></DtAndPlcOfBirth></PrvtId>"
        b"</Cdtr><RgltryRptg><Authrty><Ctry>KP</Ctry></Authrty></RgltryRptg></Doc>"
    )
    values = [
        Value("country", "KP", root.find("Cdtr/PstlAdr/Ctry"), name="Ctry"),
        Value("country", "IR", root.find("Cdtr/CtryOfRes"), name="CtryOfRes"),
        Value("country", "KP", root.find(".//CtryOfBirth"), name="CtryOfBirth"),
        Value("country", "KP", root.find("RgltryRptg/Authrty/Ctry"), name="Ctry"),
        Value("iban", "IR580540105180021273113007", name="IBAN"),
        Value("bic", "BKIDKPPYXXX", name="BICFI"),
        Value("bic", "DEUTDEFFXXX", name="BICFI"),
        Value("iban", "DE81370400440218455600", name="IBAN"),
    ]
    hits = _run("country_blocked", _subject(values=values), {"countries": ["IR", "KP"]})
    assert [(h.context["country"], h.context["source"]) for h in hits] == [
        ("KP", "country"), ("IR", "country"), ("IR", "iban"), ("KP", "bic"),
    ]  # fmt: skip
    assert all("IR580540" not in h.message for h in hits)  # account ids stay out of reports


# -- per-day totals across messages (memory) ---------------------------------------------


def test_per_day_totals_accumulate_across_messages(gateway: Gateway) -> None:
    tenant = load_tenant(TEST_FILE)
    totals = MemoryDailyTotals()
    full = (FOLDER / "tenant.daily_limit.pass.xml").read_bytes()  # 50000.00 EUR: the limit
    small = (FOLDER / "tenant.cutoff.pass.xml").read_bytes()  # 1250.00 EUR
    first = _judge(gateway, tenant, full, totals=totals)
    assert first.report.outcome is Outcome.ACCEPTED
    assert totals.daily_total("TEST", date(2026, 11, 26), "EUR") == Decimal("50000.00")
    second = _judge(gateway, tenant, small, totals=totals)
    assert _errors(second.report) == [RULE_DAILY]
    [hit] = second.report.findings
    assert hit.iso_reason == "AM14"
    assert hit.context["accepted_before"] == "50000.00"
    assert totals.daily_total("TEST", date(2026, 11, 26), "EUR") == Decimal("50000.00")
    # 23:30 UTC is already the next day in Berlin: a fresh total
    late = _judge(gateway, tenant, small, at=datetime(2026, 11, 26, 23, 30, tzinfo=UTC),
                  totals=totals)  # fmt: skip
    assert late.report.outcome is Outcome.ACCEPTED
    assert totals.daily_total("TEST", date(2026, 11, 27), "EUR") == Decimal("1250.00")
    # totals are per tenant; USD has no per-day limit and is still recorded
    other = _tenant(id="OTHER")
    assert _judge(gateway, other, small, totals=totals).report.outcome is Outcome.ACCEPTED
    usd = (FOLDER / "tenant.currency_allowed.pass.xml").read_bytes()
    assert _judge(gateway, tenant, usd, totals=totals).report.outcome is Outcome.ACCEPTED
    assert totals.daily_total("TEST", date(2026, 11, 26), "USD") == Decimal("1250.00")


def test_relaxed_per_day_limit_records_without_enforcing(gateway: Gateway) -> None:
    tenant = _tenant(relaxations=["daily_limit_exceeded"])
    totals = MemoryDailyTotals()
    fail = (FOLDER / "tenant.daily_limit.fail.xml").read_bytes()
    assert _judge(gateway, tenant, fail, totals=totals).report.outcome is (
        Outcome.ACCEPTED_WITH_WARNINGS
    )
    assert totals.daily_total("TEST", date(2026, 11, 26), "EUR") == Decimal("50000.01")
    amounts = tenant.daily_amounts([], RECEIVED_AT)
    assert amounts is None
    event = {"amounts": {"instructed": {"value": "5", "currency": "EUR"}}}
    relaxed = tenant.daily_amounts([event], RECEIVED_AT)
    strict = load_tenant(TEST_FILE).daily_amounts([event], RECEIVED_AT)
    assert relaxed is not None and relaxed.limits == {}
    assert strict is not None and strict.limits == {"EUR": Decimal(50000)}
    assert strict.amounts == {"EUR": Decimal(5)} and strict.day == date(2026, 11, 26)


def test_memory_totals_enforce_limits_atomically() -> None:
    totals = MemoryDailyTotals()
    day = date(2026, 11, 26)
    totals.add_daily_amounts("T", DailyAmounts(day, {"EUR": Decimal("0.10")}))
    totals.add_daily_amounts("T", DailyAmounts(day, {"EUR": Decimal("0.20")}))
    assert totals.daily_total("T", day, "EUR") == Decimal("0.30")
    with pytest.raises(DailyLimitExceeded) as info:
        totals.add_daily_amounts(
            "T",
            DailyAmounts(day, {"USD": Decimal(1), "EUR": Decimal("0.71")}, {"EUR": Decimal(1)}),
        )
    assert info.value.currency == "EUR" and info.value.total == Decimal("1.01")
    assert totals.daily_total("T", day, "USD") == 0  # nothing of the message was added
    assert totals.daily_total("T", day, "EUR") == Decimal("0.30")


# -- the tenant's pack, selection and version ----------------------------------------------


def test_rule_selection_carries_packs_overrides_rules_and_totals(tmp_path: Path) -> None:
    tenant = _tenant(
        rules={"packs": ["demo-net"], "pack_params": {"demo.amount": {"limits": {"USD": "5"}}}}
    )
    totals = MemoryDailyTotals()
    selection = tenant.rule_selection(spent=totals.lookup(tenant))
    assert selection.packs == ()
    assert selection.tenant_packs == ("demo-net",)
    assert selection.overrides == {"demo.amount": {"limits": {"USD": "5"}}}
    assert selection.tenant_rules is tenant.rules_pack()
    assert selection.spent is not None and selection.spent(date(2026, 1, 1), "EUR") == 0
    assert tenant.rule_selection().spent is None


def test_pack_version_follows_the_rules_not_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "NA.yaml"
    shutil.copy(REPO / "tenants" / "NA.yaml", path)
    before = load_tenant(path).rules_pack()
    assert before.pack == "tenant:NA" and before.origin == "NA.yaml"
    assert before.version == before.sha256[:12]
    add_key(path, "test")
    assert load_tenant(path).rules_pack().version == before.version
    data = yaml.safe_load(path.read_text())
    data["rules"]["amount_limits"]["USD"] = "20000000"
    path.write_text(yaml.safe_dump(data))
    assert load_tenant(path).rules_pack().version != before.version
    assert load_tenant(TEST_FILE).rules_pack().version == "fixtures-1"  # rules.version


def test_a_tenant_without_rules_gets_only_the_message_rule() -> None:
    tenant = Tenant.model_validate(
        {"id": "BARE", "name": "b", "region": "NA", "allowed_message_ids": ["pacs.008.001.08"]}
    )
    assert [rule.id for rule in tenant.rules_pack().rules] == [RULE_MESSAGE]
    assert tenant.rule_selection().tenant_packs == ()


def test_example_tenants_have_rules() -> None:
    registry = TenantRegistry.load(REPO / "tenants")
    packs = {t.id: t.rules.packs for t in registry.all()}
    assert packs == {
        "NA": ("cbpr-plus", "fednow"),
        "EMEA": ("cbpr-plus", "sepa-sct", "sepa-inst"),
        "LATAM": ("cbpr-plus",),
        "APAC": ("cbpr-plus",),
    }
    for tenant in registry.all():
        ids = {rule.id for rule in tenant.rules_pack().rules}
        assert {RULE_MESSAGE, RULE_CURRENCY, RULE_AMOUNT, RULE_DAILY, RULE_COUNTRY} <= ids
        assert tenant.rules.time_zone is not None


# -- the tenant file: validation at load and against the packs ------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("time_zone: Europe/Berlin", "time_zone: Europe/Frankfurt",
         r"rules\.time_zone: .*not an IANA time zone.*Europe/Frankfurt"),
        ("  time_zone: Europe/Berlin\n", "",
         r"rules\.daily_limits: .*need rules\.time_zone"),
        ("currencies: [EUR, USD]", "currencies: [EUR, EURO]",
         r"rules\.currencies.*'EURO' is not an ISO 4217"),
        ("currencies: [EUR, USD]", "currencies: [EUR, ABC]", r"rules\.currencies.*'ABC'"),
        ('amount_limits: {EUR: "30000"', 'amount_limits: {EUR: "-1"',
         r"rules\.amount_limits\.EUR.*greater than 0.*-1"),
        ('daily_limits: {EUR: "50000"}', 'daily_limits: {EUR: "lots"}',
         r"rules\.daily_limits\.EUR.*lots"),
        ('open: "06:00"', 'open: "25:00"', r"rules\.cutoffs\.0\.open.*25:00"),
        ('close: "12:00"', 'close: "06:00:00"', r"rules\.cutoffs\.0\.close.*06:00:00"),
        ('close: "12:00"', 'close: "06:00"', r"rules\.cutoffs\.0\.close: .*opens and closes"),
        ("weekdays: [mon,", "weekdays: [monday,", r"rules\.cutoffs\.0\.weekdays\.0.*monday"),
        ("messages: [pain.001.001.09]", "messages: [pain.1]",
         r"rules\.cutoffs\.0\.messages.*pain\.1"),
        ("blocked_countries: [IR, KP, RU]", "blocked_countries: [IR, XX]",
         r"rules\.blocked_countries.*'XX' is not an ISO 3166"),
        ("  version: fixtures-1\n", "  version: fixtures-1\n  packs: [business]\n",
         r"rules\.packs.*business pack judges every message"),
        ("  version: fixtures-1\n", "  version: fixtures-1\n  colour: blue\n",
         r"rules\.colour.*blue"),
        ("  version: fixtures-1\n", "  version: fixtures-1\n  pack_params: {Bad: {}}\n",
         r"rules\.pack_params\.Bad"),
    ],
)  # fmt: skip
def test_bad_rules_section_names_file_key_and_value(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = tmp_path / "TEST.yaml"
    text = TEST_FILE.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=expected) as info:
        load_tenant(path)
    assert str(path) in info.value.message


def _registry() -> PackRegistry:
    scheme = Pack(
        pack="demo-net",
        version="1",
        layer=Layer.SCHEME,
        title="demo network",
        rules=(
            RuleDef(id="demo.amount", check="max_amount", description="network maximum",
                    iso_reason="AM02", params={"limits": {"USD": "2000"}}),
        ),
    )  # fmt: skip
    business = Pack(
        pack="business",
        version="1",
        layer=Layer.BUSINESS,
        title="b",
        rules=(RuleDef(id="business.max_tx", check="max_transactions", description="d",
                       iso_reason="AM18", params={"max": 100}),),
    )  # fmt: skip
    return PackRegistry.of([scheme, business])


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"packs": ["no-such-pack"]},
         r"rules\.packs: unknown rule pack 'no-such-pack'; known: demo-net"),
        ({"pack_params": {"demo.nothing": {"limits": {}}}},
         r"rules\.pack_params: 'demo\.nothing' is not a rule of the packs"),
        ({"packs": ["demo-net"], "pack_params": {"demo.amount": {"cap": 1}}},
         r"rules\.pack_params\.demo\.amount: .*takes no parameter.*cap.*\(value: \{'cap': 1\}\)"),
    ],
)  # fmt: skip
def test_check_packs_names_file_key_and_value(
    tmp_path: Path, rules: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "TEST.yaml"
    text = TEST_FILE.read_text()
    extra = "".join(f"  {key}: {value!r}\n".replace("'", '"') for key, value in rules.items())
    path.write_text(text.replace("  version: fixtures-1\n", "  version: fixtures-1\n" + extra))
    tenant = load_tenant(path)
    with pytest.raises(ConfigError, match=expected) as info:
        tenant.check_packs(_registry())
    assert info.value.message.startswith(str(path))


def test_check_packs_accepts_known_packs_and_parameters() -> None:
    tenant = _tenant(
        rules={
            "packs": ["demo-net"],
            "pack_params": {
                "demo.amount": {"limits": {"USD": "500"}},
                "business.max_tx": {"max": 5},
            },
        }
    )
    tenant.check_packs(_registry())
    registry = TenantRegistry([tenant])
    registry.check_packs(_registry())
    with pytest.raises(ConfigError, match=r"^tenant TEST: rules\.packs"):
        _tenant(rules={"packs": ["fednow-x"]}).check_packs(_registry())


def test_pack_params_override_the_network_limit(gateway: Gateway) -> None:
    demo = Gateway(gateway.settings, gateway.schemas, gateway.mappings, RuleEngine(_registry()))
    usd = (FOLDER / "tenant.currency_allowed.pass.xml").read_bytes()  # 1250.00 USD
    network = _tenant(rules={"packs": ["demo-net"]})
    assert _judge(demo, network, usd).report.outcome is Outcome.ACCEPTED  # network max: 2000
    own_limit = {"demo.amount": {"limits": {"USD": "1000"}}}
    report = _judge(demo, _tenant(rules={"packs": ["demo-net"], "pack_params": own_limit}), usd)
    assert _errors(report.report) == ["demo.amount"]
    assert report.report.findings[0].context["limit"] == "1000"


def test_example_tenants_name_only_loaded_packs_and_rules(gateway: Gateway) -> None:
    assert gateway.rules is not None
    TenantRegistry.load(REPO / "tenants").check_packs(gateway.rules.packs)
