"""Fuzzing detection and both parsers (hypothesis): only the gateway's own typed outcomes.

Targets, each fed arbitrary bytes and mutations of every valid fixture (bytes flipped,
inserted, deleted; lines deleted, duplicated, swapped; markup and FIN tokens spliced in):

* :func:`gateway.detect.detect` and :func:`gateway.mx.parse_xml` - a Detection / a
  ParsedXml whose findings are catalogued input findings; never an exception;
* :func:`gateway.mt.parse_mt`, :func:`gateway.mt.validate_mt_structure` and
  :func:`gateway.fin.validate_fin` - never an exception, catalogued findings;
* :meth:`gateway.pipeline.Gateway.inbound` (detect, parse, XSD, rules, mapping, for MX
  and MT) - a Report that serialises, events only when accepted; never an exception:
  the HTTP API turns any exception there into a 500;
* :meth:`gateway.service.InboundService.submit` over the real store (SQLite and
  PostgreSQL) - a SubmitResult; never an exception (e.g. a value the database refuses).

Every crash found is kept in ``tests/fixtures/fuzz/`` and replayed through every target
by :func:`test_kept_crashers_stay_fixed`. Examples per test: the CI tier below;
``ISOGW_RELIABILITY_TIER=long`` (``make reliability``) runs :data:`LONG_EXAMPLES`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.detect import Detection, detect
from gateway.fin import validate_fin
from gateway.mt import ParsedMt, parse_mt, validate_mt_structure
from gateway.mx import ParsedXml, parse_xml
from gateway.pipeline import MAX_FINDING_TEXT, Gateway, InboundResult
from gateway.report import CATALOGUE, Finding, Layer, Outcome
from gateway.service import InboundService, SubmitResult
from gateway.store import Store
from gateway.tenants import Tenant, TenantRegistry
from tests.conftest import FIXTURES, REPO, samples_available
from tests.reliability_support import LONG

LONG_EXAMPLES = 5_000
CRASHERS = FIXTURES / "fuzz"


def examples(ci: int) -> int:
    return LONG_EXAMPLES if LONG else ci


def fuzz(ci: int, *extra: HealthCheck) -> settings:
    return settings(
        max_examples=examples(ci),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, *extra],
    )


MX_VALID = sorted(FIXTURES.glob("mx/*/valid/*.xml"))
MT_VALID = sorted({*FIXTURES.glob("mt/**/valid/*.txt"), *FIXTURES.glob("mt/messages/*.valid.*")})
SEEDS = [path.read_bytes() for path in MX_VALID + MT_VALID]

TOKENS = [
    b"<", b">", b"/>", b"</", b"<Document>", b"</Document>", b"<AppHdr>", b"<![CDATA[", b"]]>",
    b"<!--", b"-->", b"<?x?>", b"<!DOCTYPE d>", b"&amp;", b"&#0;", b"&x;", b'="', b"xmlns=",
    b'xmlns:p="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"', b"\xef\xbb\xbf", b"\x00",
    b"\xff", b"\xc3", b"{1:", b"{2:I103", b"{2:O", b"{3:{121:", b"{4:\r\n", b"\r\n-}", b"-}",
    b"{5:{CHK:", b"}", b"{", b"$", b":20:", b":32A:", b":50K:", b":59:", b":71A:", b":23B:",
    b"\r\n", b"\n", b"\r", b"//", b"/", b",", b"EUR", b"999999999999999,99", b"991231",
    b"\t", b"                    ",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid fixture with 1-4 mutations."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "token", "delete", "line"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "token":
            data[at:at] = draw(st.sampled_from(TOKENS)) * draw(st.integers(1, 3))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            action = draw(st.sampled_from(["delete", "duplicate", "swap"]))
            if action == "delete":
                del lines[i]
            elif action == "duplicate":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


tokens = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8)), max_size=40).map(
    b"".join
)
payloads = st.one_of(st.binary(max_size=1024), tokens, mutated())


def rule_ids(gateway: Gateway) -> frozenset[str]:
    """The ids of every rule of the loaded packs (rule findings carry them as codes)."""
    assert gateway.rules is not None
    packs = gateway.rules.packs.by_name.values()
    return frozenset(rule.id for versions in packs for pack in versions for rule in pack.rules)


def catalogued(findings: list[Finding], rules: frozenset[str] = frozenset()) -> None:
    for item in findings:
        assert item.code in CATALOGUE or item.code in rules, item.code
        assert len(item.message) <= MAX_FINDING_TEXT + 40, item.message[:200]


def check_detect_and_parse(payload: bytes) -> None:
    detection = detect(payload)
    assert isinstance(detection, Detection)
    catalogued(detection.findings)
    parsed = parse_xml(payload)
    assert isinstance(parsed, ParsedXml)
    catalogued(parsed.findings)
    assert all(f.layer is Layer.INPUT for f in parsed.findings)


def check_mt(payload: bytes) -> None:
    parsed = parse_mt(payload)
    assert isinstance(parsed, ParsedMt)
    findings = validate_mt_structure(parsed)
    message = parsed.user_message
    too_long = any(f.code == "mt.text_too_long" for f in findings)  # as the pipeline does
    if message is not None and message.text is not None and not too_long:
        findings += validate_fin(message)
    catalogued(findings)


def check_inbound(gateway: Gateway, payload: bytes) -> InboundResult:
    result = gateway.inbound(payload, tenant="EMEA", channel="fuzz")
    report = result.report
    assert report.payload_size == len(payload)
    catalogued(report.findings, rule_ids(gateway))
    orjson.loads(report.model_dump_json())  # what the store and the API write
    orjson.dumps(result.events)
    if report.outcome is Outcome.REJECTED:
        assert result.events == [] and report.event_ids == []
    else:
        assert report.event_ids == [event["event_id"] for event in result.events]
    return result


@fuzz(400)
@given(payloads)
def test_detect_and_parse_xml_never_raise(payload: bytes) -> None:
    check_detect_and_parse(payload)


@fuzz(400)
@given(payloads)
def test_mt_parser_and_definitions_never_raise(payload: bytes) -> None:
    check_mt(payload)


@fuzz(400)
@given(payload=st.one_of(mutated(), tokens))
def test_inbound_pipeline_answers_with_a_report(gateway: Gateway, payload: bytes) -> None:
    check_inbound(gateway, payload)


@pytest.fixture(scope="module")
def emea() -> Tenant:
    tenant = TenantRegistry.load(REPO / "tenants").get("EMEA")
    assert tenant is not None
    return tenant


@fuzz(60, HealthCheck.function_scoped_fixture)  # the store is shared by the examples
@given(payload=mutated())
def test_submit_over_the_real_store_answers(
    gateway: Gateway, store: Store, emea: Tenant, payload: bytes
) -> None:
    """A mutated message through the idempotency protocol, the pipeline and the commit
    on SQLite and PostgreSQL: always a SubmitResult (202/403/422), never an exception."""
    result = InboundService(gateway, store).submit(
        emea, str(uuid.uuid4()), payload, correlation_id="fuzz"
    )
    assert isinstance(result, SubmitResult)
    assert result.status in (202, 403, 422), result
    orjson.loads(result.body or b"{}")


def crashers(target: str = "") -> list[Path]:
    return sorted(p for p in (CRASHERS / target).rglob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.parametrize("path", crashers(), ids=lambda p: str(p.relative_to(CRASHERS)))
def test_kept_crashers_stay_fixed(gateway: Gateway, path: Path) -> None:
    payload = path.read_bytes()
    check_detect_and_parse(payload)
    check_mt(payload)
    check_inbound(gateway, payload)


@pytest.mark.parametrize("path", crashers("submit"), ids=lambda p: p.name)
def test_kept_submit_crashers_stay_fixed(
    gateway: Gateway, store: Store, emea: Tenant, path: Path
) -> None:
    """The same accepted message under two keys: the second is a duplicate (422), never a
    second commit of the same event ids (a 503 'write refused' before the fix)."""
    service = InboundService(gateway, store)
    payload = path.read_bytes()
    first = service.submit(emea, str(uuid.uuid4()), payload, correlation_id="fuzz")
    second = service.submit(emea, str(uuid.uuid4()), payload, correlation_id="fuzz")
    assert first.status == 202 or not samples_available()  # their XSDs come from the samples
    if first.status == 202:
        assert second.status == 422
        codes = [f["code"] for f in orjson.loads(second.body)["findings"]]
        assert "business.duplicate_message" in codes
