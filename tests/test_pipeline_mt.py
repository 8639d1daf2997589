"""SWIFT FIN (MT) through :class:`gateway.pipeline.Gateway`: sniffing, envelopes, RJE
batches, the size cap, locations, rules, hooks and hostile input (gateway.pipeline_mt)."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.detect import Detection
from gateway.fin import STANDARDS_RELEASE
from gateway.messages import MessageId
from gateway.pipeline import Gateway, InboundResult, RuleSelection
from gateway.pipeline_mt import sniff_format
from gateway.report import Finding, Outcome, Severity, finding
from gateway.settings import DEFAULT_MAX_MT_BYTES, Settings
from gateway.tenants import TenantRegistry
from tests.conftest import FIXTURES, REPO, SAMPLES

MT = FIXTURES / "mt"
PIPE = MT / "pipeline"
FIN_103 = (PIPE / "fin.103.txt").read_bytes()
BATCH = (PIPE / "rje_batch.txt").read_bytes()
STATEMENT = (MT / "fin.940/valid/statement.txt").read_bytes()
#: A message type with no mapping file and not allowed for the example tenants.
FREE_FORMAT = (MT / "messages/fin.199.valid.pass.txt").read_bytes()
SAMPLE_FILES = sorted((SAMPLES / "mt").rglob("*.txt")) if (SAMPLES / "mt").is_dir() else []
OWN_VALID = sorted(MT.glob("fin.*/valid/*.txt"))
FAST = 0.2  # seconds allowed for any single hostile payload (issue #8)
#: Received on the value date of the pipeline fixtures: no date-window warnings.
ON_VALUE_DATE = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)


def codes(result: InboundResult) -> list[str]:
    return [f.code for f in result.report.findings]


def only(result: InboundResult, code: str) -> Finding:
    [hit] = [f for f in result.report.findings if f.code == code]
    return hit


def timed_inbound(gateway: Gateway, payload: bytes) -> InboundResult:
    """The result, asserting the best of three runs stays within :data:`FAST` (the cost
    of the code, not of whatever else the shared machine is running)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = gateway.inbound(payload)
        best = min(best, time.perf_counter() - start)
    assert best < FAST, f"{best:.3f}s for {len(payload)} bytes (limit {FAST}s)"
    return result


def line_of(payload: bytes, needle: bytes) -> int:
    return payload[: payload.index(needle)].count(b"\n") + 1


def with_settings(gateway: Gateway, **update: object) -> Gateway:
    settings = gateway.settings.model_copy(update=update)
    return Gateway(settings, gateway.schemas, gateway.mappings, gateway.rules)


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"<Document/>", "xml"),
        (b"\xef\xbb\xbf \r\n\t<?xml version='1.0'?><a/>", "xml"),
        (b"{1:F01DEUTDEFFAXXX0000000001}", "fin"),
        (b"\xef\xbb\xbf\r\n  {4:\r\n:20:X\r\n-}", "fin"),
        (b"{S:{CHK:1}}", "fin"),
        (b'{"json": true}', "xml"),  # { without a block id: the XML parser says what it is
        (b"{a:b}", "xml"),
        (b"hello", "xml"),
        (b"", "xml"),
        (b"   ", "xml"),
        ("<a/>".encode("utf-16"), "xml"),
        (b"Subject: x\r\n{1:F01DEUTDEFFAXXX0000000001}{2:I103BNPAFRPPXXXXN}", "fin"),
        (b"$\r\n{1:F01DEUTDEFFAXXX0000000001}{2:I103BNPAFRPPXXXXN}", "fin"),
        (b"x" * 5000 + b"{2:I103BNPAFRPPXXXXN}", "xml"),  # headers beyond the sniffed prefix
    ],
)
def test_sniff_format(payload: bytes, expected: str) -> None:
    assert sniff_format(payload) == expected


def test_xml_payloads_keep_the_xml_path(gateway: Gateway) -> None:
    mx = (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes()
    report = gateway.inbound(mx).report
    assert report.message_id == "pacs.008.001.08"
    assert report.envelope == "Document"
    assert [f.code for f in gateway.inbound(b'{"a": 1}').report.findings] == ["xml.malformed"]
    assert [r.report.message_id for r in gateway.inbound_each(mx)] == ["pacs.008.001.08"]


# --------------------------------------------------------------------------- real samples


def _sample_id(path: Path) -> str:
    m = re.fullmatch(r"MT(\d{3})([A-Z]*)", path.parent.name)
    assert m, path.parent.name
    return f"fin.{m.group(1)}" + (f".{m.group(2)}" if m.group(2) else "")


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt is absent")
@pytest.mark.parametrize(
    "path", SAMPLE_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in SAMPLE_FILES]
)
def test_every_real_sample_gets_a_report(gateway: Gateway, path: Path) -> None:
    payload = path.read_bytes()
    result = gateway.inbound(payload)
    report = result.report
    assert report.message_id == _sample_id(path)
    assert report.envelope == "FIN"
    assert report.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert report.payload_size == len(payload)
    mapped = gateway.fin_mappings.get(report.message_id or "") is not None
    if report.outcome is Outcome.REJECTED or not mapped:
        assert result.events == []
        assert report.event_ids == []
    else:  # an accepted payment message publishes its canonical event
        [event] = result.events
        assert report.event_ids == [event["event_id"]]
        assert event["source"]["message_id"] == report.message_id
        assert ("mapping", report.message_id) in {(u.kind, u.id) for u in report.judged_by}
    field_20 = re.search(rb"\n:20:([^\r\n]*)", payload)
    assert field_20 is not None
    assert report.business_message_id == field_20.group(1).decode().strip()
    uses = {(u.kind, u.id, u.version) for u in report.judged_by}
    assert ("mt_definitions", report.message_id, STANDARDS_RELEASE) in uses
    assert any(u.kind == "rule_pack" and u.id == "business" for u in report.judged_by)
    assert {"parse", "schema", "rules"} <= set(report.timings_ms)
    for item in report.findings:
        assert item.location.xpath is None
    if "MalformedBlock2" in path.name:
        assert report.outcome is Outcome.REJECTED
        hit = only(result, "mt.block2_malformed")
        assert (hit.location.mt_tag, hit.location.line) == ("{2:}", 1)
    # CrLf, what FIN transmits, gives the same verdict
    crlf = gateway.inbound(payload.replace(b"\n", b"\r\n")).report
    assert (crlf.message_id, crlf.outcome, sorted(f.code for f in crlf.findings)) == (
        report.message_id,
        report.outcome,
        sorted(f.code for f in report.findings),
    )


# --------------------------------------------------------------------------- own fixtures


@pytest.mark.parametrize(
    "path", OWN_VALID, ids=[f"{p.parent.parent.name}/{p.stem}" for p in OWN_VALID]
)
def test_own_fixtures_name_their_message(gateway: Gateway, path: Path) -> None:
    report = gateway.inbound(path.read_bytes()).report
    assert report.message_id == path.parent.parent.name
    assert report.envelope == "FIN"
    assert "mt.batch" not in [f.code for f in report.findings]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_a_complete_mt103_is_accepted_with_its_canonical_event(
    gateway: Gateway, eol: bytes
) -> None:
    payload = FIN_103.replace(b"\n", eol)
    result = gateway.inbound(payload, tenant="EMEA", channel="test", received_at=ON_VALUE_DATE)
    report = result.report
    assert report.outcome is Outcome.ACCEPTED, report.findings
    assert codes(result) == []
    assert report.message_id == "fin.103"
    assert report.envelope == "FIN"
    assert report.business_message_id == "PIPE-103-0001"
    assert (report.tenant, report.channel) == ("EMEA", "test")
    [event] = result.events
    assert report.event_ids == [event["event_id"]]
    assert report.transaction_count == 1
    assert result.stage == "initiation"
    assert result.accepted
    assert event["ids"]["uetr"] == "6f0c1d2e-8a3b-4c5d-9e7f-0a1b2c3d4e5f"
    assert event["source"] == {
        "message_id": "fin.103",
        "business_message_id": "PIPE-103-0001",
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "envelope": "FIN",
        "transaction_index": 0,
        "mapping": "fin.103@1",
    }
    [use] = [u for u in report.judged_by if u.kind == "mapping"]
    assert (use.id, use.origin, use.version) == ("fin.103", "fin/fin.103.yaml", "1")
    # the same payload from the same tenant: the same event id; another tenant: another
    again = gateway.inbound(payload, tenant="EMEA", received_at=ON_VALUE_DATE).events
    other = gateway.inbound(payload, tenant="APAC", received_at=ON_VALUE_DATE).events
    assert again[0]["event_id"] == event["event_id"] != other[0]["event_id"]


def test_rule_findings_on_the_event_are_located_by_mt_tag(gateway: Gateway) -> None:
    result = gateway.inbound(FIN_103)  # received today: the value date is long past
    hit = only(result, "business.date_too_far_in_past")
    assert hit.severity is Severity.WARNING
    assert hit.context["field"] == "dates.interbank_settlement"
    assert (hit.location.mt_tag, hit.location.line) == (":32A:", line_of(FIN_103, b":32A:"))
    assert hit.location.xpath is None


def test_a_message_type_without_a_mapping_file_gets_the_mapping_warning(
    gateway: Gateway,
) -> None:
    result = gateway.inbound(FREE_FORMAT)
    assert "mapping.not_available" in codes(result)
    assert only(result, "mapping.not_available").severity is Severity.WARNING
    assert result.events == []
    assert result.stage is None


@pytest.mark.parametrize(
    ("name", "envelope", "business_id"),
    [
        ("fin.103.txt", "FIN", "PIPE-103-0001"),
        ("ack+fin.103.txt", "FIN/ACK+message", "PIPE-103-0002"),
        ("nak+fin.103.txt", "FIN/NAK+message", "PIPE-103-0003"),
        ("rje_single.txt", "RJE", "PIPE-103-0004"),
    ],
)
def test_envelopes(gateway: Gateway, name: str, envelope: str, business_id: str) -> None:
    result = gateway.inbound((PIPE / name).read_bytes())
    assert result.report.envelope == envelope
    assert result.report.message_id == "fin.103"
    assert result.report.business_message_id == business_id
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings


def test_a_service_message_alone(gateway: Gateway) -> None:
    result = gateway.inbound((MT / "invalid/mt.no_user_message.txt").read_bytes())
    assert result.report.envelope == "FIN/ACK"
    assert result.report.message_id is None
    assert "mt.no_user_message" in codes(result)
    assert result.report.outcome is Outcome.REJECTED


def test_text_before_the_first_block_is_sniffed_as_fin_and_reported(gateway: Gateway) -> None:
    result = gateway.inbound((PIPE / "leading_text.txt").read_bytes())
    assert result.report.message_id == "fin.103"
    assert only(result, "mt.text_outside_blocks").location.line == 1
    assert result.report.outcome is Outcome.REJECTED


def test_a_dollar_inside_a_field_is_not_an_rje_separator(gateway: Gateway) -> None:
    payload = (PIPE / "dollar_in_field.txt").read_bytes()
    result = gateway.inbound(payload)
    assert result.report.envelope == "FIN"
    assert "mt.batch" not in codes(result)
    hit = only(result, "mt.text_charset")
    assert (hit.location.mt_tag, hit.location.line) == (":70:", line_of(payload, b":70:"))
    assert [r.report.envelope for r in gateway.inbound_each(payload)] == ["FIN"]


def test_a_utf8_bom_and_whitespace_before_the_message_are_tolerated(gateway: Gateway) -> None:
    result = gateway.inbound(b"\xef\xbb\xbf\r\n " + FIN_103 + b"\r\n", received_at=ON_VALUE_DATE)
    assert codes(result) == []
    assert len(result.events) == 1


# --------------------------------------------------------------------------- RJE batches


def test_an_rje_batch_is_one_finding_when_one_message_is_expected(gateway: Gateway) -> None:
    result = gateway.inbound(BATCH)
    report = result.report
    assert report.outcome is Outcome.REJECTED
    assert report.envelope == "RJE"
    assert report.message_id is None
    assert report.business_message_id is None
    assert codes(result) == ["mt.batch"]
    many = only(gateway.inbound(BATCH * 10), "mt.batch").context
    assert (many["messages"], len(many["message_ids"])) == (30, 20)  # the first 20 listed
    hit = only(result, "mt.batch")
    assert hit.context == {"messages": 3, "message_ids": ["fin.103", "fin.202", "fin.103"]}
    assert report.payload_sha256 == hashlib.sha256(BATCH).hexdigest()


def test_each_rje_entry_gets_its_own_report_with_file_lines(gateway: Gateway) -> None:
    # an error in the second entry is located at its line in the whole file
    payload = BATCH.replace(b":21:PIPE-103-0011", b":21:PIPE-103&0011")
    results = list(gateway.inbound_each(payload))
    reports = [r.report for r in results]
    assert [r.message_id for r in reports] == ["fin.103", "fin.202", "fin.103"]
    assert [r.envelope for r in reports] == ["RJE/ACK+message", "RJE", "RJE"]
    assert [r.business_message_id for r in reports] == [
        "PIPE-103-0011",
        "PIPE-202-0012",
        "PIPE-103-0013",
    ]
    assert [r.outcome for r in reports] == [
        Outcome.ACCEPTED_WITH_WARNINGS,
        Outcome.REJECTED,
        Outcome.ACCEPTED_WITH_WARNINGS,
    ]
    hit = only(results[1], "mt.text_charset")
    assert (hit.location.mt_tag, hit.location.line) == (":21:", line_of(payload, b":21:PIPE"))
    entries = [e for e in payload.split(b"$") if e.strip()]
    assert [r.payload_sha256 for r in reports] == [hashlib.sha256(e).hexdigest() for e in entries]
    assert [r.payload_size for r in reports] == [len(e) for e in entries]
    assert len({r.report_id for r in reports}) == 3


def test_rje_entries_are_judged_one_at_a_time(gateway: Gateway) -> None:
    seen: list[str] = []
    for result in gateway.inbound_each(BATCH):
        seen.append(str(result.report.message_id))
        if len(seen) == 1:
            break  # nothing more is parsed when the caller stops
    assert seen == ["fin.103"]


# --------------------------------------------------------------------------- the size cap


def test_fin_over_the_cap_is_not_parsed(gateway: Gateway) -> None:
    small = with_settings(gateway, max_mt_bytes=len(FIN_103) - 1)
    result = small.inbound(FIN_103)
    assert codes(result) == ["mt.too_large"]
    hit = only(result, "mt.too_large")
    assert hit.context == {"size": len(FIN_103), "limit": len(FIN_103) - 1}
    assert result.report.message_id is None
    assert result.report.envelope == "FIN"
    assert result.report.judged_by == []
    exact = with_settings(gateway, max_mt_bytes=len(FIN_103))
    assert codes(exact.inbound(FIN_103, received_at=ON_VALUE_DATE)) == []


def test_the_cap_applies_per_entry_when_a_batch_is_split(gateway: Gateway) -> None:
    entries = [e for e in BATCH.split(b"$") if e.strip()]
    cap = max(len(e) for e in entries[1:])
    assert len(entries[0]) > cap  # the ACK + MT103 entry is the longest
    capped = with_settings(gateway, max_mt_bytes=cap)
    assert [codes(r) for r in capped.inbound_each(BATCH, received_at=ON_VALUE_DATE)] == [
        ["mt.too_large"],
        [],
        [],
    ]
    assert codes(capped.inbound(BATCH)) == ["mt.too_large"]  # one request: the whole payload


def test_the_default_cap_is_documented() -> None:
    assert Settings.from_env({}).max_mt_bytes == DEFAULT_MAX_MT_BYTES == 16 * 1024
    assert Settings.from_env({"GATEWAY_MAX_MT_BYTES": "1000"}).max_mt_bytes == 1000
    assert "GATEWAY_MAX_MT_BYTES" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("raw", ["0", "-5", "lots"])
def test_a_bad_cap_names_the_key_and_value(raw: str) -> None:
    from gateway.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"GATEWAY_MAX_MT_BYTES.*{raw}"):
        Settings.from_env({"GATEWAY_MAX_MT_BYTES": raw})


# --------------------------------------------------------------------------- hostile input


def _hostile() -> dict[str, tuple[bytes, str]]:
    head = FIN_103[: FIN_103.index(b"{4:")]
    room = DEFAULT_MAX_MT_BYTES - 200  # structure attacks just under the cap: parsed
    return {
        "over the cap": (FIN_103 + b"\n" + b"A" * DEFAULT_MAX_MT_BYTES, "mt.too_large"),
        "broken blocks": (b"{1:" * (room // 3), "mt.too_many_findings"),
        "empty blocks": (b"{1:}" * (room // 4), "mt.too_many_findings"),
        "nested braces": (head + b"{3:" + b"{1:" * (room // 3), "mt.unbalanced_braces"),
        "line breaks": (head + b"{4:" + b"\n" * room + b"-}", "mt.text_field_line"),
        "many dollars": (b"${1:" * (room // 4), "mt.batch"),
        "X charset": (FIN_103.replace(b"ATELIERS", "ÄTELIERS <&>".encode()), "mt.text_charset"),
        "text over 10,000": (
            FIN_103.replace(b":71A:SHA", b":70:" + b"ABCDEFGHIJ\n" * 1_000 + b":71A:SHA"),
            "mt.text_too_long",
        ),
        "field flood": (head + b"{4:\r\n" + b":20:X\r\n" * 2_000 + b"-}", "mt.text_too_long"),
        "NUL bytes": (FIN_103.replace(b"PIPE-103", b"PIPE\x00\x00103"), "mt.text_charset"),
        "NUL in header": (FIN_103.replace(b"DEUTDEFF", b"DEUT\x00EFF", 1), "mt.block1_malformed"),
        "invalid UTF-8": (FIN_103.replace(b"ATELIERS", b"AT\xff\xfeLIERS"), "mt.encoding"),
        "bare CR in a field": (FIN_103.replace(b"12 RUE", b"12\rRUE"), "mt.text_charset"),
        "CRLF injection closing block 4": (
            FIN_103.replace(b":71A:SHA", b":70:X\r\n-}{5:{CHK:000000000000}}{4:\r\n:20:EVIL"),
            "mt.block_duplicate",
        ),
    }


HOSTILE = _hostile()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_fin_is_a_quick_clear_rejection(gateway: Gateway, name: str) -> None:
    payload, code = HOSTILE[name]
    assert sniff_format(payload) == "fin"
    result = timed_inbound(gateway, payload)
    assert result.report.outcome is Outcome.REJECTED
    assert code in codes(result)
    assert result.events == []
    # the split path (CLI) is bounded the same way: every entry is capped
    start = time.perf_counter()
    for _ in gateway.inbound_each(payload):
        pass
    assert time.perf_counter() - start < 10 * FAST


def test_fin_crlf_injected_field_is_never_the_business_id(gateway: Gateway) -> None:
    payload = FIN_103.replace(b"12 RUE DE LA PAIX", b"12 RUE DE LA PAIX\r\n:20:EVIL")
    report = gateway.inbound(payload).report
    assert report.business_message_id == "PIPE-103-0001"  # the first field 20 only


def test_hostile_findings_are_capped(gateway: Gateway) -> None:
    report = gateway.inbound(b"{1:" * 5_000).report
    assert len(report.findings) <= 501


# --------------------------------------------------------------------------- rules, hooks, lines


def test_tenant_rules_judge_mt_message_ids(gateway: Gateway) -> None:
    emea = TenantRegistry.load(REPO / "tenants").get("EMEA")
    assert emea is not None
    assert emea.allows("fin.103")
    assert not emea.allows("fin.199")
    allowed = gateway.inbound(FIN_103, tenant="EMEA", rules=emea.rule_selection())
    assert "tenant.message_allowed" not in codes(allowed)
    assert ("rule_pack", "tenant:EMEA") in {(u.kind, u.id) for u in allowed.report.judged_by}
    refused = gateway.inbound(FREE_FORMAT, tenant="EMEA", rules=emea.rule_selection())
    hit = only(refused, "tenant.message_allowed")
    assert hit.severity is Severity.ERROR
    assert refused.report.outcome is Outcome.REJECTED
    relaxed = gateway.inbound(
        FREE_FORMAT,
        tenant="EMEA",
        rules=emea.rule_selection(),
        relaxed=frozenset({"tenant.message_allowed"}),
    )
    assert only(relaxed, "tenant.message_allowed").severity is Severity.WARNING
    assert only(relaxed, "tenant.message_allowed").context["relaxed"] is True


def test_schema_only_judges_without_rule_packs(gateway: Gateway) -> None:
    report = gateway.inbound(FIN_103, rules=None).report
    assert [u.kind for u in report.judged_by] == ["mt_definitions", "mapping"]
    assert "rules" not in report.timings_ms


def test_scheme_packs_named_for_mx_do_not_judge_mt(gateway: Gateway) -> None:
    report = gateway.inbound(FIN_103, rules=RuleSelection(packs=("cbpr-plus",))).report
    assert {u.id for u in report.judged_by if u.kind == "rule_pack"} == {"business"}


def test_extra_findings_get_the_detection_and_field_20(gateway: Gateway) -> None:
    calls: list[tuple[Detection, str | None]] = []

    def hook(detection: Detection, business_id: str | None) -> list[Finding]:
        calls.append((detection, business_id))
        return [finding("business.duplicate_message", "seen before", mt_tag=":20:")]

    result = gateway.inbound((PIPE / "ack+fin.103.txt").read_bytes(), extra_findings=hook)
    [(detection, business_id)] = calls
    assert detection.message_id == MessageId("fin.103")
    assert detection.envelope == "FIN/ACK+message"
    assert detection.document is None
    assert business_id == "PIPE-103-0002"
    hit = only(result, "business.duplicate_message")
    assert (hit.location.mt_tag, hit.location.line) == (":20:", 2)  # the tag's line, filled in
    assert result.report.outcome is Outcome.REJECTED
    assert "mapping.not_available" not in codes(result)  # an error: no mapping attempted
    assert "mapping" not in {u.kind for u in result.report.judged_by}
    assert result.events == []


def test_lines_are_filled_only_for_tags_that_occur_once(gateway: Gateway) -> None:
    def hook(_detection: Detection, _business_id: str | None) -> list[Finding]:
        return [
            finding("mt.field_format", "x", mt_tag=":61:"),  # twice in the statement
            finding("mt.field_format", "y", mt_tag=":25:"),
            finding("mt.field_format", "z", mt_tag="{2:}"),
        ]

    result = gateway.inbound(STATEMENT, extra_findings=hook)
    lines = {f.location.mt_tag: f.location.line for f in result.report.findings}
    assert lines[":61:"] is None
    assert lines[":25:"] == line_of(STATEMENT, b":25:")
    assert lines["{2:}"] == 1


def test_field_20_longer_than_an_id_is_not_a_business_id(gateway: Gateway) -> None:
    payload = FIN_103.replace(b":20:PIPE-103-0001", b":20:" + b"R" * 36)
    assert gateway.inbound(payload).report.business_message_id is None


def test_mt_definitions_are_identified_by_release_and_hash(gateway: Gateway) -> None:
    [use] = [u for u in gateway.inbound(FIN_103).report.judged_by if u.kind == "mt_definitions"]
    assert (use.id, use.origin, use.version) == ("fin.103", "gateway.fin", STANDARDS_RELEASE)
    assert re.fullmatch(r"[0-9a-f]{64}", use.sha256)
