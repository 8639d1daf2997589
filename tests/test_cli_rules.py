"""``isogw rules list`` and ``isogw validate --pack / --tenant / --schema-only``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import FIXTURES
from tests.test_cli import run

RULES = FIXTURES / "rules"


def _reports(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_rules_list_documents_every_rule(test_env: dict[str, str]) -> None:
    result = run(["rules", "list", "--format", "json"], test_env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_id = {row["id"]: row for row in rows}
    assert {row["pack"] for row in rows} == {
        "business", "cbpr-plus", "sepa-sct", "sepa-inst", "fednow"
    }  # fmt: skip
    iban = by_id["business.iban"]
    assert (iban["layer"], iban["severity"], iban["iso_reason"]) == ("business", "error", "AC01")
    assert iban["iso_reason_name"] == "IncorrectAccountNumber"
    assert iban["severity_by_area"] == {"camt": "warning"}
    for row in rows:
        assert row["description"], row["id"]
        if row["severity"] == "error":
            assert row["iso_reason"], row["id"]
    # rules that change by date show the versions that define them
    assert by_id["cbpr.address_unstructured"]["versions"] == ["SR2026"]
    text = run(["rules", "list"], test_env)
    assert text.returncode == 0
    assert b"business.iban" in text.stdout and b"AC01" in text.stdout


def test_rules_list_filters_by_pack_and_adds_tenant_rules(test_env: dict[str, str]) -> None:
    fednow = json.loads(run(["rules", "list", "--pack", "fednow", "-f", "json"], test_env).stdout)
    assert fednow and {row["pack"] for row in fednow} == {"fednow"}
    na = json.loads(run(["rules", "list", "--tenant", "NA", "-f", "json"], test_env).stdout)
    tenant_rows = [row for row in na if row["layer"] == "tenant"]
    assert {row["id"] for row in tenant_rows} >= {"tenant.currency_allowed", "tenant.amount_limit"}
    assert {row["pack"] for row in tenant_rows} == {"tenant:NA"}
    unknown = run(["rules", "list", "--pack", "nope"], test_env)
    assert unknown.returncode == 2
    assert b"unknown rule pack 'nope'" in unknown.stderr


def test_validate_applies_named_packs_on_top_of_the_business_rules(
    test_env: dict[str, str],
) -> None:
    fixture = RULES / "cbpr-plus/cbpr.uetr_required.fail.xml"
    plain = run(["validate", "-f", "json", str(fixture)], test_env)
    assert plain.returncode == 0, plain.stdout
    [report] = _reports(plain.stdout)
    assert [u["id"] for u in report["judged_by"] if u["kind"] == "rule_pack"] == ["business"]
    judged = run(["validate", "-f", "json", "--pack", "cbpr-plus", str(fixture)], test_env)
    assert judged.returncode == 1
    [report] = _reports(judged.stdout)
    assert report["outcome"] == "rejected"
    [hit] = [f for f in report["findings"] if f["code"] == "cbpr.uetr_required"]
    assert (hit["layer"], hit["rule"], hit["iso_reason"]) == (
        "scheme",
        "cbpr.uetr_required",
        "CH21",
    )
    assert hit["location"]["line"] and hit["location"]["xpath"].endswith("/PmtId")
    packs = {u["id"]: u["version"] for u in report["judged_by"] if u["kind"] == "rule_pack"}
    assert packs == {"business": "2026.1", "cbpr-plus": "SR2026"}
    bad = run(["validate", "--pack", "nope", str(fixture)], test_env)
    assert bad.returncode == 2
    assert b"unknown rule pack 'nope'; known:" in bad.stderr


def test_schema_only_gives_the_xsd_verdict(test_env: dict[str, str]) -> None:
    fixture = RULES / "business/business.iban.fail.xml"
    full = run(["validate", "-f", "json", str(fixture)], test_env)
    assert full.returncode == 1
    assert "business.iban" in {f["code"] for f in _reports(full.stdout)[0]["findings"]}
    schema = run(["validate", "-f", "json", "--schema-only", str(fixture)], test_env)
    assert schema.returncode == 0, schema.stdout
    [report] = _reports(schema.stdout)
    assert not [f for f in report["findings"] if f["layer"] == "business"]
    mixed = run(["validate", "--schema-only", "--pack", "fednow", str(fixture)], test_env)
    assert mixed.returncode == 2


def test_validate_as_a_tenant_counts_per_day_limits_across_the_files(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    tenant = yaml.safe_load((RULES / "tenant/TEST.yaml").read_text(encoding="utf-8"))
    tenant["id"] = "CLI"
    tenant["rules"]["cutoffs"] = []  # the test runs at any time of day
    (tmp_path / "CLI.yaml").write_text(yaml.safe_dump(tenant), encoding="utf-8")
    env = {**test_env, "GATEWAY_TENANTS_DIR": str(tmp_path)}
    fixture = str(RULES / "tenant/tenant.amount_limit.pass.xml")  # 30,000 EUR; 50,000 a day
    result = run(["validate", "-f", "json", "--tenant", "CLI", fixture, fixture], env)
    assert result.returncode == 1
    first, second = _reports(result.stdout)
    assert first["outcome"] != "rejected", first["findings"]
    assert first["tenant"] == "CLI"
    assert [f["code"] for f in second["findings"] if f["severity"] == "error"] == [
        "tenant.daily_limit"
    ]
    assert "tenant:CLI" in {u["id"] for u in second["judged_by"]}
    alone = run(["validate", "-f", "json", "--tenant", "CLI", fixture], env)
    assert alone.returncode == 0
    missing = run(["validate", "--tenant", "NOPE", fixture], env)
    assert missing.returncode == 2
    assert b"no tenant 'NOPE'" in missing.stderr
