"""Message type and envelope detection: gateway.detect.detect / detect_tree."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.detect import MAX_WRAPPER_DEPTH, Detection, detect, detect_tree
from gateway.messages import MessageId
from gateway.mx import parse_xml
from gateway.pipeline import Gateway
from gateway.report import Outcome, Severity

ISO = "urn:iso:std:iso:20022:tech:xsd:"
HEAD = ISO + "head.001.001.02"
SWIFT_ENVELOPE = "urn:swift:xsd:envelope"
SAMPLES_MX = Path(__file__).resolve().parents[2] / "shared" / "samples" / "mx"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mx"


# --------------------------------------------------------------------------- builders


def _open(local: str, ns: str | None, prefix: str) -> tuple[str, str]:
    """Start and end tags for ``local`` in ``ns`` (default namespace when no prefix)."""
    name = f"{prefix}:{local}" if prefix else local
    if ns is None:
        return f"<{name}>", f"</{name}>"
    xmlns = f'xmlns:{prefix}="{ns}"' if prefix else f'xmlns="{ns}"'
    return f"<{name} {xmlns}>", f"</{name}>"


def apphdr(msg_def: str | None = "pacs.008.001.08", *, prefix: str = "", ns: str = HEAD) -> str:
    start, end = _open("AppHdr", ns, prefix)
    p = f"{prefix}:" if prefix else ""
    body = f"\n  <{p}BizMsgIdr>BIZ-1</{p}BizMsgIdr>"
    if msg_def is not None:
        body += f"\n  <{p}MsgDefIdr>{msg_def}</{p}MsgDefIdr>"
    return f"{start}{body}\n{end}"


def document(mid: str = "pacs.008.001.08", *, prefix: str = "", ns: str | None = None) -> str:
    start, end = _open("Document", ISO + mid if ns is None else ns, prefix)
    p = f"{prefix}:" if prefix else ""
    return f"{start}<{p}Body><{p}GrpHdr><{p}MsgId>M1</{p}MsgId></{p}GrpHdr></{p}Body>{end}"


def wrap(local: str, inner: str, *, ns: str | None = None, prefix: str = "") -> str:
    start, end = _open(local, ns, prefix)
    return f"{start}\n{inner}\n{end}"


def both(payload: str | bytes) -> tuple[Detection, Detection]:
    data = payload.encode() if isinstance(payload, str) else payload
    parsed = parse_xml(data)
    assert parsed.tree is not None, parsed.findings
    return detect(data), detect_tree(parsed.tree.getroot())


def codes(detection: Detection) -> list[str]:
    return [f.code for f in detection.findings]


def agree(a: Detection, b: Detection) -> None:
    assert a.message_id == b.message_id
    assert a.envelope == b.envelope
    assert a.apphdr_id == b.apphdr_id


WRAPPERS = [
    # (local name, wrapper namespace, wrapper prefix)
    ("BizMsgEnvlp", None, ""),
    ("BizMsgEnvlp", "urn:example:envelope", ""),
    ("BizMsgEnvlp", "urn:example:envelope", "env"),
    ("RequestPayload", None, ""),
    ("Envelope", SWIFT_ENVELOPE, ""),
    ("Envelope", SWIFT_ENVELOPE, "sw"),
]
WRAPPER_IDS = ["bizmsgenvlp", "bizmsgenvlp-ns", "bizmsgenvlp-prefixed", "requestpayload"]
WRAPPER_IDS += ["swift", "swift-prefixed"]


# --------------------------------------------------------------------------- bare Document / AppHdr


@pytest.mark.parametrize("prefix", ["", "doc", "pacs8"])
def test_bare_document(prefix: str) -> None:
    payload = document("pacs.008.001.08", prefix=prefix)
    streamed, tree = both(payload)
    agree(streamed, tree)
    assert tree.message_id == MessageId("pacs.008.001.08")
    assert tree.envelope == "Document"
    assert tree.findings == []
    assert tree.apphdr is None
    assert tree.apphdr_id is None
    assert tree.document is not None
    assert tree.document.tag == f"{{{ISO}pacs.008.001.08}}Document"
    # detect() carries no elements.
    assert streamed.document is None
    assert streamed.apphdr is None


def test_bare_document_with_xml_declaration_comments_and_bom() -> None:
    payload = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment -->\n'
        + document("camt.053.001.08").encode()
    )
    streamed, tree = both(payload)
    agree(streamed, tree)
    assert str(tree.message_id) == "camt.053.001.08"


@pytest.mark.parametrize("prefix", ["", "head"])
def test_apphdr_alone(prefix: str) -> None:
    streamed, tree = both(apphdr("pacs.008.001.08", prefix=prefix))
    agree(streamed, tree)
    assert tree.message_id == MessageId("head.001.001.02")
    assert tree.envelope == "AppHdr"
    assert tree.apphdr_id == MessageId("head.001.001.02")
    assert tree.document is None
    assert tree.apphdr is not None
    assert tree.findings == []


# --------------------------------------------------------------------------- wrappers


@pytest.mark.parametrize(("local", "ns", "prefix"), WRAPPERS, ids=WRAPPER_IDS)
@pytest.mark.parametrize("inner_prefix", ["", "x"])
def test_wrapper_with_apphdr_and_document(
    local: str, ns: str | None, prefix: str, inner_prefix: str
) -> None:
    inner = apphdr("pacs.009.001.08", prefix=inner_prefix)
    inner += "\n" + document("pacs.009.001.08", prefix=inner_prefix)
    streamed, tree = both(wrap(local, inner, ns=ns, prefix=prefix))
    agree(streamed, tree)
    assert tree.message_id == MessageId("pacs.009.001.08")
    assert tree.envelope == f"{local}/AppHdr+Document"
    assert tree.apphdr_id == MessageId("head.001.001.02")
    assert tree.apphdr_msg_def == "pacs.009.001.08"
    assert tree.findings == []
    assert tree.document is not None
    assert etree.QName(tree.document).localname == "Document"
    assert tree.apphdr is not None
    assert etree.QName(tree.apphdr).localname == "AppHdr"


@pytest.mark.parametrize(("local", "ns", "prefix"), WRAPPERS, ids=WRAPPER_IDS)
def test_wrapper_with_document_only(local: str, ns: str | None, prefix: str) -> None:
    streamed, tree = both(wrap(local, document("pain.001.001.09"), ns=ns, prefix=prefix))
    agree(streamed, tree)
    assert tree.message_id == MessageId("pain.001.001.09")
    assert tree.envelope == f"{local}/Document"
    assert tree.apphdr is None
    assert tree.findings == []


@pytest.mark.parametrize(("local", "ns", "prefix"), WRAPPERS, ids=WRAPPER_IDS)
def test_wrapper_with_apphdr_only(local: str, ns: str | None, prefix: str) -> None:
    streamed, tree = both(wrap(local, apphdr(), ns=ns, prefix=prefix))
    agree(streamed, tree)
    assert tree.message_id == MessageId("head.001.001.02")
    assert tree.envelope == f"{local}/AppHdr"
    assert tree.document is None
    assert tree.findings == []


def test_saa_style_nested_wrapper_within_the_depth_limit() -> None:
    inner = wrap("Body", apphdr("camt.054.001.08") + document("camt.054.001.08"))
    payload = wrap("DataPDU", wrap("Envelope", inner), ns="urn:example:saa", prefix="Saa")
    streamed, tree = both(payload)
    agree(streamed, tree)
    assert tree.message_id == MessageId("camt.054.001.08")
    assert tree.envelope == "DataPDU/AppHdr+Document"
    assert tree.findings == []


def test_document_deeper_than_the_wrapper_limit_is_not_found() -> None:
    payload = document("pacs.008.001.08")
    for level in range(MAX_WRAPPER_DEPTH + 1):
        payload = wrap(f"W{level}", payload)
    streamed, tree = both(payload)
    agree(streamed, tree)
    assert tree.message_id is None
    assert codes(tree) == ["detect.no_document"]
    assert codes(streamed) == ["detect.no_document"]


def test_wrapper_without_document() -> None:
    payload = wrap("BizMsgEnvlp", "<Hdr/><Body><Other xmlns='urn:example:x'/></Body>")
    streamed, tree = both(payload)
    for detection in (streamed, tree):
        assert detection.message_id is None
        assert codes(detection) == ["detect.no_document"]
        assert detection.findings[0].severity is Severity.ERROR
    assert tree.envelope == streamed.envelope == "BizMsgEnvlp"


def test_two_documents_in_one_wrapper() -> None:
    payload = (
        "<BizMsgEnvlp>\n"
        + apphdr("pacs.008.001.08")
        + "\n"
        + document("pacs.008.001.08")
        + "\n"
        + document("pacs.009.001.08")
        + "\n</BizMsgEnvlp>"
    )
    _, tree = both(payload)
    assert codes(tree) == ["detect.multiple_documents"]
    second_line = payload.splitlines().index(document("pacs.009.001.08")) + 1
    assert tree.findings[0].location.line == second_line
    assert tree.message_id == MessageId("pacs.008.001.08")  # the first one
    # detect() stops at the first Document start tag by design.
    streamed = detect(payload.encode())
    assert streamed.message_id == MessageId("pacs.008.001.08")


@pytest.mark.parametrize(
    ("payload", "envelope"),
    [
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008"><A/></Document>', "Document"),
        (document(ns=ISO + "PACS.008.001.08"), "Document"),
        (wrap("W", "<Document><A/></Document>"), "W/Document"),
        (wrap("W", document(ns=ISO + "pacs.008.001")), "W/Document"),
        (wrap("W", apphdr() + document(ns=ISO + "pacs.8.1.8")), "W/AppHdr+Document"),
    ],
    ids=["iso-no-version", "upper-case", "no-namespace", "iso-short", "with-apphdr"],
)
def test_document_in_a_namespace_without_a_message_id(payload: str, envelope: str) -> None:
    streamed, tree = both(payload)
    agree(streamed, tree)
    for detection in (streamed, tree):
        assert detection.message_id is None
        assert codes(detection) == ["detect.unknown_namespace"]
    assert tree.envelope == envelope


@pytest.mark.parametrize("ns", ["urn:example:not-iso", "urn:swift:xsd:pacs.008.001.08", None])
def test_root_document_in_a_foreign_namespace_is_unknown_namespace(ns: str | None) -> None:
    payload = (f'<Document xmlns="{ns}">' if ns else "<Document>") + "<A/></Document>"
    _, tree = both(payload)
    assert tree.message_id is None
    assert codes(tree) == ["detect.unknown_namespace"]


@pytest.mark.parametrize("ns", ["urn:example:not-iso", None])
def test_root_document_in_a_foreign_namespace_detect_agrees(ns: str | None) -> None:
    payload = (f'<Document xmlns="{ns}">' if ns else "<Document>") + "<A/></Document>"
    streamed, tree = both(payload)
    assert codes(streamed) == codes(tree)


def test_foreign_namespace_document_is_rejected_without_an_id(gateway: Gateway) -> None:
    result = gateway.inbound(document(ns="urn:example:not-iso").encode())
    assert result.report.outcome is Outcome.REJECTED
    assert result.report.message_id is None
    assert result.events == []


# --------------------------------------------------------------------------- AppHdr MsgDefIdr


def _enveloped(msg_def: str | None, mid: str = "pacs.008.001.08") -> str:
    return wrap("BizMsgEnvlp", apphdr(msg_def) + "\n" + document(mid))


@pytest.mark.parametrize(
    "msg_def",
    ["pacs.008.001.08", "pacs.008.001.08.xyz", "pacs.008.001.08.cbprplus.02", "  pacs.008.001.08 "],
)
def test_msgdefidr_matching_the_document_is_accepted(msg_def: str) -> None:
    _, tree = both(_enveloped(msg_def))
    assert tree.findings == []
    assert tree.apphdr_msg_def == msg_def.strip()


@pytest.mark.parametrize(
    "msg_def",
    [
        "pacs.009.001.08",
        "pacs.008.001.09",
        "pacs.008.001.081",
        "pacs.008.001",
        "PACS.008.001.08",
        "",
    ],
)
def test_msgdefidr_mismatch(msg_def: str) -> None:
    payload = _enveloped(msg_def)
    streamed, tree = both(payload)
    agree(streamed, tree)  # detect() does not check MsgDefIdr, the ids still agree
    assert streamed.findings == []
    assert codes(tree) == ["detect.apphdr_mismatch"]
    mismatch = tree.findings[0]
    assert mismatch.severity is Severity.ERROR
    line = next(n for n, text in enumerate(payload.splitlines(), 1) if "MsgDefIdr>" in text)
    assert mismatch.location.line == line
    assert mismatch.location.xpath == "/AppHdr/MsgDefIdr"
    assert mismatch.context == {"msg_def_idr": msg_def.strip(), "document": "pacs.008.001.08"}
    assert tree.message_id == MessageId("pacs.008.001.08")  # the Document wins


def test_apphdr_without_msgdefidr_is_not_a_mismatch() -> None:
    _, tree = both(_enveloped(None))
    assert tree.apphdr_msg_def is None
    assert tree.findings == []


def test_apphdr_in_a_non_head_namespace_warns() -> None:
    payload = wrap("W", apphdr(ns="urn:example:hdr") + document())
    _, tree = both(payload)
    assert codes(tree) == ["detect.apphdr_unknown"]
    assert tree.findings[0].severity is Severity.WARNING
    assert tree.message_id == MessageId("pacs.008.001.08")


def test_gateway_rejects_a_msgdefidr_mismatch(gateway: Gateway) -> None:
    source = (FIXTURES / "pacs.008.001.08" / "valid" / "apphdr_envelope.xml").read_bytes()
    assert b"<MsgDefIdr>pacs.008.001.08</MsgDefIdr>" in source
    ok = gateway.inbound(source)
    assert ok.report.outcome is not Outcome.REJECTED
    bad = gateway.inbound(
        source.replace(
            b"<MsgDefIdr>pacs.008.001.08</MsgDefIdr>", b"<MsgDefIdr>pacs.009.001.08</MsgDefIdr>", 1
        )
    )
    assert bad.report.outcome is Outcome.REJECTED
    assert "detect.apphdr_mismatch" in [f.code for f in bad.report.findings]
    assert bad.events == []


# --------------------------------------------------------------------------- known gaps


def _envelope_parts() -> tuple[etree._Element, etree._Element]:
    source = (FIXTURES / "pacs.008.001.08" / "valid" / "apphdr_envelope.xml").read_bytes()
    parsed = parse_xml(source)
    assert parsed.tree is not None
    detection = detect_tree(parsed.tree.getroot())
    assert detection.apphdr is not None
    assert detection.document is not None
    return copy.deepcopy(detection.apphdr), copy.deepcopy(detection.document)


def _apphdr_then_nested_invalid_document() -> bytes:
    header, document_element = _envelope_parts()
    for child in list(document_element):
        document_element.remove(child)
    etree.SubElement(document_element, "NotAPacs008").text = "never validated"
    root = etree.Element("BizMsgEnvlp")
    root.append(header)
    etree.SubElement(root, "Body").append(document_element)
    return etree.tostring(root)


def test_apphdr_then_nested_document_is_seen_by_detect() -> None:
    payload = _apphdr_then_nested_invalid_document()
    assert detect(payload).message_id == MessageId("pacs.008.001.08")


def test_apphdr_then_nested_document_detect_tree_agrees() -> None:
    streamed, tree = both(_apphdr_then_nested_invalid_document())
    agree(streamed, tree)


def test_apphdr_then_nested_invalid_document_is_rejected(gateway: Gateway) -> None:
    result = gateway.inbound(_apphdr_then_nested_invalid_document())
    assert result.report.message_id == "pacs.008.001.08"
    assert result.report.outcome is Outcome.REJECTED


ATTLIST_NS = (
    '<!DOCTYPE Document [<!ATTLIST Document xmlns CDATA #FIXED "'
    + ISO
    + 'pacs.008.001.08">]><Document><x/></Document>'
)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_detect_rejects_doctype_in_bomless_utf16_and_utf32(codec: str) -> None:
    # If the internal subset were applied, the ATTLIST would default xmlns and turn a
    # namespace-less Document into a pacs.008.
    name = "UTF-16" if "16" in codec else "UTF-32"
    detection = detect((f'<?xml version="1.0" encoding="{name}"?>' + ATTLIST_NS).encode(codec))
    assert detection.message_id is None
    assert codes(detection) == ["xml.doctype_forbidden"]


def test_detect_rejects_doctype_in_utf7() -> None:
    payload = b'<?xml version="1.0" encoding="UTF-7"?>'
    for char in ATTLIST_NS:
        payload += (
            b"+" + base64.b64encode(char.encode("utf-16-be")).rstrip(b"=") + b"-"
            if char in "<[]"
            else char.encode("ascii")
        )
    assert parse_xml(payload).tree is None  # parse_xml's post-parse check catches it
    detection = detect(payload)
    assert detection.message_id is None
    assert codes(detection) == ["xml.doctype_forbidden"]


def test_detect_never_returns_an_id_with_a_newline() -> None:
    payload = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08&#10;"><x/>'
    detection = detect(payload)
    assert detection.message_id is None or "\n" not in str(detection.message_id)


# --------------------------------------------------------------------------- properties

areas = st.sampled_from(["pacs", "pain", "camt"])
three = st.integers(0, 999).map(lambda n: f"{n:03d}")
two = st.integers(0, 99).map(lambda n: f"{n:02d}")
message_ids = st.builds(lambda a, m, v, ver: f"{a}.{m}.{v}.{ver}", areas, three, three, two)
prefixes = st.one_of(
    st.just(""),
    st.from_regex(r"[a-wyzA-WYZ_][a-zA-Z0-9_.-]{0,6}", fullmatch=True),
)
SHAPES = [
    "Document",
    "BizMsgEnvlp/AppHdr+Document",
    "BizMsgEnvlp-ns/AppHdr+Document",
    "RequestPayload/AppHdr+Document",
    "Envelope/AppHdr+Document",
    "BizMsgEnvlp/Document",
    "DataPDU/AppHdr+Document",
]


def build(mid: str, shape: str, prefix: str, wrapper_prefix: str) -> tuple[str, str]:
    """A payload for ``shape`` and the envelope detect() must report."""
    body = document(mid, prefix=prefix)
    if shape == "Document":
        return body, "Document"
    local, _, parts = shape.partition("/")
    if parts == "AppHdr+Document":
        body = apphdr(mid, prefix=prefix) + "\n" + body
    if local == "DataPDU":
        body = wrap("Body", body, prefix=wrapper_prefix, ns="urn:example:saa")
    ns = {
        "BizMsgEnvlp-ns": "urn:example:envelope",
        "Envelope": SWIFT_ENVELOPE,
        "DataPDU": "urn:example:saa",
    }.get(local)
    local = local.removesuffix("-ns")
    return wrap(local, body, ns=ns, prefix=wrapper_prefix if ns else ""), f"{local}/{parts}"


@settings(max_examples=150, deadline=None)
@given(message_ids, st.sampled_from(SHAPES), prefixes, prefixes)
def test_detect_returns_the_generated_id_and_envelope(
    mid: str, shape: str, prefix: str, wrapper_prefix: str
) -> None:
    payload, envelope = build(mid, shape, prefix, wrapper_prefix)
    streamed, tree = both(payload)
    assert str(streamed.message_id) == mid
    assert streamed.envelope == envelope
    assert streamed.findings == []
    agree(streamed, tree)
    assert tree.findings == []
    if "AppHdr" in envelope:
        assert tree.apphdr_msg_def == mid


@settings(max_examples=150, deadline=None)
@given(message_ids, st.sampled_from(SHAPES), prefixes, prefixes)
def test_detect_needs_nothing_after_the_document_start_tag(
    mid: str, shape: str, prefix: str, wrapper_prefix: str
) -> None:
    payload, envelope = build(mid, shape, prefix, wrapper_prefix)
    start = payload.index(f"<{prefix}:Document " if prefix else "<Document ")
    cut = payload.index(">", start) + 1
    truncated = payload[:cut].encode()
    assert parse_xml(truncated).tree is None  # not well-formed any more
    detection = detect(truncated)
    assert str(detection.message_id) == mid
    assert detection.envelope == envelope
    assert detection.findings == []


# --------------------------------------------------------------------------- real samples


def _samples() -> list[Path]:
    if not SAMPLES_MX.is_dir():
        return []
    return sorted(path for path in SAMPLES_MX.rglob("*.xml") if path.is_file())


SAMPLES = _samples()


@pytest.mark.skipif(not SAMPLES, reason=f"no samples under {SAMPLES_MX}")
@pytest.mark.parametrize(
    "path", SAMPLES, ids=[str(p.relative_to(SAMPLES_MX)) for p in SAMPLES] or None
)
def test_real_samples_are_detected_as_their_folder(path: Path) -> None:
    expected = path.relative_to(SAMPLES_MX).parts[0]
    payload = path.read_bytes()
    streamed = detect(payload)
    assert streamed.findings == []
    assert str(streamed.message_id) == expected
    parsed = parse_xml(payload)
    assert parsed.tree is not None
    tree = detect_tree(parsed.tree.getroot())
    agree(streamed, tree)
    assert [f for f in tree.findings if f.severity is Severity.ERROR] == []
    if expected.startswith("head.001"):
        assert tree.envelope == "AppHdr"
        assert tree.document is None
        assert str(tree.message_id) == "head.001.001.02"
