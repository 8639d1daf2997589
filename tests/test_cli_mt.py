"""``isogw validate`` and ``isogw map`` on SWIFT FIN (MT) files: sniffed by content, RJE
batches split into one report per message, exit codes and progress unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES
from tests.test_cli import run

PIPE = FIXTURES / "mt/pipeline"
FIN_103 = PIPE / "fin.103.txt"
BATCH = PIPE / "rje_batch.txt"
FREE_FORMAT = FIXTURES / "mt/messages/fin.199.valid.pass.txt"  # not allowed for EMEA
MX = FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml"


def lines(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_validate_sniffs_fin_whatever_the_extension(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    disguised = tmp_path / "payment.xml"
    shutil.copy(FIN_103, disguised)
    plain = tmp_path / "payment"
    shutil.copy(FIN_103, plain)
    files = [disguised, plain, MX]
    result = run(["validate", *map(str, files), "--format", "json"], test_env)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = lines(result.stdout)
    assert [r["file"] for r in reports] == [str(f) for f in files]
    assert [r["message_id"] for r in reports] == ["fin.103", "fin.103", "pacs.008.001.08"]
    assert [r["envelope"] for r in reports] == ["FIN", "FIN", "Document"]
    assert reports[0]["outcome"] == "accepted_with_warnings"  # the value date is long past
    assert [f["code"] for f in reports[0]["findings"]] == ["business.date_too_far_in_past"]
    assert reports[0]["findings"][0]["location"]["mt_tag"] == ":32A:"
    assert reports[0]["business_message_id"] == "PIPE-103-0001"
    assert reports[0]["channel"] == "cli"
    assert "entry" not in reports[0]
    assert len(reports[0]["event_ids"]) == 1
    kinds = {u["kind"] for u in reports[0]["judged_by"]}
    assert kinds == {"mt_definitions", "mapping", "rule_pack"}


def test_validate_gives_one_report_per_message_of_an_rje_batch(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    text = BATCH.read_bytes()
    broken = tmp_path / "batch.rje"
    broken.write_bytes(text.replace(b":21:PIPE-103-0011", b":21:PIPE-103&0011"))
    result = run(["validate", str(BATCH), str(broken), "--format", "json"], test_env)
    assert result.returncode == 1, result.stderr  # one message of the second file is rejected
    reports = lines(result.stdout)
    assert [(r["file"], r["entry"]) for r in reports] == [
        (str(f), n) for f in (BATCH, broken) for n in (1, 2, 3)
    ]
    assert [r["message_id"] for r in reports[:3]] == ["fin.103", "fin.202", "fin.103"]
    assert [r["envelope"] for r in reports[:3]] == ["RJE/ACK+message", "RJE", "RJE"]
    assert [r["outcome"] for r in reports[3:]] == [
        "accepted_with_warnings",
        "rejected",
        "accepted_with_warnings",
    ]
    [hit] = reports[4]["findings"]
    assert hit["code"] == "mt.text_charset"
    assert hit["location"]["mt_tag"] == ":21:"
    assert hit["location"]["line"] == text[: text.index(b":21:")].count(b"\n") + 1


def test_validate_text_output_names_entries_and_tags(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "batch.txt"
    broken.write_bytes(BATCH.read_bytes().replace(b":21:PIPE-103-0011", b":21:PIPE-103&0011"))
    result = run(["validate", str(broken)], test_env)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert f"{broken} [entry 2]: rejected fin.202" in out
    assert "mt.text_charset" in out
    assert ":21:" in out


def test_validate_judges_as_the_tenant_would(test_env: dict[str, str]) -> None:
    result = run(["validate", str(FREE_FORMAT), "--tenant", "EMEA", "--format", "json"], test_env)
    assert result.returncode == 1
    [report] = lines(result.stdout)
    assert "tenant.message_allowed" in [f["code"] for f in report["findings"]]
    only_schema = run(["validate", str(FIN_103), "--schema-only", "--format", "json"], test_env)
    assert only_schema.returncode == 0
    [report] = lines(only_schema.stdout)
    assert [u["kind"] for u in report["judged_by"]] == ["mt_definitions", "mapping"]


def test_map_prints_the_events_and_the_reports_on_stderr(test_env: dict[str, str]) -> None:
    single = run(["map", str(FIN_103), "--format", "json"], test_env)
    assert single.returncode == 0, single.stderr
    [event] = json.loads(single.stdout)
    assert event["source"]["message_id"] == "fin.103"
    assert event["ids"]["message_id"] == "PIPE-103-0001"
    [report] = lines(single.stderr)
    assert (report["message_id"], report["envelope"]) == ("fin.103", "FIN")
    assert report["event_ids"] == [event["event_id"]]
    batch = run(["map", str(BATCH), "--format", "json"], test_env)
    assert batch.returncode == 0, batch.stderr
    events = json.loads(batch.stdout)
    assert [e["source"]["message_id"] for e in events] == ["fin.103", "fin.202", "fin.103"]
    assert [e["ids"]["message_id"] for e in events] == [
        "PIPE-103-0011",
        "PIPE-202-0012",
        "PIPE-103-0013",
    ]
    assert [r["entry"] for r in lines(batch.stderr)] == [1, 2, 3]
    text = run(["map", str(BATCH), "--format", "text"], test_env)
    assert text.returncode == 0
    assert len(json.loads(text.stdout)) == 3
    assert text.stderr.decode().count("accepted_with_warnings fin.") == 3


def test_rejected_fin_exits_one_and_progress_stays_on_stderr(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    files = []
    for n in range(5):
        path = tmp_path / f"m{n}.fin"
        path.write_bytes(FIN_103.read_bytes().replace(b"PIPE-103-0001", b"PIPE-CLI-%d" % n))
        files.append(path)
    files[2].write_bytes(files[2].read_bytes().replace(b"ATELIERS", b"ATELIERS & CO"))
    result = run(["validate", *map(str, files), "--format", "json"], test_env, TTY_COMPATIBLE="1")
    assert result.returncode == 1
    assert b"validating" in result.stderr
    reports = lines(result.stdout)  # stdout stays clean JSON Lines
    assert [r["outcome"] for r in reports].count("rejected") == 1
