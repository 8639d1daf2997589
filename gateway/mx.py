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

from lxml import etree

from gateway.report import Finding, finding

__all__ = ["DEFAULT_MAX_BYTES", "MAX_DEPTH", "ParsedXml", "parse_xml", "scan_prolog"]

#: Default payload limit for one message (bytes). A 10,000-transaction pain.001 is ~11 MB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
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
_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_WS = re.compile(rb"[ \t\r\n]*")


def _prolog_bytes(payload: bytes) -> bytes:
    """The start of the payload as ASCII-compatible bytes (UTF-16 is transcoded)."""
    head = payload[:65536]
    for bom, codec in _BOMS.items():
        if head.startswith(bom):
            return head[2:].decode(codec, errors="replace").encode("utf-8", errors="replace")
    return head[3:] if head.startswith(b"\xef\xbb\xbf") else head


def scan_prolog(payload: bytes) -> tuple[int, int] | None:
    """Return (line, column) of a ``<!DOCTYPE`` in the prolog, else ``None``.

    Walks the prolog (XML declaration, comments, processing instructions,
    whitespace) up to the root element's start tag.
    """
    data = _prolog_bytes(payload)
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
    pis = [*root.itersiblings(etree.ProcessingInstruction, preceding=True)]
    pis += [*root.iter(etree.ProcessingInstruction)]
    pis += [*root.itersiblings(etree.ProcessingInstruction)]
    findings = [
        finding(
            "xml.processing_instruction",
            f"Processing instruction <?{pi.target} ...?> ignored.",
            line=pi.sourceline,
        )
        for pi in pis[:10]
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


def _syntax_finding(exc: etree.XMLSyntaxError) -> Finding:
    line, column = exc.position if exc.position else (None, None)
    text = str(exc.msg or exc)
    code = "xml.too_deep" if "depth" in text.lower() else "xml.malformed"
    if code == "xml.too_deep":
        text = f"Element nesting exceeds {MAX_DEPTH} levels ({text})."
    elif "entity" in text.lower():
        code = "xml.entity_forbidden" if "not defined" in text.lower() else code
    return finding(code, text, line=line, column=column)
