"""Hardened XML parsing for untrusted ISO 20022 payloads.

One parser configuration for every untrusted byte string:

* no DTD processing: any ``<!DOCTYPE`` is rejected before parsing starts (and
  checked again on the parsed tree), so entity declarations are never read;
* no entity expansion (``resolve_entities=False``), no network access, no
  XInclude (lxml only processes XInclude on an explicit call, never made here);
* a size limit checked before parsing and libxml2's nesting limit of
  :data:`MAX_DEPTH` levels (``huge_tree`` stays off, which also keeps libxml2's
  limits on text node size and name length).

Problems are returned as findings (layer ``input``), never raised.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from itertools import chain, islice

from lxml import etree

from gateway.report import Finding, finding

__all__ = ["DEFAULT_MAX_BYTES", "MAX_DEPTH", "ParsedXml", "parse_xml", "scan_prolog"]

#: Default payload limit for one message (bytes). A 10,000-transaction pain.001 is ~11 MB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Processing instructions reported per message (the first ones; the rest are ignored silently).
MAX_PI_FINDINGS = 10
#: libxml2's nesting limit without XML_PARSE_HUGE; ISO 20022 messages stay below 30.
MAX_DEPTH = 256

_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads: one per thread.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            collect_ids=False,
            remove_comments=False,
        )
        _local.parser = parser
    return parser


@dataclass(slots=True)
class ParsedXml:
    """A parsed payload (``tree`` is ``None`` when parsing failed) and input findings."""

    tree: etree._ElementTree | None
    findings: list[Finding] = field(default_factory=list)


_DOCTYPE = b"<!DOCTYPE"
# Byte-order marks and, for BOM-less documents, the first four bytes of "<?xm" / "<" in each
# encoding (XML 1.0 Appendix F): the prolog is transcoded before it is scanned, so a DOCTYPE
# cannot hide behind an encoding.
_SIGNATURES: tuple[tuple[bytes, str, int], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"\xff\xfe\x00\x00", "utf-32-le", 4),
    (b"\xfe\xff", "utf-16-be", 2),
    (b"\xff\xfe", "utf-16-le", 2),
    (b"\xef\xbb\xbf", "utf-8", 3),
    (b"\x00\x00\x00\x3c", "utf-32-be", 0),
    (b"\x3c\x00\x00\x00", "utf-32-le", 0),
    (b"\x00\x3c\x00", "utf-16-be", 0),
    (b"\x3c\x00", "utf-16-le", 0),
    (b"\x4c\x6f\xa7\x94", "cp500", 0),  # EBCDIC "<?xm"
)
_WS = re.compile(rb"[ \t\r\n]*")
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"'][^>]*?\?>")
_ASCII_COMPATIBLE = {"utf-8", "utf8", "us-ascii", "ascii", "utf-16", "utf-32", "iso-8859-1"}


def _prolog_bytes(payload: bytes) -> bytes:
    """The start of the payload as ASCII-compatible bytes: other encodings (by BOM,
    by first bytes, or as declared, e.g. UTF-7) are transcoded before the scan."""
    head = payload[:65536]
    for signature, codec, skip in _SIGNATURES:
        if head.startswith(signature):
            if codec != "utf-8":
                return head[skip:].decode(codec, errors="replace").encode("utf-8", "replace")
            head = head[skip:]
            break
    declared = _ENCODING.match(head)
    if declared:
        name = declared.group(1).decode("ascii").lower().replace("_", "-")
        if name not in _ASCII_COMPATIBLE and not name.startswith(("iso-8859", "windows-")):
            try:
                text = head[declared.end() :].decode(name, errors="replace")
            except LookupError:
                return head
            return head[: declared.end()] + text.encode("utf-8", "replace")
    return head


def scan_prolog(payload: bytes) -> tuple[int, int] | None:
    """Return (line, column) of a ``<!DOCTYPE`` in the prolog, else ``None``.

    Walks the prolog (XML declaration, comments, processing instructions,
    whitespace) up to the root element's start tag.
    """
    data = _prolog_bytes(payload)
    if _DOCTYPE not in data:
        return None  # the usual case: nothing the walk below could find
    pos = 0
    while True:
        match = _WS.match(data, pos)
        pos = match.end() if match else pos
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos)
            if end < 0:
                return None
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos)
            if end < 0:
                return None
            pos = end + 3
        elif data.startswith(_DOCTYPE, pos):
            line = data.count(b"\n", 0, pos) + 1
            column = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
            return line, column
        else:
            return None


def parse_xml(payload: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedXml:
    """Parse untrusted bytes with the hardened parser."""
    if not payload.strip():
        return ParsedXml(None, [finding("xml.empty", "The payload is empty.")])
    if len(payload) > max_bytes:
        return ParsedXml(
            None,
            [
                finding(
                    "xml.too_large",
                    f"Payload is {len(payload)} bytes; the limit is {max_bytes} bytes.",
                    context={"size": len(payload), "limit": max_bytes},
                )
            ],
        )
    doctype_at = scan_prolog(payload)
    if doctype_at is not None:
        return ParsedXml(None, [_doctype_finding(*doctype_at)])
    try:
        tree = etree.ElementTree(etree.fromstring(payload, _parser()))
    except etree.XMLSyntaxError as exc:
        return ParsedXml(None, [_syntax_finding(exc)])
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # defence in depth
        return ParsedXml(None, [_doctype_finding(1, 1)])
    root = tree.getroot()
    pis = islice(
        chain(
            root.itersiblings(etree.ProcessingInstruction, preceding=True),
            root.iter(etree.ProcessingInstruction),
            root.itersiblings(etree.ProcessingInstruction),
        ),
        MAX_PI_FINDINGS,
    )
    findings = [
        finding(
            "xml.processing_instruction",
            f"Processing instruction <?{pi.target} ...?> ignored.",
            line=pi.sourceline,
        )
        for pi in pis
    ]
    return ParsedXml(tree, findings)


def _doctype_finding(line: int, column: int) -> Finding:
    return finding(
        "xml.doctype_forbidden",
        "A DOCTYPE declaration is not allowed in ISO 20022 messages; "
        "it was rejected without being processed.",
        line=line,
        column=column,
    )


#: Characters of a parser message kept in a finding: libxml2 quotes names and text from
#: the payload (a start tag name may run to 50,000 characters), and a report names the
#: problem, it does not carry the payload.
MAX_MESSAGE = 300


def _syntax_finding(exc: etree.XMLSyntaxError) -> Finding:
    line, column = exc.position if exc.position else (None, None)
    text = str(exc.msg or exc)
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}... ({len(text)} characters)"
    code = "xml.too_deep" if "depth" in text.lower() else "xml.malformed"
    if code == "xml.too_deep":
        text = f"Element nesting exceeds {MAX_DEPTH} levels ({text})."
    elif "entity" in text.lower():
        code = "xml.entity_forbidden" if "not defined" in text.lower() else code
    return finding(code, text, line=line, column=column)
