"""Building blocks of the compliance UI: the masked message view, the SVG charts, the
password hashes and the settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import ConfigError
from gateway.web.payload_view import MAX_LINES, mask_fin, mask_xml, payload_lines
from gateway.web.settings import ComplianceSettings
from gateway.web.svg import Series, horizontal_bars, nice_step, stacked_bars
from gateway.web.users import ComplianceUser, hash_password, verify_password
from tests.conftest import FIXTURES

MT103 = (FIXTURES / "mt/fin.103/valid/customer_transfer.txt").read_text()
PACS = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_text()


def test_xml_view_masks_parties_and_accounts_and_keeps_codes() -> None:
    masked = mask_xml(PACS)
    for secret in ("DE81370400440218455600", "NL38INGB0006482913", "Kessler Logistik KG"):
        assert secret in PACS and secret not in masked
    for kept in ("COBADEFFXXX", "<Ctry>DE</Ctry>", "KLM-INV-2024-1181", "1520.75"):
        assert kept in masked
    assert masked.count("\n") == PACS.count("\n")  # line numbers stay those of the message
    assert mask_xml("<a><b>4111 1111 1111 1111</b></a>") == "<a><b>41***************11</b></a>"


def test_xml_view_survives_broken_and_prefixed_markup() -> None:
    text = (
        "<p:Document xmlns:p='x'><p:Dbtr><p:Nm>Jane Roe</p:Nm><!-- <Nm>x</Nm> -->"
        "<p:Ctry>GB</p:Ctry></p:Dbtr><p:Cdtr><p:Nm>John</p:Cdtr><Nm>open"
    )
    masked = mask_xml(text)
    assert "Jane Roe" not in masked and "John" not in masked
    assert "<p:Ctry>GB</p:Ctry>" in masked and "<!-- <Nm>x</Nm> -->" in masked
    assert masked.endswith("<Nm>open")  # outside any party after the broken close


def test_fin_view_masks_ordering_customer_and_beneficiary() -> None:
    masked = mask_fin(MT103)
    for secret in ("DE44500105175407324931", "MUSTERMANN", "ATELIERS DURAND", "75011 PARIS"):
        assert secret in MT103 and secret not in masked
    for kept in (":52A:DEUTDEFFXXX", ":57A:BNPAFRPPXXX", ":32A:240131EUR12500,00", ":71A:SHA"):
        assert kept in masked
    assert masked.count("\n") == MT103.count("\n")


def test_lines_carry_the_findings_that_point_at_them() -> None:
    findings = [
        {"location": {"line": 5}},
        {"location": {"mt_tag": "59"}},
        {"location": {"xpath": "/nowhere"}},
        {"location": {"line": 10_000}},
    ]
    lines = payload_lines(MT103.encode(), findings)
    hits = {line.number: line.findings for line in lines if line.highlighted}
    beneficiary = next(n for n, line in enumerate(MT103.splitlines(), 1) if line.startswith(":59:"))
    assert hits == {5: [0], beneficiary: [1]}


def test_long_messages_show_the_lines_around_findings() -> None:
    text = "\n".join(f"<X>{n}</X>" for n in range(1, 20_001))
    lines = payload_lines(text.encode(), [{"location": {"line": 15_000}}])
    numbers = [line.number for line in lines]
    assert numbers[:200] == list(range(1, 201))
    assert numbers[200:] == list(range(14_995, 15_006))
    assert lines[200].gap_before and len(lines) < MAX_LINES


def test_svg_charts_are_well_formed_and_escape_labels() -> None:
    hostile = '<script>alert("x")</script>&'
    chart = stacked_bars(
        ["2026-11-01", "2026-11-02", hostile],
        [Series("accepted", "#2da44e", [3, 0, 1]), Series(hostile, "#cf222e", [1, 0, 2])],
        title=hostile,
        rate=[0.75, None, 1 / 3],
        rate_name="acceptance rate",
    )
    tree = etree.fromstring(chart.encode())
    assert tree.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in chart and "style=" not in chart
    assert len(tree.findall(".//{http://www.w3.org/2000/svg}rect")) >= 4
    assert tree.findall(".//{http://www.w3.org/2000/svg}polyline") == []  # no line over a gap
    bars = horizontal_bars([(hostile, 3.0), ("schema.pattern", 1.0)], title="Top")
    assert etree.fromstring(bars.encode()) is not None and "<script" not in bars
    assert etree.fromstring(horizontal_bars([], title="none").encode()) is not None


def test_axis_steps_are_round() -> None:
    assert [nice_step(v) for v in (0, 3, 4, 5, 9, 41, 130, 5000)] == [
        1.0, 1.0, 1.0, 2.0, 5.0, 20.0, 50.0, 2000.0,
    ]  # fmt: skip


def test_passwords_are_salted_scrypt_hashes() -> None:
    first = hash_password("correct horse battery")
    assert (first.n, first.r, first.p) == (2**15, 8, 1)
    second = hash_password("correct horse battery", n=2**12)
    assert first.salt != second.salt and first.hash != second.hash
    user = ComplianceUser(username="alice", password=second)
    assert verify_password(user, "correct horse battery")
    assert not verify_password(user, "correct horse battery ")
    assert not verify_password(None, "anything")


def test_settings_from_the_environment(tmp_path: Path) -> None:
    defaults = ComplianceSettings.from_env({})
    assert defaults.secure_cookies == "auto" and defaults.chain_signer() is None
    other = ComplianceSettings.from_env({}).secret_key.get_secret_value()
    assert defaults.secret_key.get_secret_value() != other  # random per process when unset
    key_file = tmp_path / "ui.key"
    key_file.write_text("k" * 40 + "\n")
    loaded = ComplianceSettings.from_env(
        {
            "GATEWAY_UI_SECURE_COOKIES": "always",
            "GATEWAY_UI_SECRET_KEY_FILE": str(key_file),
            "GATEWAY_UI_SESSION_IDLE_MINUTES": "10",
            "GATEWAY_UI_LOGIN_MAX_FAILURES": "3",
        }
    )
    assert loaded.secret_key.get_secret_value() == "k" * 40
    assert loaded.session_idle == timedelta(minutes=10) and loaded.login_max_failures == 3
    for env, named in (
        ({"GATEWAY_UI_SECURE_COOKIES": "sometimes"}, "GATEWAY_UI_SECURE_COOKIES"),
        ({"GATEWAY_UI_SECRET_KEY": "short"}, "GATEWAY_UI_SECRET_KEY"),
        ({"GATEWAY_UI_SESSION_MAX_HOURS": "0"}, "GATEWAY_UI_SESSION_MAX_HOURS"),
        ({"GATEWAY_UI_SECRET_KEY_FILE": str(tmp_path / "nope")}, "GATEWAY_UI_SECRET_KEY_FILE"),
    ):
        with pytest.raises(ConfigError, match=named):
            ComplianceSettings.from_env(env)
    not_a_key = tmp_path / "x.pem"
    not_a_key.write_text("hello")
    with pytest.raises(ConfigError, match="GATEWAY_CHAIN_SIGNING_KEY_FILE"):
        ComplianceSettings.from_env(
            {"GATEWAY_CHAIN_SIGNING_KEY_FILE": str(not_a_key)}
        ).chain_signer()
