"""``isogw translate FILE --to MESSAGE_ID``: output, report and exit codes.

The command is registered on a local Typer app exactly as ``gateway.cli`` will register
it (``app.command("translate")(translate)``) and run with Typer's ``CliRunner``.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from typer.testing import CliRunner, Result

from gateway.cli_translate import translate
from gateway.mt import parse_mt
from tests.conftest import FIXTURES

HERE = FIXTURES / "translate"
app = typer.Typer()
app.command("translate")(translate)


@app.callback()
def _root() -> None:
    """A group, like ``isogw``: the command is invoked by name."""


def run(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(app, ["translate", *args], env=env, input=stdin)


def test_mt_to_mx_on_stdout_report_on_stderr(test_env: dict[str, str]) -> None:
    result = run([str(HERE / "fin.103.options.txt"), "--to", "pacs.008.001.08"], test_env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<BizMsgEnvlp>')
    assert result.stderr.startswith("fin.103 -> pacs.008.001.08: translated (")
    assert "translate.defaulted" in result.stderr


def test_json_report(test_env: dict[str, str]) -> None:
    args = [str(HERE / "fin.103.options.txt"), "--to", "pacs.008.001.08", "--format", "json"]
    result = run(args, test_env)
    assert result.exit_code == 0
    report = orjson.loads(result.stderr_bytes)
    assert report["outcome"] == "translated" and report["data_lost"] is False
    assert report["source"]["message_id"] == "fin.103"
    assert {f["code"] for f in report["findings"]} == {
        "translate.defaulted",
        "translate.regenerated",
    }


def test_loss_exits_1_unless_allowed(test_env: dict[str, str], tmp_path: Path) -> None:
    source = str(HERE / "pacs.008.001.08.lossy.xml")
    lossy = run([source, "--to", "fin.103"], test_env)
    assert lossy.exit_code == 1
    assert parse_mt(lossy.stdout_bytes).user_message is not None  # valid output written
    assert "translate.truncated" in lossy.stderr and "translate.dropped" in lossy.stderr
    out = tmp_path / "out.txt"
    allowed = run([source, "--to", "fin.103", "--allow-loss", "--out", str(out)], test_env)
    assert allowed.exit_code == 0, allowed.stderr
    assert allowed.stdout == ""
    assert out.read_bytes() == (HERE / "pacs.008.001.08.lossy.fin.103.txt").read_bytes()
    assert "translated_with_loss" in allowed.stderr


def test_rejected_source_exits_1_with_its_report(test_env: dict[str, str]) -> None:
    args = [str(HERE / "fin.103.invalid_date.txt"), "--to", "pacs.008.001.08", "-f", "json"]
    result = run(args, test_env)
    assert result.exit_code == 1
    assert result.stdout == ""
    report = orjson.loads(result.stderr_bytes)
    assert report["outcome"] == "refused"
    assert report["source_report"]["findings"][0]["code"] == "mt.field_format"


def test_rejected_source_text_report(test_env: dict[str, str]) -> None:
    result = run([str(HERE / "fin.103.invalid_date.txt"), "--to", "pacs.008.001.08"], test_env)
    assert result.exit_code == 1
    assert "refused (the source was rejected" in result.stderr
    assert "mt.field_format" in result.stderr


def test_invalid_output_goes_to_out_only(test_env: dict[str, str], tmp_path: Path) -> None:
    xml = (HERE / "pacs.008.001.08.lossy.xml").read_bytes()
    source = tmp_path / "in.xml"
    source.write_bytes(xml.replace(b'<InstdAmt Ccy="EUR">', b'<InstdAmt Ccy="USD">'))
    to_stdout = run([str(source), "--to", "fin.103", "--allow-loss"], test_env)
    assert to_stdout.exit_code == 1
    assert to_stdout.stdout == ""
    out = tmp_path / "out.txt"
    to_file = run([str(source), "--to", "fin.103", "--allow-loss", "-o", str(out)], test_env)
    assert to_file.exit_code == 1
    assert out.read_bytes().startswith(b"{1:F01DEUTDEFFAXXX")
    assert "mt.network_rule" in to_file.stderr


def test_stdin(test_env: dict[str, str]) -> None:
    payload = (HERE / "fin.103.options.txt").read_bytes()
    result = run(["-", "--to", "pacs.008.001.08"], test_env, stdin=payload)
    assert result.exit_code == 0, result.stderr
    assert b"<MsgId>TRN-OPT-0001</MsgId>" in result.stdout_bytes


def test_usage_errors_exit_2(test_env: dict[str, str], tmp_path: Path) -> None:
    unsupported = run([str(HERE / "fin.103.options.txt"), "--to", "fin.202"], test_env)
    assert unsupported.exit_code == 2
    assert "fin.103 translates into pacs.008.001.08" in unsupported.stderr
    malformed = run([str(HERE / "fin.103.options.txt"), "--to", "pacs8"], test_env)
    assert malformed.exit_code == 2
    missing = run([str(tmp_path / "absent.txt"), "--to", "pacs.008.001.08"], test_env)
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    no_target = run([str(HERE / "fin.103.options.txt")], test_env)
    assert no_target.exit_code == 2


def test_configuration_errors_exit_3(test_env: dict[str, str], tmp_path: Path) -> None:
    env = {**test_env, "GATEWAY_MAPPING_DIR": str(tmp_path / "nowhere")}
    result = run([str(HERE / "fin.103.options.txt"), "--to", "pacs.008.001.08"], env)
    assert result.exit_code == 3
    assert "error:" in result.stderr


def test_a_source_without_its_schema_exits_3(test_env: dict[str, str], tmp_path: Path) -> None:
    """pacs.009.001.08 is not in the official set: without the added schema it cannot
    be judged, which is the gateway's configuration, not the message's fault."""
    env = {**test_env, "GATEWAY_LOCAL_SCHEMA_DIR": str(tmp_path)}
    result = run([str(HERE / "pacs.009.001.08.cover.xml"), "--to", "fin.202"], env)
    assert result.exit_code == 3
    assert "schema.not_installed" in result.stderr
