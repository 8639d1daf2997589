"""Detect the message type and envelope of an ISO 20022 payload.

Accepted shapes (prefixed or default namespaces alike):

* a bare ``Document`` (``urn:iso:std:iso:20022:tech:xsd:<message id>``);
* an ``AppHdr`` (head.001) on its own: the message id is the AppHdr's;
* any single wrapper element holding an ``AppHdr`` and a ``Document``
  (``BizMsgEnvlp``, ``RequestPayload``, SWIFT's ``Envelope``, ISO's nvlp.001 ...),
  at most :data:`MAX_WRAPPER_DEPTH` levels below the root (a Document deeper than
  that is not found: ``detect.no_document``, never a silent AppHdr-only message).

:func:`detect` stops at the Document's start tag, so an AppHdr that comes *after* the
Document is not seen there (the envelope reads ``<Wrapper>/Document``); the pipeline
uses :func:`detect_tree`, which sees both.

:func:`detect` reads only as far as the Document's start tag (lxml iterparse
with the hardened settings of :mod:`gateway.mx`); :func:`detect_tree` does the
same on an already parsed tree and also checks the AppHdr's ``MsgDefIdr``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from lxml import etree

from gateway.messages import ISO_NAMESPACE_PREFIX, MessageId
from gateway.mx import _doctype_finding, _syntax_finding, scan_prolog
from gateway.report import Finding, finding

__all__ = ["MAX_WRAPPER_DEPTH", "Detection", "detect", "detect_tree"]

#: How deep below the root a wrapper may hold the Document / AppHdr (SOAP bodies,
#: SAA DataPDU, bank envelopes nest a few levels).
MAX_WRAPPER_DEPTH = 8


@dataclass(slots=True)
class Detection:
    """What :func:`detect` found.

    ``envelope`` is one of ``Document``, ``AppHdr`` or ``<Wrapper>/AppHdr+Document``
    (``<Wrapper>/Document`` when the wrapper holds no AppHdr).
    """

    message_id: MessageId | None
    envelope: str | None = None
    apphdr_id: MessageId | None = None
    apphdr_msg_def: str | None = None
    document: etree._Element | None = None
    apphdr: etree._Element | None = None
    findings: list[Finding] = field(default_factory=list)


def _split(tag: object) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _iso(ns: str) -> bool:
    return ns.startswith(ISO_NAMESPACE_PREFIX)


def _msgdefidr(apphdr: etree._Element) -> str | None:
    ns, _ = _split(apphdr.tag)
    value = apphdr.findtext(f"{{{ns}}}MsgDefIdr")
    return value.strip() if value is not None else None


def detect_tree(root: etree._Element) -> Detection:
    """Classify a parsed document (see module docstring)."""
    ns, local = _split(root.tag)
    if local in _MESSAGE_ROOTS:
        if not _iso(ns):
            return Detection(None, local, findings=[_unknown_ns(ns, root)])
        mid = MessageId.from_namespace(ns)
        if mid is None:
            return Detection(None, local, findings=[_unknown_ns(ns, root)])
        if local == "AppHdr":
            return Detection(mid, "AppHdr", apphdr_id=mid, apphdr=root, document=None)
        return Detection(mid, local, document=root)
    # A wrapper: search every level (never inside a Document or AppHdr) for both parts.
    documents: list[etree._Element] = []
    apphdrs: list[etree._Element] = []
    level: list[etree._Element] = [root]
    for _ in range(MAX_WRAPPER_DEPTH):
        below: list[etree._Element] = []
        for element in level:
            for child in element:
                if not isinstance(child.tag, str):
                    continue
                clocal = _split(child.tag)[1]
                if clocal == "Document":
                    documents.append(child)
                elif clocal == "AppHdr":
                    apphdrs.append(child)
                else:
                    below.append(child)
        level = below
    if not documents:
        deeper = next(root.iter("{*}Document", "Document"), None)
        if deeper is not None:  # too deep to be a message part: say so, never ignore it
            return Detection(None, local, findings=[_too_deep(local, deeper.sourceline)])
    return _from_parts(local, documents, apphdrs)


def _too_deep(wrapper: str, line: int | None) -> Finding:
    return finding(
        "detect.no_document",
        f"A Document element is nested deeper than {MAX_WRAPPER_DEPTH} levels under "
        f"<{wrapper}>; envelopes that deep are not accepted.",
        line=line,
    )


#: Roots that are the message itself; any other root is a wrapper (including ISO's own
#: Business Message Envelope, nvlp.001, whose namespace is an ISO one).
_MESSAGE_ROOTS = frozenset({"Document", "AppHdr"})


def _from_parts(
    wrapper: str, documents: list[etree._Element], apphdrs: list[etree._Element]
) -> Detection:
    apphdr = apphdrs[0] if apphdrs else None
    apphdr_id = MessageId.from_namespace(_split(apphdr.tag)[0]) if apphdr is not None else None
    findings: list[Finding] = []
    if not documents:
        if apphdr is not None and apphdr_id is not None:
            return Detection(apphdr_id, f"{wrapper}/AppHdr", apphdr_id=apphdr_id, apphdr=apphdr)
        findings.append(
            finding(
                "detect.no_document",
                f"No ISO 20022 Document element found under <{wrapper}> "
                f"(searched {MAX_WRAPPER_DEPTH} levels deep).",
                line=1,
            )
        )
        return Detection(None, wrapper, findings=findings)
    if len(documents) > 1:
        findings.append(
            finding(
                "detect.multiple_documents",
                f"{len(documents)} Document elements under <{wrapper}>; exactly one expected.",
                line=documents[1].sourceline,
            )
        )
    document = documents[0]
    dns, _ = _split(document.tag)
    mid = MessageId.from_namespace(dns)
    if mid is None:
        findings.append(_unknown_ns(dns, document))
    envelope = f"{wrapper}/AppHdr+Document" if apphdr is not None else f"{wrapper}/Document"
    detection = Detection(
        mid, envelope, apphdr_id=apphdr_id, document=document, apphdr=apphdr, findings=findings
    )
    if apphdr is not None:
        if apphdr_id is None or apphdr_id.business_area != "head":
            findings.append(
                finding(
                    "detect.apphdr_unknown",
                    f"AppHdr namespace {_split(apphdr.tag)[0]!r} is not a head.001 namespace.",
                    line=apphdr.sourceline,
                )
            )
        detection.apphdr_msg_def = _msgdefidr(apphdr)
        _check_msgdefidr(detection)
    return detection


def _check_msgdefidr(detection: Detection) -> None:
    declared, mid, apphdr = detection.apphdr_msg_def, detection.message_id, detection.apphdr
    if apphdr is None or mid is None or declared is None:
        return
    # Market practice sometimes appends a usage-guideline suffix after a dot
    # (pacs.008.001.08.xyz): the message id must be the leading part.
    if declared == str(mid) or declared.startswith(f"{mid}."):
        return
    node = apphdr.find(f"{{{_split(apphdr.tag)[0]}}}MsgDefIdr")
    detection.findings.append(
        finding(
            "detect.apphdr_mismatch",
            f"AppHdr MsgDefIdr is {declared!r} but the Document is {mid}.",
            line=node.sourceline if node is not None else apphdr.sourceline,
            xpath="/AppHdr/MsgDefIdr",
            context={"msg_def_idr": declared, "document": str(mid)},
        )
    )


def _unknown_ns(ns: str, element: etree._Element) -> Finding:
    return finding(
        "detect.unknown_namespace",
        f"Namespace {ns!r} does not identify an ISO 20022 message.",
        line=element.sourceline,
    )


def detect(payload: bytes) -> Detection:
    """Detect message id and envelope, reading only up to the Document start tag.

    The returned detection carries no elements (``document``/``apphdr`` are
    ``None``) and does not check the AppHdr's MsgDefIdr; use :func:`detect_tree`
    on a parsed tree for that.
    """
    doctype_at = scan_prolog(payload)
    if doctype_at is not None:
        return Detection(None, findings=[_doctype_finding(*doctype_at)])
    if not payload.strip():
        return Detection(None, findings=[finding("xml.empty", "The payload is empty.")])
    events = etree.iterparse(
        io.BytesIO(payload),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    root_local: str | None = None
    apphdr_id: MessageId | None = None
    apphdr_seen = False
    depth = -1
    skip_below: int | None = None  # inside an AppHdr: nothing there is a message part
    try:
        for event, element in events:
            if event == "end":
                if skip_below is not None and depth == skip_below:
                    skip_below = None
                depth -= 1
                continue
            depth += 1
            if skip_below is not None:
                continue
            ns, local = _split(element.tag)
            if depth == 0:
                root_local = local
                docinfo = element.getroottree().docinfo
                if docinfo.doctype or docinfo.internalDTD is not None:  # defence in depth
                    return Detection(None, findings=[_doctype_finding(1, 1)])
                if local in _MESSAGE_ROOTS:
                    mid = MessageId.from_namespace(ns) if _iso(ns) else None
                    if mid is None:
                        return Detection(None, local, findings=[_unknown_ns(ns, element)])
                    is_hdr = local == "AppHdr"
                    return Detection(mid, local, apphdr_id=mid if is_hdr else None)
                continue
            if depth > MAX_WRAPPER_DEPTH:
                if local == "Document":
                    return Detection(None, root_local, findings=[_too_deep(str(root_local), None)])
                continue
            if local == "AppHdr":
                if not apphdr_seen:
                    apphdr_seen = True
                    apphdr_id = MessageId.from_namespace(ns) if _iso(ns) else None
                skip_below = depth
            elif local == "Document":
                mid = MessageId.from_namespace(ns) if _iso(ns) else None
                shape = "AppHdr+Document" if apphdr_seen else "Document"
                detection = Detection(mid, f"{root_local}/{shape}", apphdr_id=apphdr_id)
                if mid is None:
                    detection.findings.append(_unknown_ns(ns, element))
                return detection
    except etree.XMLSyntaxError as exc:
        return Detection(None, root_local, findings=[_syntax_finding(exc)])
    if apphdr_id is not None and root_local is not None:
        return Detection(apphdr_id, f"{root_local}/AppHdr", apphdr_id=apphdr_id)
    return Detection(
        None,
        root_local,
        findings=[finding("detect.no_document", "No ISO 20022 Document element was found.")],
    )
