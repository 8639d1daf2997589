"""Every rule of every pack in ``packs/`` against its fixture pair.

``tests/fixtures/rules/<pack>/<rule id>.fail*.xml`` must produce a finding of that
rule (with the pack's layer and the rule's ISO reason); ``<rule id>.pass*.xml``
must produce no error at all under the same packs. All fixtures are judged as
if received at :data:`RECEIVED_AT`, so date rules do not rot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.pipeline import Gateway, RuleSelection
from gateway.report import Severity
from gateway.rules import BUSINESS_PACK, Pack, RuleDef
from tests.conftest import FIXTURES

RULE_FIXTURES = FIXTURES / "rules"
RECEIVED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _rules(gateway: Gateway) -> list[tuple[Pack, RuleDef]]:
    assert gateway.rules is not None
    seen: dict[str, tuple[Pack, RuleDef]] = {}
    for name in gateway.rules.packs.names():
        for pack in gateway.rules.packs.versions(name):
            for rule in pack.rules:
                seen.setdefault(rule.id, (pack, rule))
    return sorted(seen.values(), key=lambda item: item[1].id)


def _selection(pack: str) -> RuleSelection:
    return RuleSelection() if pack == BUSINESS_PACK else RuleSelection(packs=(pack,))


def _judge(gateway: Gateway, pack: str, path: Path):  # type: ignore[no-untyped-def]
    result = gateway.inbound(path.read_bytes(), rules=_selection(pack), received_at=RECEIVED_AT)
    return result.report


def test_every_rule_has_a_fixture_pair(gateway: Gateway) -> None:
    missing = []
    for pack, rule in _rules(gateway):
        folder = RULE_FIXTURES / pack.pack
        for kind in ("fail", "pass"):
            if not list(folder.glob(f"{rule.id}.{kind}*.xml")):
                missing.append(f"{pack.pack}/{rule.id}.{kind}.xml")
    assert not missing, f"rules without fixtures: {missing}"


def _cases(kind: str) -> list[tuple[str, Path]]:
    return sorted(
        (path.parent.name, path)
        for path in RULE_FIXTURES.glob(f"*/*.{kind}*.xml")
        if path.parent.name != "tenant"
    )


def _rule_id(path: Path) -> str:
    return path.name.split(".fail")[0].split(".pass")[0]


@pytest.mark.parametrize(("pack", "path"), _cases("fail"), ids=lambda v: getattr(v, "name", v))
def test_failing_fixture_fails_on_its_rule(gateway: Gateway, pack: str, path: Path) -> None:
    rule_id = _rule_id(path)
    report = _judge(gateway, pack, path)
    hits = [f for f in report.findings if f.code == rule_id]
    assert hits, f"{path.name}: no {rule_id} finding; got {[f.code for f in report.findings]}"
    assert gateway.rules is not None
    versions = gateway.rules.packs.versions(pack)
    for hit in hits:
        assert hit.rule == rule_id
        assert hit.layer is versions[0].layer
        assert hit.context["pack"] == pack
        assert hit.location.line is not None or hit.location.xpath or hit.location.mt_tag
        defined = [r for v in versions for r in v.rules if r.id == rule_id]
        assert hit.iso_reason == defined[0].iso_reason
        assert hit.severity is defined[0].severity_for(report.message_id)
    used = {(u.kind, u.id) for u in report.judged_by}
    assert ("rule_pack", pack) in used


@pytest.mark.parametrize(("pack", "path"), _cases("pass"), ids=lambda v: getattr(v, "name", v))
def test_passing_fixture_passes(gateway: Gateway, pack: str, path: Path) -> None:
    rule_id = _rule_id(path)
    report = _judge(gateway, pack, path)
    errors = [
        (f.code, f.location.xpath, f.message)
        for f in report.findings
        if f.severity is Severity.ERROR
    ]
    assert not errors, f"{path.name}: {errors}"
    assert not [f for f in report.findings if f.code == rule_id]
