"""Committed generated files must match the code (regenerate: ``make artifacts``)."""

from __future__ import annotations

import json

import pytest

import gateway
from gateway.artifacts import (
    EVENT_SCHEMA_PATH,
    FINDINGS_DOC_PATH,
    RULES_DOC_PATH,
    event_schema_text,
    findings_markdown,
    rules_markdown,
)
from gateway.events import PaymentEvent
from gateway.report import CATALOGUE, Finding, Layer, Outcome, Severity, finding, outcome_of
from tests.conftest import REPO


def test_event_json_schema_has_not_drifted() -> None:
    committed = (REPO / EVENT_SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == event_schema_text(), "run `make artifacts` and review the change"
    schema = json.loads(committed)
    assert set(schema["required"]) == {"event_id", "event_type", "schema_version", "source"}
    assert schema["additionalProperties"] is False


def test_findings_catalogue_document_has_not_drifted() -> None:
    committed = (REPO / FINDINGS_DOC_PATH).read_text(encoding="utf-8")
    assert committed == findings_markdown(), "run `make artifacts` and review the change"
    for code in CATALOGUE:
        assert f"`{code}`" in committed


def test_finding_uses_the_catalogue() -> None:
    item = finding("schema.pattern", "bad BIC", line=3, xpath="/Document/X")
    assert item.layer is Layer.SCHEMA
    assert item.severity is Severity.ERROR
    assert item.iso_reason == "FF01"
    assert item.location.line == 3
    with pytest.raises(KeyError):
        finding("no.such.code", "x")  # unknown codes must not build findings


def test_outcome_follows_the_worst_severity() -> None:
    warn = finding("mapping.unmapped", "x")
    err = finding("schema.pattern", "x")
    assert outcome_of([]) is Outcome.ACCEPTED
    assert outcome_of([warn]) is Outcome.ACCEPTED_WITH_WARNINGS
    assert outcome_of([warn, err]) is Outcome.REJECTED
    assert isinstance(err, Finding)


def test_events_forbid_unknown_fields() -> None:
    base = {
        "event_id": "x",
        "event_type": "t",
        "schema_version": "1",
        "source": {"message_id": "pacs.008.001.08", "payload_sha256": "0", "transaction_index": 0},
    }
    PaymentEvent.model_validate(base)
    with pytest.raises(ValueError, match="surprise"):
        PaymentEvent.model_validate({**base, "surprise": 1})


def test_public_api_is_curated() -> None:
    assert sorted(gateway.__all__) == gateway.__all__
    for name in gateway.__all__:
        assert hasattr(gateway, name), name


def test_rules_document_has_not_drifted() -> None:
    committed = (REPO / RULES_DOC_PATH).read_text(encoding="utf-8")
    assert committed == rules_markdown(REPO / "packs"), "run `make artifacts` and review"
