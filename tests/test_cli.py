"""The ``isogw`` command line: the JSON contract, exit codes, progress, large files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

VALID = FIXTURES / "mx/pacs.008.001.08/valid"
INVALID = FIXTURES / "mx/pacs.008.001.08/invalid"


def run(
    args: list[str], env: dict[str, str], **extra_env: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        env={**os.environ, **env, **extra_env},
        check=False,
        timeout=120,
    )


def test_validate_json_lines_contract(test_env: dict[str, str]) -> None:
    files = [VALID / "minimal.xml", INVALID / "bad_enum_chrgbr.xml"]
    result = run(["validate", *map(str, files), "--format", "json"], test_env)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    assert [line["outcome"] for line in lines] == ["accepted", "rejected"]
    assert {line["message_id"] for line in lines} == {"pacs.008.001.08"}
    [bad] = lines[1]["findings"]
    assert set(bad) >= {"code", "severity", "layer", "location", "message"}
    assert bad["code"] == "schema.enumeration"
    assert bad["severity"] == "error"
    assert bad["layer"] == "schema"
    assert bad["location"]["xpath"] == "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/ChrgBr"
    assert bad["location"]["line"] > 0


def test_validate_exit_zero_when_all_accepted(test_env: dict[str, str]) -> None:
    result = run(["validate", str(VALID / "minimal.xml"), str(VALID / "rich.xml")], test_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert b"accepted" in result.stdout


def test_usage_errors_exit_two(test_env: dict[str, str], tmp_path: Path) -> None:
    missing = run(["validate", str(tmp_path / "nope.xml")], test_env)
    assert missing.returncode == 2
    assert b"nope.xml" in missing.stderr
    bad_option = run(["validate", str(VALID / "minimal.xml"), "--format", "yaml"], test_env)
    assert bad_option.returncode == 2
    no_args = run(["validate"], test_env)
    assert no_args.returncode == 2


def test_progress_bar_on_stderr_for_many_files(test_env: dict[str, str]) -> None:
    files = sorted(VALID.glob("*.xml"))
    assert len(files) >= 5
    result = run(["validate", *map(str, files), "--format", "json"], test_env, TTY_COMPATIBLE="1")
    assert b"validating" in result.stderr
    assert len(result.stdout.splitlines()) == len(files)  # stdout stays clean JSON Lines
    few = run(["validate", str(files[0]), "--format", "json"], test_env, TTY_COMPATIBLE="1")
    assert b"validating" not in few.stderr


def test_map_prints_events_array_and_report_on_stderr(test_env: dict[str, str]) -> None:
    result = run(["map", str(VALID / "three_transactions.xml")], test_env)
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    assert len(events) == 3
    report = json.loads(result.stderr)
    assert report["event_ids"] == [e["event_id"] for e in events]
    assert report["outcome"] in {"accepted", "accepted_with_warnings"}


def test_map_of_rejected_message_prints_empty_array(test_env: dict[str, str]) -> None:
    result = run(["map", str(INVALID / "missing_sttlminf.xml")], test_env)
    assert result.returncode == 1
    assert json.loads(result.stdout) == []
    assert json.loads(result.stderr)["outcome"] == "rejected"


def test_python_module_and_console_script_agree(test_env: dict[str, str]) -> None:
    script = Path(sys.executable).with_name("isogw")
    if not script.exists():
        pytest.skip("console script not installed in this interpreter's environment")
    args = ["validate", str(VALID / "minimal.xml"), "--format", "json"]
    a = run(args, test_env)
    b = subprocess.run(
        [str(script), *args], capture_output=True, env={**os.environ, **test_env}, check=False
    )

    def strip(out):
        return {
            k: v
            for k, v in json.loads(out).items()
            if k not in {"report_id", "received_at", "timings_ms"}
        }

    assert a.returncode == b.returncode == 0
    assert strip(a.stdout) == strip(b.stdout)


def test_schema_dirs_environment_variable_is_read(tmp_path: Path, test_env: dict[str, str]) -> None:
    ns = "urn:iso:std:iso:20022:tech:xsd:pacs.998.001.01"
    (tmp_path / "pacs.998.001.01.xsd").write_text(
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{ns}" '
        'elementFormDefault="qualified"><xs:element name="Document" type="xs:string"/></xs:schema>'
    )
    message = tmp_path / "m.xml"
    message.write_text(f'<Document xmlns="{ns}">hello</Document>')
    without = run(["validate", str(message), "--format", "json"], test_env)
    assert json.loads(without.stdout)["findings"][0]["code"] == "schema.not_installed"
    with_dir = run(
        ["validate", str(message), "--format", "json"], test_env, GATEWAY_SCHEMA_DIRS=str(tmp_path)
    )
    line = json.loads(with_dir.stdout)
    assert line["outcome"] == "accepted_with_warnings"  # valid; no mapping for this id
    assert [f["code"] for f in line["findings"]] == ["mapping.not_available"]


def test_mappings_lint_reports_coverage(test_env: dict[str, str]) -> None:
    result = run(["mappings", "lint", "--format", "json"], test_env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["message_id"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert {"pacs.008.001.08", "pain.001.001.09"} <= set(rows)
    row = rows["pacs.008.001.08"]
    assert row["ok"] is True
    assert row["errors"] == []
    scopes = {c["scope"]: c for c in row["coverage"]}
    tx = scopes["FIToFICstmrCdtTrf/CdtTrfTxInf"]
    assert 0 < tx["consumed"] < tx["total"]
    assert "Tax" in tx["unread"]
    text = run(["mappings", "lint"], test_env)
    assert b"leaf paths read" in text.stdout
