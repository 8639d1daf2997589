"""Hostile and malformed input: gateway.mx.parse_xml and the inbound pipeline.

Every hostile payload must be rejected with the right input-layer finding code,
must never be expanded (no entity, no DTD, no XInclude) and must be handled in
well under :data:`FAST` seconds.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.detect import detect
from gateway.mx import DEFAULT_MAX_BYTES, MAX_DEPTH, ParsedXml, parse_xml, scan_prolog
from gateway.pipeline import Gateway, InboundResult
from gateway.report import CATALOGUE, Layer, Outcome, Severity

T = TypeVar("T")

FAST = 0.2  # seconds allowed for any single hostile payload
ISO = "urn:iso:std:iso:20022:tech:xsd:"
NS = ISO + "pacs.008.001.08"
XI = "http://www.w3.org/2001/XInclude"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mx"
MINIMAL = FIXTURES / "pacs.008.001.08" / "valid" / "minimal.xml"
PASSWD = Path("/etc/passwd")


# --------------------------------------------------------------------------- helpers


def timed(fn: Callable[..., T], *args: Any, limit: float = FAST, **kwargs: Any) -> T:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    assert elapsed < limit, f"{fn.__name__} took {elapsed:.3f}s (limit {limit}s)"
    return result


def codes(parsed: ParsedXml | InboundResult) -> list[str]:
    findings = parsed.findings if isinstance(parsed, ParsedXml) else parsed.report.findings
    return [f.code for f in findings]


def rejected_with(parsed: ParsedXml, code: str) -> None:
    """``parsed`` failed with exactly one input-layer error ``code`` and no tree."""
    assert parsed.tree is None
    assert codes(parsed) == [code]
    only = parsed.findings[0]
    assert only.layer is Layer.INPUT
    assert only.severity is Severity.ERROR
    # Nothing was expanded into the report.
    assert len(only.message) < 500
    assert len(repr(only)) < 2000


def inbound_rejected_with(gateway: Gateway, payload: bytes, code: str) -> InboundResult:
    result = timed(gateway.inbound, payload)
    report = result.report
    assert report.outcome is Outcome.REJECTED
    assert codes(result) == [code]
    assert result.events == []
    assert report.event_ids == []
    assert report.transaction_count == 0
    assert report.message_id is None
    assert report.payload_size == len(payload)
    assert len(result.report.model_dump_json()) < 5000
    return result


def doc(body: str = "<x/>", ns: str = NS) -> str:
    return f'<Document xmlns="{ns}">{body}</Document>'


def billion_laughs(levels: int = 10, fanout: int = 10) -> str:
    """10^10 'lol's if expanded (the classic is 10 levels of 10 references)."""
    decls = ['<!ENTITY lol0 "lol">']
    decls += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * fanout}">' for i in range(1, levels + 1)]
    return "<!DOCTYPE Document [\n " + "\n ".join(decls) + "\n]>\n" + doc(f"<x>&lol{levels};</x>")


def quadratic_blowup(size: int = 50_000, refs: int = 50_000) -> str:
    """One ~50 KB entity referenced 50,000 times: 2.5 GB if expanded."""
    return f'<!DOCTYPE Document [<!ENTITY a "{"x" * size}">]>' + doc("<x>" + "&a;" * refs + "</x>")


def external_entity(url: str) -> str:
    return f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "{url}">]>' + doc("<x>&xxe;</x>")


def passwd_markers() -> list[bytes]:
    if not PASSWD.is_file():
        return []
    lines = [line for line in PASSWD.read_bytes().splitlines() if line.strip()]
    return [line for line in lines[:3] if len(line) > 8]


def assert_no_leak(marker: bytes, *things: object) -> None:
    text = marker.decode("utf-8", "replace")
    for thing in things:
        if isinstance(thing, bytes):
            assert marker not in thing
        else:
            assert text not in repr(thing)
            assert text not in str(thing)


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, bytes]:
    """A local file whose content must never show up anywhere."""
    marker = b"TOP-SECRET-7f3c9e1b-never-expand"
    path = tmp_path / "secret.txt"
    path.write_bytes(marker + b"\n")
    return path, marker


# --------------------------------------------------------------------------- DOCTYPE and entities

DOCTYPE_PAYLOADS = {
    "billion_laughs": billion_laughs(),
    "quadratic_blowup": quadratic_blowup(),
    "external_entity_passwd": external_entity("file:///etc/passwd"),
    "external_dtd_http": '<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">' + doc(),
    "external_dtd_public": (
        '<!DOCTYPE Document PUBLIC "-//EVIL//DTD x//EN" "http://127.0.0.1:9/x.dtd">' + doc()
    ),
    "parameter_entity": (
        '<!DOCTYPE Document [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>' + doc()
    ),
    "empty_doctype": "<!DOCTYPE Document>" + doc(),
    "attlist_default_namespace": (
        f'<!DOCTYPE Document [<!ATTLIST Document xmlns CDATA #FIXED "{NS}">]><Document/>'
    ),
}


@pytest.mark.parametrize("name", DOCTYPE_PAYLOADS)
def test_doctype_payloads_are_rejected_unprocessed(name: str) -> None:
    payload = DOCTYPE_PAYLOADS[name].encode()
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.doctype_forbidden")
    assert parsed.findings[0].location.line == 1
    assert parsed.findings[0].iso_reason == "FF01"


@pytest.mark.parametrize("name", DOCTYPE_PAYLOADS)
def test_doctype_payloads_are_rejected_by_detect(name: str) -> None:
    detection = timed(detect, DOCTYPE_PAYLOADS[name].encode())
    assert detection.message_id is None
    assert [f.code for f in detection.findings] == ["xml.doctype_forbidden"]


@pytest.mark.parametrize("name", DOCTYPE_PAYLOADS)
def test_doctype_payloads_are_rejected_by_the_gateway(gateway: Gateway, name: str) -> None:
    inbound_rejected_with(gateway, DOCTYPE_PAYLOADS[name].encode(), "xml.doctype_forbidden")


def test_billion_laughs_is_not_expanded_even_when_large() -> None:
    # 20 levels of fan-out 10: 10^20 if expanded. Must still be instant.
    payload = billion_laughs(levels=20).encode()
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")


def test_external_entity_never_reads_etc_passwd(gateway: Gateway) -> None:
    markers = passwd_markers()
    if not markers:
        pytest.skip("/etc/passwd is not readable here")
    payload = external_entity("file:///etc/passwd").encode()
    parsed = timed(parse_xml, payload)
    result = inbound_rejected_with(gateway, payload, "xml.doctype_forbidden")
    detection = timed(detect, payload)
    for marker in markers:
        assert_no_leak(marker, parsed, parsed.findings, detection, result.report_json())
        assert_no_leak(marker, result.report.model_dump_json().encode())


def test_external_entity_to_a_local_file_is_never_read(
    gateway: Gateway, secret: tuple[Path, bytes]
) -> None:
    path, marker = secret
    payload = external_entity(path.as_uri()).encode()
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.doctype_forbidden")
    result = inbound_rejected_with(gateway, payload, "xml.doctype_forbidden")
    assert_no_leak(marker, parsed, result.report_json(), timed(detect, payload))


def test_external_dtd_file_declaring_entities_is_never_loaded(
    tmp_path: Path, secret: tuple[Path, bytes]
) -> None:
    _, marker = secret
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak "{marker.decode()}">', encoding="ascii")
    payload = (
        f'<!DOCTYPE Document SYSTEM "{dtd.as_uri()}">'.encode() + doc("<x>&leak;</x>").encode()
    )
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.doctype_forbidden")
    assert_no_leak(marker, parsed)


PROLOGS = [
    # (prefix before the DOCTYPE, expected line, expected column)
    ("", 1, 1),
    ('<?xml version="1.0" encoding="UTF-8"?>', 1, 39),
    ('<?xml version="1.0"?>\n', 2, 1),
    ("\n\n   \t", 3, 5),
    ("<!-- a comment -->", 1, 19),
    ("<!-- <!DOCTYPE in a comment is fine --> <!-- two -->\n", 2, 1),
    ("<?xml-stylesheet href='x.xsl'?>\r\n", 2, 1),
    ('<?xml version="1.0"?>\n<!-- c -->\n<?pi data?>\n  ', 4, 3),
]


@pytest.mark.parametrize(("prefix", "line", "column"), PROLOGS)
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "utf8-bom"])
def test_doctype_after_prolog_noise_is_found(
    prefix: str, line: int, column: int, bom: bytes
) -> None:
    payload = bom + (prefix + billion_laughs()).encode()
    assert scan_prolog(payload) == (line, column)
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.doctype_forbidden")
    assert (parsed.findings[0].location.line, parsed.findings[0].location.column) == (line, column)


@pytest.mark.parametrize(
    "payload",
    [
        doc().encode(),
        b'<?xml version="1.0"?><!-- <!DOCTYPE x> --><Document/>',
        b"<Document><![CDATA[<!DOCTYPE x>]]></Document>",
        b"<Document>&lt;!DOCTYPE x&gt;</Document>",
        b"",
        b"<!-- unterminated comment <!DOCTYPE x>",
    ],
)
def test_scan_prolog_ignores_doctype_text_outside_the_prolog(payload: bytes) -> None:
    assert scan_prolog(payload) is None


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_and_doctype_is_rejected_by_the_prolog_scan(codec: str) -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>\n' + billion_laughs()
    payload = text.encode(codec)
    if codec != "utf-16":  # explicit byte order: add the BOM by hand
        payload = "\ufeff".encode(codec) + payload
    assert scan_prolog(payload) == (2, 1)
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")
    assert [f.code for f in timed(detect, payload).findings] == ["xml.doctype_forbidden"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_bomless_utf16_or_utf32_doctype_is_still_rejected(gateway: Gateway, codec: str) -> None:
    """No BOM: scan_prolog cannot see the DOCTYPE; the post-parse check must."""
    name = "UTF-16" if "16" in codec else "UTF-32"
    text = f'<?xml version="1.0" encoding="{name}"?>' + external_entity("file:///etc/passwd")
    payload = text.encode(codec)
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")
    inbound_rejected_with(gateway, payload, "xml.doctype_forbidden")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_bomless_utf16_external_entity_never_reads_the_file(
    codec: str, secret: tuple[Path, bytes]
) -> None:
    """Here libxml2 does read the internal subset; entities must still not be resolved."""
    path, marker = secret
    name = "UTF-16" if "16" in codec else "UTF-32"
    text = f'<?xml version="1.0" encoding="{name}"?>' + external_entity(path.as_uri())
    parsed = timed(parse_xml, text.encode(codec))
    assert parsed.tree is None
    assert_no_leak(marker, parsed)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
@pytest.mark.parametrize("make", [billion_laughs, quadratic_blowup])
def test_bomless_utf16_entity_bomb_is_rejected_as_doctype(
    codec: str, declared: bool, make: Callable[[], str]
) -> None:
    """The prolog is transcoded (XML 1.0 Appendix F) before it is scanned."""
    name = "UTF-16" if "16" in codec else "UTF-32"
    prefix = f'<?xml version="1.0" encoding="{name}"?>\n' if declared else ""
    payload = (prefix + make()).encode(codec)
    assert scan_prolog(payload) == ((2, 1) if declared else (1, 1))
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")
    assert [f.code for f in timed(detect, payload).findings] == ["xml.doctype_forbidden"]


def test_ebcdic_doctype_is_found_by_the_prolog_scan() -> None:
    payload = ('<?xml version="1.0" encoding="cp500"?>' + billion_laughs()).encode("cp500")
    assert scan_prolog(payload) == (1, 39)
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")


def utf7(text: str) -> bytes:
    """``text`` as UTF-7 with every character shifted (``<`` becomes ``+ADw-``)."""
    return b"+" + base64.b64encode(text.encode("utf-16-be")).rstrip(b"=") + b"-"


def utf7_payload(body: str) -> bytes:
    """A UTF-7 payload whose markup characters are base64-shifted, hiding the DOCTYPE."""
    parts = [utf7(char) if char in "<[]>&" else char.encode("ascii") for char in body]
    return b'<?xml version="1.0" encoding="UTF-7"?>' + b"".join(parts)


def test_utf7_doctype_is_still_rejected_by_parse_xml(gateway: Gateway) -> None:
    payload = utf7_payload(external_entity("file:///etc/passwd"))
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")
    inbound_rejected_with(gateway, payload, "xml.doctype_forbidden")


@pytest.mark.parametrize("make", [billion_laughs, quadratic_blowup])
def test_utf7_entity_bomb_is_rejected_as_doctype(make: Callable[[], str]) -> None:
    payload = utf7_payload(make())
    rejected_with(timed(parse_xml, payload), "xml.doctype_forbidden")


def test_undefined_entity_reference_is_entity_forbidden(gateway: Gateway) -> None:
    payload = doc("<x>&xxe;</x>").encode()
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.entity_forbidden")
    assert "xxe" in parsed.findings[0].message
    inbound_rejected_with(gateway, payload, "xml.entity_forbidden")


def test_predefined_entities_and_character_references_still_work() -> None:
    parsed = parse_xml(doc("<x>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;</x>").encode())
    assert parsed.tree is not None
    assert parsed.findings == []
    assert parsed.tree.getroot()[0].text == "<&>\"'AB"


# --------------------------------------------------------------------------- nesting and size


def test_ten_thousand_deep_nesting_is_too_deep(gateway: Gateway) -> None:
    payload = b"<a>" * 10_000 + b"</a>" * 10_000
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.too_deep")
    assert str(MAX_DEPTH) in parsed.findings[0].message
    inbound_rejected_with(gateway, payload, "xml.too_deep")


def test_deep_nesting_inside_an_iso_document_is_too_deep(gateway: Gateway) -> None:
    payload = doc("<x>" * 10_000 + "</x>" * 10_000).encode()
    rejected_with(timed(parse_xml, payload), "xml.too_deep")
    inbound_rejected_with(gateway, payload, "xml.too_deep")


def test_thirty_thousand_unclosed_tags(gateway: Gateway) -> None:
    payload = b"<a>" * 30_000
    rejected_with(timed(parse_xml, payload), "xml.too_deep")
    inbound_rejected_with(gateway, payload, "xml.too_deep")


def test_unclosed_tags_below_the_depth_limit_are_malformed(gateway: Gateway) -> None:
    payload = doc().encode()[: -len("</Document>")] + b"<a>" * 100
    rejected_with(timed(parse_xml, payload), "xml.malformed")
    inbound_rejected_with(gateway, payload, "xml.malformed")


def test_nesting_just_below_the_limit_is_accepted() -> None:
    depth = 200
    parsed = timed(parse_xml, b"<a>" * depth + b"</a>" * depth)
    assert parsed.tree is not None
    assert parsed.findings == []


def test_payload_over_max_bytes_is_too_large_before_parsing() -> None:
    # Would be a doctype/malformed finding if it were looked at at all.
    payload = billion_laughs().encode() + b"<" * 5000
    parsed = timed(parse_xml, payload, max_bytes=1024)
    rejected_with(parsed, "xml.too_large")
    assert parsed.findings[0].context == {"size": len(payload), "limit": 1024}


def test_payload_of_exactly_max_bytes_is_parsed() -> None:
    payload = doc().encode()
    assert parse_xml(payload, max_bytes=len(payload)).tree is not None
    rejected_with(parse_xml(payload, max_bytes=len(payload) - 1), "xml.too_large")


def test_large_payload_is_refused_without_reading_it() -> None:
    payload = doc("<x>" + "a" * 5_000_000 + "</x>").encode()
    rejected_with(timed(parse_xml, payload, max_bytes=1_000_000), "xml.too_large")


def test_gateway_applies_its_max_payload_bytes(gateway: Gateway) -> None:
    small = Gateway(
        gateway.settings.model_copy(update={"max_payload_bytes": 2048}),
        gateway.schemas,
        gateway.mappings,
    )
    result = inbound_rejected_with(small, MINIMAL.read_bytes() + b" " * 4096, "xml.too_large")
    assert result.report.findings[0].context["limit"] == 2048
    assert gateway.settings.max_payload_bytes == DEFAULT_MAX_BYTES


@pytest.mark.parametrize("payload", [b"", b" ", b"\n\t\r\n  "])
def test_empty_payload(gateway: Gateway, payload: bytes) -> None:
    rejected_with(timed(parse_xml, payload), "xml.empty")
    inbound_rejected_with(gateway, payload, "xml.empty")


def test_ten_megabyte_text_node_is_rejected_not_crashing(gateway: Gateway) -> None:
    """What happens: libxml2 (huge_tree off) caps a text node at 10,000,000 bytes.

    A 10 MiB text node inside a valid-looking Document is therefore rejected as
    ``xml.malformed`` ("Resource limit exceeded: Text node too long"), quickly,
    well below the 64 MiB payload limit. detect() never reads that far.
    """
    payload = doc("<FIToFICstmrCdtTrf><GrpHdr><MsgId>" + "A" * (10 * 1024 * 1024)).encode()
    payload += b"</MsgId></GrpHdr></FIToFICstmrCdtTrf></Document>"
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.malformed")
    assert "too long" in parsed.findings[0].message.lower()
    inbound_rejected_with(gateway, payload, "xml.malformed")
    detection = timed(detect, payload)
    assert str(detection.message_id) == "pacs.008.001.08"


def test_nine_megabyte_text_node_is_still_parsed() -> None:
    """Documents the boundary: just below libxml2's 10,000,000-byte text limit parses."""
    parsed = timed(parse_xml, doc("<x>" + "A" * 9_000_000 + "</x>").encode())
    assert parsed.tree is not None
    assert len(parsed.tree.getroot()[0].text or "") == 9_000_000


def test_huge_attribute_count_parses_fast() -> None:
    attributes = " ".join(f'a{i}="{i}"' for i in range(100_000))
    parsed = timed(parse_xml, f"<Wrapper {attributes}/>".encode())
    assert parsed.tree is not None
    assert len(parsed.tree.getroot().attrib) == 100_000


def test_huge_attribute_count_on_a_non_iso_root_is_rejected(gateway: Gateway) -> None:
    attributes = " ".join(f'a{i}="{i}"' for i in range(100_000))
    result = timed(gateway.inbound, f"<Wrapper {attributes}/>".encode(), limit=1.0)
    assert result.report.outcome is Outcome.REJECTED
    assert codes(result) == ["detect.no_document"]
    assert result.events == []


def test_attribute_flood_on_the_document_gives_a_bounded_report(gateway: Gateway) -> None:
    """Every unknown attribute is an XSD error; the report lists a bounded number."""
    gateway.inbound(doc().encode())  # compile the schema outside the timing
    attributes = " ".join(f'a{i}="{i}"' for i in range(20_000))
    result = timed(gateway.inbound, f'<Document xmlns="{NS}" {attributes}/>'.encode(), limit=1.0)
    report = result.report
    assert report.outcome is Outcome.REJECTED
    assert result.events == []
    assert len(report.findings) <= 1_000
    assert report.findings[-1].code == "schema.too_many_errors"
    assert report.findings[-1].context["total"] > 20_000
    assert len(report.model_dump_json()) < 500_000


@pytest.mark.parametrize(
    "payload",
    [
        b'<Document a="1" a="2"/>',
        b'<Document xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>',
        b'<Document a="1" b=2/>',
        b"<Document a='<'/>",
    ],
)
def test_bad_attributes_are_malformed(payload: bytes) -> None:
    rejected_with(timed(parse_xml, payload), "xml.malformed")


def test_very_long_element_name_is_malformed() -> None:
    rejected_with(timed(parse_xml, b"<" + b"a" * 200_000 + b"/>"), "xml.malformed")


# --------------------------------------------------------------------------- bytes and encodings


@pytest.mark.parametrize(
    "bad",
    [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80abc", b"\xe2\x82"],
    ids=["ff", "bad-continuation", "surrogate", "five-byte", "lone-continuation", "truncated"],
)
def test_invalid_utf8_is_malformed(gateway: Gateway, bad: bytes) -> None:
    payload = doc("<x>ok" + "\x00PLACEHOLDER" + "</x>").encode().replace(b"\x00PLACEHOLDER", bad)
    parsed = timed(parse_xml, payload)
    rejected_with(parsed, "xml.malformed")
    assert parsed.findings[0].location.line == 1
    inbound_rejected_with(gateway, payload, "xml.malformed")


@pytest.mark.parametrize(
    "payload",
    [
        doc("<x>a\x00b</x>").encode(),
        b"\x00",
        b"\x00" * 1000,
        b"<Document\x00/>",
        b'<Document xmlns="' + NS.encode() + b'" a="\x00"/>',
        doc().encode() + b"\x00",
        b"\x00" + doc().encode(),
    ],
    ids=["in-text", "single", "only-nuls", "in-name", "in-attribute", "trailing", "leading"],
)
def test_nul_bytes_are_malformed(gateway: Gateway, payload: bytes) -> None:
    rejected_with(timed(parse_xml, payload), "xml.malformed")
    inbound_rejected_with(gateway, payload, "xml.malformed")


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0" encoding="no-such-encoding"?><Document/>',
        b"<Document>\x01</Document>",
        b"<Document><?xml version='1.0'?></Document>",
        b"<Document></Documen>",
        b"<Document/><Document/>",
        b"text before <Document/>",
        b"<Document><x></Document></x>",
        b"<1Document/>",
        b"<a:Document/>",
    ],
)
def test_other_malformed_payloads(gateway: Gateway, payload: bytes) -> None:
    rejected_with(timed(parse_xml, payload), "xml.malformed")
    inbound_rejected_with(gateway, payload, "xml.malformed")


# --------------------------------------------------------------------------- constructs kept inert


def test_xinclude_is_never_processed(gateway: Gateway, secret: tuple[Path, bytes]) -> None:
    path, marker = secret
    payload = (
        f'<Document xmlns="{NS}" xmlns:xi="{XI}">'
        f'<xi:include href="{path.as_uri()}" parse="text"/>'
        f'<xi:include href="{path.as_uri()}"/>'
        "</Document>"
    ).encode()
    parsed = timed(parse_xml, payload)
    assert parsed.tree is not None
    assert parsed.findings == []
    root = parsed.tree.getroot()
    assert [child.tag for child in root] == [f"{{{XI}}}include"] * 2
    assert_no_leak(marker, etree.tostring(parsed.tree))
    result = gateway.inbound(payload)
    assert result.report.outcome is Outcome.REJECTED
    assert result.events == []
    assert "schema.element_content" in codes(result)
    assert_no_leak(marker, result.report_json())


def test_xinclude_of_etc_passwd_is_never_processed() -> None:
    markers = passwd_markers()
    payload = (
        f'<Document xmlns="{NS}" xmlns:xi="{XI}">'
        '<xi:include href="file:///etc/passwd" parse="text"/></Document>'
    ).encode()
    parsed = timed(parse_xml, payload)
    assert parsed.tree is not None
    serialized = etree.tostring(parsed.tree)
    for marker in markers:
        assert_no_leak(marker, serialized)


def test_cdata_is_parsed_as_text() -> None:
    parsed = parse_xml(doc("<Ustrd><![CDATA[a < b & <c/> ]]></Ustrd>").encode())
    assert parsed.tree is not None
    element = parsed.tree.getroot()[0]
    assert element.text == "a < b & <c/> "
    assert len(element) == 0  # no element was created from the CDATA content


def test_cdata_message_id_is_used_like_text(gateway: Gateway) -> None:
    original = MINIMAL.read_bytes()
    payload = original.replace(b"<MsgId>", b"<MsgId><![CDATA[", 1).replace(
        b"</MsgId>", b"]]></MsgId>", 1
    )
    assert payload != original
    plain, cdata = gateway.inbound(original), gateway.inbound(payload)
    assert cdata.report.outcome is plain.report.outcome
    assert cdata.report.business_message_id == plain.report.business_message_id
    assert cdata.report.business_message_id


def test_processing_instructions_are_kept_inert_and_reported() -> None:
    payload = (
        '<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="file:///etc/passwd"?>\n'
        + doc("<?php system('id'); ?><x/>")
        + "\n<?after root?>"
    ).encode()
    parsed = timed(parse_xml, payload)
    assert parsed.tree is not None
    assert codes(parsed) == ["xml.processing_instruction"] * 3
    assert all(f.severity is Severity.WARNING for f in parsed.findings)
    assert [f.location.line for f in parsed.findings] == [2, 3, 4]
    root = parsed.tree.getroot()
    assert [child.tag for child in root if isinstance(child.tag, str)] == [f"{{{NS}}}x"]


def test_processing_instruction_warnings_are_capped() -> None:
    parsed = timed(parse_xml, doc("<?pi x?>" * 10_000).encode())
    assert parsed.tree is not None
    assert 1 <= len(parsed.findings) <= 100
    assert set(codes(parsed)) == {"xml.processing_instruction"}


def test_processing_instruction_in_a_valid_message_only_warns(gateway: Gateway) -> None:
    original = MINIMAL.read_bytes()
    payload = original.replace(b"<GrpHdr>", b"<?evil rm -rf /?><GrpHdr>", 1)
    assert payload != original
    plain, with_pi = gateway.inbound(original), gateway.inbound(payload)
    assert plain.report.outcome is Outcome.ACCEPTED
    assert with_pi.report.outcome is Outcome.ACCEPTED_WITH_WARNINGS
    assert codes(with_pi) == ["xml.processing_instruction"]
    assert with_pi.report.transaction_count == plain.report.transaction_count


# --------------------------------------------------------------------------- properties

XML_TOKENS = [
    b"<",
    b">",
    b"/>",
    b"</",
    b"Document",
    f'<Document xmlns="{NS}">'.encode(),
    b"</Document>",
    b"<AppHdr>",
    b"<!DOCTYPE d [",
    b'<!ENTITY a "b">',
    b"]>",
    b"&a;",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x00",
    b"\xff",
    b" ",
    b"\n",
    b'="',
    b"xmlns:p",
    b"<p:Document",
]

payloads = st.one_of(
    st.binary(max_size=512),
    st.lists(st.sampled_from(XML_TOKENS), max_size=40).map(b"".join),
    st.lists(st.one_of(st.sampled_from(XML_TOKENS), st.binary(max_size=8)), max_size=30).map(
        b"".join
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads)
def test_parse_xml_never_raises(payload: bytes) -> None:
    parsed = parse_xml(payload)
    assert isinstance(parsed, ParsedXml)
    for f in parsed.findings:
        assert f.code in CATALOGUE
        assert f.layer is Layer.INPUT
    if parsed.tree is None:
        assert any(f.severity is Severity.ERROR for f in parsed.findings)
    else:
        assert all(f.severity is not Severity.ERROR for f in parsed.findings)
    detection = detect(payload)  # must not raise either
    assert all(f.code in CATALOGUE for f in detection.findings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=payloads)
def test_gateway_inbound_never_raises(gateway: Gateway, payload: bytes) -> None:
    result = gateway.inbound(payload)
    report = result.report
    assert report.payload_size == len(payload)
    assert all(f.code in CATALOGUE for f in report.findings)
    if report.outcome is Outcome.REJECTED:
        assert result.events == []
    if parse_xml(payload).tree is None:
        assert report.outcome is Outcome.REJECTED
        assert report.message_id is None
