"""``isogw render EVENTS.json --to MESSAGE_ID``: output, findings and exit codes.

The command is registered here on a local Typer app exactly as ``gateway.cli`` registers
it (``app.command("render")(render)``) and run with Typer's ``CliRunner``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from lxml import etree
from typer.testing import CliRunner, Result

from gateway.cli_render import render
from gateway.pipeline import Gateway
from gateway.report import Outcome
from tests.conftest import FIXTURES

app = typer.Typer()
app.command("render")(render)


@app.callback()
def _root() -> None:
    """A group, like ``isogw``: the command is invoked by name."""


def run(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(app, ["render", *args], env=env, input=stdin)


def events_of(gateway: Gateway, relative: str) -> list[dict[str, Any]]:
    result = gateway.inbound((FIXTURES / "mx" / relative).read_bytes(), rules=None)
    assert result.report.outcome is not Outcome.REJECTED
    return copy.deepcopy(result.events)


def write(tmp_path: Path, events: Any, name: str = "events.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(events))
    return path


@pytest.fixture
def three(gateway: Gateway, tmp_path: Path) -> Path:
    return write(tmp_path, events_of(gateway, "pacs.008.001.08/valid/three_transactions.xml"))


def test_valid_message_on_stdout(three: Path, test_env: dict[str, str]) -> None:
    result = run([str(three), "--to", "pacs.008.001.08"], test_env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Document')
    document = etree.fromstring(result.stdout_bytes)
    assert len(document.xpath("//*[local-name()='CdtTrfTxInf']")) == 3
    assert result.stderr.startswith("pacs.008.001.08: valid (0 finding(s), 3 event(s))")


def test_out_file_json_findings_and_placement(
    three: Path, tmp_path: Path, test_env: dict[str, str]
) -> None:
    out = tmp_path / "out.xml"
    args = [str(three), "--to", "pacs.008.001.08", "-o", str(out), "-f", "json"]
    result = run([*args, "--placement", "outermost"], test_env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    report = json.loads(result.stderr)
    assert report == {
        "message_id": "pacs.008.001.08",
        "outcome": "accepted",
        "events": 3,
        "out": str(out),
        "findings": [],
    }
    document = etree.parse(str(out)).getroot()
    assert document.xpath("//*[local-name()='GrpHdr']/*[local-name()='InstgAgt']")


def test_incomplete_message_exits_one_with_the_xml(
    gateway: Gateway, tmp_path: Path, test_env: dict[str, str]
) -> None:
    events = events_of(gateway, "pacs.008.001.08/valid/minimal.xml")
    del events[0]["debtor"]
    path = write(tmp_path, events)
    result = run([str(path), "--to", "pacs.008.001.08", "--format", "json"], test_env)
    assert result.exit_code == 1
    assert b"<CdtTrfTxInf>" in result.stdout_bytes  # written anyway, for inspection
    report = json.loads(result.stderr)
    assert report["outcome"] == "rejected"
    codes = {(f["code"], f["location"]["xpath"]) for f in report["findings"]}
    assert ("mapping.missing_mandatory", "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/Dbtr") in codes
    assert any(code.startswith("schema.") for code, _ in codes)  # the XSD agrees


def test_translation_reports_what_the_target_cannot_carry(
    gateway: Gateway, tmp_path: Path, test_env: dict[str, str]
) -> None:
    path = write(tmp_path, events_of(gateway, "pain.001.001.09/valid/single_pmtinf_2tx.xml"))
    result = run([str(path), "--to", "pacs.008.001.08"], test_env)
    assert result.exit_code == 1
    assert "mapping.unmapped" in result.stderr
    assert "canonical field payment_method (2x)" in result.stderr
    assert "mapping.missing_mandatory" in result.stderr


def test_events_from_stdin(three: Path, test_env: dict[str, str]) -> None:
    result = run(["-", "--to", "pacs.008.001.08"], test_env, stdin=three.read_bytes())
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.count(b"<CdtTrfTxInf>") == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not JSON"),
        (b'{"events": []}', "expected a JSON array of events"),
        (b"[]", "no events to render"),
        (b'[{"event_id": "x"}]', "not canonical events: event 0: event_type: Field required"),
    ],
)
def test_bad_events_file_is_a_usage_error(
    tmp_path: Path, test_env: dict[str, str], content: bytes, message: str
) -> None:
    path = tmp_path / "events.json"
    path.write_bytes(content)
    result = run([str(path), "--to", "pacs.008.001.08"], test_env)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("pacs.008", "--to: not a message id"),
        ("camt.053.001.02", "no mapping file for camt.053.001.02"),
        ("fin.103", "fin.103 is a SWIFT MT message"),
    ],
)
def test_unknown_message_id_is_a_usage_error(
    three: Path, test_env: dict[str, str], to: str, message: str
) -> None:
    result = run([str(three), "--to", to], test_env)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_missing_file_or_option_is_a_usage_error(three: Path, test_env: dict[str, str]) -> None:
    assert (
        run([str(three.parent / "nope.json"), "--to", "pacs.008.001.08"], test_env).exit_code == 2
    )
    assert run([str(three)], test_env).exit_code == 2


def test_configuration_problems_exit_three(
    three: Path, tmp_path: Path, test_env: dict[str, str]
) -> None:
    no_mappings = {**test_env, "GATEWAY_MAPPING_DIR": str(tmp_path / "none")}
    result = run([str(three), "--to", "pacs.008.001.08"], no_mappings)
    assert result.exit_code == 3
    assert "does not exist" in result.stderr
    # a mapped message whose XSD is not installed (pacs.009.001.08 is not on the registries)
    no_schema = {**test_env, "GATEWAY_LOCAL_SCHEMA_DIR": str(tmp_path / "empty")}
    result = run([str(three), "--to", "pacs.009.001.08"], no_schema)
    assert result.exit_code == 3
    assert "no schema installed for pacs.009.001.08" in " ".join(result.stderr.split())
