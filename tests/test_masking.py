"""Account identifiers and card numbers never appear in clear in findings."""

from __future__ import annotations

from pathlib import Path

from gateway.masking import mask, mask_quoted_values, sensitive_path
from gateway.pipeline import Gateway
from tests.conftest import FIXTURES


def test_mask_keeps_only_the_ends() -> None:
    assert mask("DE89370400440532013000") == "DE" + "*" * 18 + "00"
    assert mask("1234567") == "1*****7"
    assert mask("abc") == "***"
    assert len(mask("X" * 30)) == 30


def test_sensitive_paths() -> None:
    assert sensitive_path("/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/DbtrAcct/Id/IBAN")
    assert sensitive_path("/Document/X/CdtrAcct/Id/Othr/Id")
    assert sensitive_path("/Document/X/DbtrAcct/Prxy/Id")
    assert not sensitive_path("/Document/X/CdtrAgt/FinInstnId/BICFI")
    assert not sensitive_path(None)


def test_quoted_values_are_masked_by_path_or_shape() -> None:
    iban = "Element 'IBAN': [facet 'pattern'] The value 'DE8937040044053201300X' is not accepted"
    masked = mask_quoted_values(iban, "/Document/A/DbtrAcct/Id/IBAN")
    assert "DE8937040044053201300X" not in masked
    assert "The value 'DE" in masked
    pan = mask_quoted_values("The value '4111 1111 1111 1111' is bad", "/Document/A/Nm")
    assert "4111 1111 1111 1111" not in pan
    bic = "The value 'SOGEFRPPXX' is not accepted"
    assert mask_quoted_values(bic, "/Document/A/CdtrAgt/FinInstnId/BICFI") == bic


def test_invalid_iban_is_masked_in_the_report(gateway: Gateway, tmp_path: Path) -> None:
    source = (FIXTURES / "mx/pacs.008.001.08/valid/rich.xml").read_text()
    iban = "DE03500700100093817264"
    assert iban in source
    bad = "DE03-500700100093817264"
    payload = source.replace(iban, bad).encode()
    result = gateway.inbound(payload)
    [item] = [f for f in result.report.findings if f.code == "schema.pattern"]
    assert item.location.xpath is not None and item.location.xpath.endswith("DbtrAcct/Id/IBAN")
    assert bad not in result.report.model_dump_json()
