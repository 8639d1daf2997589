"""SWIFT CBPR+ (Cross-Border Payments and Reporting Plus) usage-rule checks.

The logic of the ``cbpr-plus`` rule pack (``packs/cbpr-plus/``): CBPR+ usage
guidelines of Standards Release **SR2025** (live 22 November 2025) and **SR2026**
(live 14 November 2026: no fully unstructured postal address) for pacs.008.001.08,
pacs.009.001.08 (core, COV, ADV) and the Business Application Header
(head.001.001.02) of every CBPR+ message, camt.054.001.08 included. Which rule
applies to which message, with what parameters, severity and ISO reason, is pack
data; what the generic checks cover (UETR present, commodity currencies, one
transaction per message) is configured from :mod:`gateway.rules.generic`.

Sources (public):

* SWIFT, CBPR+ usage guidelines on MyStandards ("CBPRPlus SR2025", pacs.008,
  pacs.009, camt.054 and the head.001 BAH): formal rules
  ``CBPR_Instruction_Identification_FormalRule``,
  ``CBPR_End_To_End_Identification_FormalRule`` (pacs.009),
  ``CBPR_Interbank_Settlement_Currency_FormalRule``,
  ``CBPR_GracePeriod_Structured/Hybrid/Unstructured_FormalRule``,
  ``CBPR_From_To_Instructing_Instructed_Agent_BIC_FormalRule``; textual rules on
  the Business Message Identifier, Message Definition Identifier and Business
  Service; the ``CBPR_RestrictedFINX*`` data types (character sets, lengths).
* SWIFT, "Removal of unstructured address" (swift.com/standards/iso-20022):
  from 14 November 2026 town and country in their own elements, at a minimum,
  for all agents and parties of CBPR+ payment messages (camt.052/053/054 and a
  few others excepted); fully structured or hybrid only; an agent may still be
  identified by BIC alone.
* CBPR+ User Handbook: AppHdr elements (BizMsgIdr carries GrpHdr/MsgId,
  MsgDefIdr names the Document, BizSvc ``swift.cbprplus.*``), Instruction
  Identification restricted to 16 characters for MT field 20.

Paths in parameters are element local names joined by ``/`` from the Document's
message element (``FIToFICstmrCdtTrf/CdtTrfTxInf/PmtId/InstrId``); a leading
``//`` matches the first step anywhere. Nothing is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree

from gateway.rules.index import ElementIndex
from gateway.rules.model import Hit, Subject, check

__all__ = ["EXTENDED_CHARACTERS", "FIN_X_CHARACTERS", "select"]

#: The SWIFT FIN "X" character set: CBPR_RestrictedFINX* types (identifiers).
FIN_X_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)
#: CBPR_RestrictedFINX*_Extended types (names, addresses, remittance, narrative).
EXTENDED_CHARACTERS = FIN_X_CHARACTERS | frozenset('!#$%&*=^_`{|}~";<>@[\\]')

_OUTSIDE_FIN_X = re.compile(f"[^{re.escape(''.join(sorted(FIN_X_CHARACTERS)))}]")
_OUTSIDE_EXTENDED = re.compile(f"[^{re.escape(''.join(sorted(EXTENDED_CHARACTERS)))}]")

#: PostalAddress24 elements other than AdrLine: any of them makes an address with
#: address lines "hybrid" rather than "unstructured".
_STRUCTURED = frozenset(
    (
        "AdrTp", "Dept", "SubDept", "StrtNm", "BldgNb", "BldgNm", "Flr", "PstBx", "Room",
        "PstCd", "TwnNm", "TwnLctnNm", "DstrctNm", "CtrySubDvsn", "Ctry",
    )
)  # fmt: skip
#: AppHdr CopyDuplicate values for which From/To need not be the agents.
_COPIES = frozenset(("COPY", "CODU"))


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _ns(element: etree._Element) -> str:
    tag = element.tag
    return tag[: tag.index("}") + 1] if isinstance(tag, str) and tag.startswith("{") else ""


def _text(element: etree._Element) -> str:
    text = element.text if not len(element) else "".join(element.itertext())
    return text.strip() if text else ""


def _child(element: etree._Element, *names: str) -> etree._Element | None:
    """The first child ``names[0]`` of ``element``, its first child ``names[1]``, ...
    (in the parent's namespace), as ``find`` would, without its path parser."""
    node: etree._Element | None = element
    for name in names:
        if node is None:
            return None
        tag = f"{_ns(node)}{name}"
        for child in node:
            if child.tag == tag:
                node = child
                break
        else:
            node = None
    return node


def _located(parent: etree._Element, name: str) -> etree._Element:
    """The child ``name`` of ``parent`` if present, else ``parent`` (where it belongs)."""
    child = _child(parent, name)
    return parent if child is None else child


def select(
    document: etree._Element, path: str, index: ElementIndex | None = None
) -> list[etree._Element]:
    """Elements at ``path`` below the Document (see the module docstring); ``index``:
    the Document's, to find a ``//`` first step without walking the tree."""
    ns = _ns(document)
    steps = [step for step in path.split("/") if step]
    if not steps:
        return []
    if path.startswith("//"):
        tag = f"{ns}{steps[0]}"
        nodes = list(document.iter(tag) if index is None else index.tagged(tag))
    else:
        nodes = list(document.iterchildren(f"{ns}{steps[0]}"))
    for step in steps[1:]:
        nodes = [child for node in nodes for child in node.iterchildren(f"{ns}{step}")]
    return nodes


def _select(subject: Subject, document: etree._Element, path: str) -> list[etree._Element]:
    return select(document, path, subject.index(document))


def _apphdr(subject: Subject) -> etree._Element | None:
    return subject.header.element if subject.header is not None else None


def _bic11(bic: str) -> str:
    """A BIC8 and its BIC11 with branch XXX name the same institution."""
    return f"{bic}XXX" if len(bic) == 8 else bic


# --- Business Application Header -----------------------------------------------------


@check("cbpr_apphdr_present", "The message carries a Business Application Header (AppHdr).")
def apphdr_present(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.header is None and subject.document is not None:
        yield Hit(
            "A CBPR+ business message is an AppHdr plus a Document; no AppHdr was found.",
            element=subject.document,
        )


@check(
    "cbpr_apphdr_message_definition",
    "AppHdr MsgDefIdr is exactly the message identifier of the Document.",
)
def apphdr_message_definition(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    apphdr = _apphdr(subject)
    declared = subject.header.message_definition if subject.header else None
    if apphdr is not None and subject.message_id and declared != subject.message_id:
        yield Hit(
            f"AppHdr MsgDefIdr is {declared!r}; the Document is {subject.message_id}, "
            "which MsgDefIdr must name exactly.",
            element=_located(apphdr, "MsgDefIdr"),
            context={"msg_def_idr": declared, "document": subject.message_id},
        )


@check(
    "cbpr_apphdr_business_message_id",
    "AppHdr BizMsgIdr equals the Document's GrpHdr/MsgId.",
)
def apphdr_business_message_id(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    apphdr, expected = _apphdr(subject), subject.business_message_id
    found = subject.header.business_message_id if subject.header else None
    if apphdr is not None and expected is not None and found != expected:
        yield Hit(
            "AppHdr BizMsgIdr must carry the GrpHdr/MsgId of the Document "
            f"({expected!r}); it is {found!r}.",
            element=_located(apphdr, "BizMsgIdr"),
        )


@check(
    "cbpr_apphdr_bicfi",
    "AppHdr From and To identify financial institutions by FIId/FinInstnId/BICFI.",
)
def apphdr_bicfi(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    apphdr = _apphdr(subject)
    for role in ("Fr", "To"):
        party = None if apphdr is None else _child(apphdr, role)
        if party is None:
            continue  # no AppHdr, or the head.001 schema reports a missing From/To
        bic = _child(party, "FIId", "FinInstnId", "BICFI")
        if bic is None or not _text(bic):
            yield Hit(f"AppHdr {role} must be identified by FIId/FinInstnId/BICFI.", element=party)


@check(
    "cbpr_apphdr_agents",
    "AppHdr From/To BICs are the instructing/instructed agents' BICs "
    "(unless CopyDuplicate is COPY or CODU).",
)
def apphdr_agents(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    apphdr, document = _apphdr(subject), subject.document
    if apphdr is None or document is None:
        return
    copy = _child(apphdr, "CpyDplct")
    if copy is not None and _text(copy) in _COPIES:
        return
    for role, agent in (("Fr", "InstgAgt"), ("To", "InstdAgt")):
        bic_element = _child(apphdr, role, "FIId", "FinInstnId", "BICFI")
        if bic_element is None or not _text(bic_element):
            continue  # cbpr_apphdr_bicfi reports it
        header_bic = _text(bic_element)
        agent_bics = {
            _text(bic)
            for node in _select(subject, document, f"//{agent}")
            if (bic := _child(node, "FinInstnId", "BICFI")) is not None and _text(bic)
        }
        if agent_bics and any(_bic11(b) != _bic11(header_bic) for b in agent_bics):
            yield Hit(
                f"AppHdr {role} BIC {header_bic} is not the {agent} BIC "
                f"({', '.join(sorted(agent_bics))}).",
                element=bic_element,
                context={"apphdr_bic": header_bic, "agent_bics": sorted(agent_bics)},
            )


@check(
    "cbpr_business_service",
    "AppHdr BizSvc names a CBPR+ service (prefix) and, where listed, the value the "
    "guideline gives for the message.",
    params={
        "prefix": "BizSvc must start with this, e.g. 'swift.cbprplus.' (absent BizSvc fails)",
        "allowed": "message id -> the BizSvc values allowed for it (absent BizSvc is skipped)",
    },
)
def business_service(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    apphdr = _apphdr(subject)
    if apphdr is None or subject.header is None:
        return
    service = subject.header.business_service
    location = _located(apphdr, "BizSvc")
    prefix = params.get("prefix")
    if prefix is not None and not (service or "").startswith(str(prefix)):
        found = f"AppHdr BizSvc is {service!r}" if service else "AppHdr has no BizSvc"
        yield Hit(f"{found}; a CBPR+ message names a {prefix}* service.", element=location)
        return
    allowed = (params.get("allowed") or {}).get(subject.message_id)
    if service and allowed is not None and service not in allowed:
        yield Hit(
            f"AppHdr BizSvc {service!r} is not the value the usage guideline gives for "
            f"{subject.message_id} ({', '.join(allowed)}).",
            element=location,
            context={"business_service": service},
        )


# --- Agents ----------------------------------------------------------------------------


@check(
    "cbpr_agent_identification",
    "Each agent is identified by BICFI, or by name and postal address, or (national "
    "exception) by a clearing system member id.",
    params={"exclude": "agent element names not judged here, e.g. [InstgAgt, InstdAgt]"},
)
def agent_identification(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.document is None:
        return
    exclude = set(params.get("exclude") or ())
    document = subject.document
    for institution in subject.index(document).tagged(f"{_ns(document)}FinInstnId"):
        parent = institution.getparent()
        role = _local(parent) if parent is not None else "FinInstnId"
        if role in exclude:
            continue
        present = {_local(child) for child in institution if isinstance(child.tag, str)}
        if "BICFI" in present or {"Nm", "PstlAdr"} <= present or "ClrSysMmbId" in present:
            continue
        yield Hit(
            f"{role} is identified neither by BICFI, nor by name and postal address, "
            "nor by a clearing system member id.",
            element=institution,
            context={"agent": role},
        )


# --- References, lengths and characters ------------------------------------------------


@check(
    "cbpr_reference_slashes",
    "References do not start or end with '/' and contain no '//' (MT field format).",
    params={
        "paths": "element paths below the Document (see gateway.rules.cbpr)",
        "first": "only the first N characters are restricted (pacs.009 EndToEndId: 16)",
    },
    required=("paths",),
)
def reference_slashes(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.document is None:
        return
    first = params.get("first")
    for path in params["paths"]:
        for element in _select(subject, subject.document, str(path)):
            value = _text(element)
            # A restricted prefix is what an MT field carries: it must not end with a
            # slash either, whether it is the whole value or its first N characters.
            judged = value[: int(first)] if first is not None else value
            if judged.startswith("/") or judged.endswith("/") or "//" in judged:
                scope = f"the first {first} characters of " if first is not None else ""
                yield Hit(
                    f"{_local(element)}: {scope}a reference must not start or end with '/' "
                    "nor contain '//'.",
                    element=element,
                )


@check(
    "cbpr_max_length",
    "Elements do not exceed the lengths the guideline sets for MT translation.",
    params={"limits": "element path -> maximum number of characters"},
    required=("limits",),
)
def max_length(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.document is None:
        return
    for path, limit in params["limits"].items():
        for element in _select(subject, subject.document, str(path)):
            size = len(_text(element))
            if size > int(limit):
                yield Hit(
                    f"{_local(element)} has {size} characters; CBPR+ allows at most {limit}.",
                    element=element,
                    context={"length": size, "max": int(limit)},
                )


def _leaf_text(element: etree._Element) -> str:
    return "".join(element.itertext()) if len(element) else (element.text or "")


def _clean_text(leaves: list[etree._Element], fin_x: set[str]) -> bool:
    """True when none of ``leaves`` has a character outside its set: the leaves'
    texts joined by a space (in both sets) and searched once per set."""
    strict: list[str] = []
    other: list[str] = []
    for element in leaves:
        (strict if element.tag in fin_x else other).append(_leaf_text(element))
    return (
        _OUTSIDE_FIN_X.search(" ".join(strict)) is None
        and _OUTSIDE_EXTENDED.search(" ".join(other)) is None
    )


@check(
    "cbpr_character_set",
    "Text uses the CBPR+ character sets: FIN X for the listed identifier elements, "
    "the extended set for all other text (AppHdr and Document).",
    params={"restricted": "element names restricted to the FIN X set (MsgId, InstrId...)"},
    required=("restricted",),
)
def character_set(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    restricted = {str(name) for name in params["restricted"]}
    for root in (_apphdr(subject), subject.document):
        if root is None:
            continue
        ns = _ns(root)
        fin_x = {f"{ns}{name}" for name in restricted}
        if _clean_text(subject.index(root).leaves, fin_x):
            continue  # the usual case, decided with one search per character set
        for element in root.iter(etree.Element):  # elements only: no comments or PIs
            if len(element):
                if any(isinstance(child.tag, str) for child in element):
                    continue  # only leaf elements carry values
                text = "".join(element.itertext())
            else:
                text = element.text or ""
            strict = element.tag in fin_x
            if not (_OUTSIDE_FIN_X if strict else _OUTSIDE_EXTENDED).search(text):
                continue
            allowed = FIN_X_CHARACTERS if strict else EXTENDED_CHARACTERS
            bad = sorted({c for c in text if c not in allowed})
            kind = "FIN X" if strict else "extended CBPR+"
            # The offending characters only: the value may be a name or an address.
            yield Hit(
                f"{_local(element)} contains characters outside the {kind} character set: "
                f"{' '.join(repr(c) for c in bad)}.",
                element=element,
                context={"characters": bad},
            )


# --- Postal addresses ------------------------------------------------------------------


_Address = tuple[etree._Element, frozenset[str], int]


def _addresses(subject: Subject) -> list[_Address]:
    """Every PstlAdr of the Document: (element, structured element names, AdrLine
    count); read once per message for the address rules."""
    document = subject.document
    if document is None:
        return []
    index = subject.index(document)
    found: list[_Address] | None = index.memo.get("cbpr.addresses")
    if found is None:
        found = []
        for address in index.tagged(f"{_ns(document)}PstlAdr"):
            names = [_local(child) for child in address if isinstance(child.tag, str)]
            structured = frozenset(n for n in names if n in _STRUCTURED)
            found.append((address, structured, names.count("AdrLine")))
        index.memo["cbpr.addresses"] = found
    return found


def _owner(address: etree._Element) -> str:
    parent = address.getparent()
    if parent is not None and _local(parent) == "FinInstnId":
        parent = parent.getparent()
    return _local(parent) if parent is not None else "PstlAdr"


@check(
    "cbpr_address_town_country",
    "A structured or hybrid postal address has TwnNm and Ctry.",
)
def address_town_country(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    for address, structured, lines in _addresses(subject):
        if lines and not structured:
            continue  # unstructured: judged by the unstructured rules
        missing = [name for name in ("TwnNm", "Ctry") if name not in structured]
        if missing:
            kind = "hybrid" if lines else "structured"
            yield Hit(
                f"{_owner(address)}: a {kind} postal address needs {' and '.join(missing)}.",
                element=address,
                context={"party": _owner(address), "missing": missing},
            )


@check(
    "cbpr_address_hybrid_lines",
    "A hybrid postal address (AdrLine plus structured elements) has at most N AdrLine.",
    params={"max_lines": "maximum number of AdrLine in a hybrid address"},
    required=("max_lines",),
)
def address_hybrid_lines(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    limit = int(params["max_lines"])
    for address, structured, lines in _addresses(subject):
        if structured and lines > limit:
            yield Hit(
                f"{_owner(address)}: a hybrid postal address allows at most {limit} "
                f"AdrLine; it has {lines}.",
                element=address,
                context={"party": _owner(address), "lines": lines},
            )


@check(
    "cbpr_address_unstructured",
    "Fully unstructured postal addresses (AdrLine only): not allowed; or, during a grace "
    "period (max_line_length given), allowed with lines of at most that many characters.",
    params={"max_line_length": "grace period: unstructured allowed, AdrLine at most N characters"},
)
def address_unstructured(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    limit = params.get("max_line_length")
    for address, structured, lines in _addresses(subject):
        if structured or not lines:
            continue
        party = _owner(address)
        if limit is None:
            yield Hit(
                f"{party}: a fully unstructured postal address (AdrLine only) is not allowed; "
                "give at least TwnNm and Ctry in their own elements.",
                element=address,
                context={"party": party},
            )
            continue
        for line in address.iterchildren(f"{_ns(address)}AdrLine"):
            if len(_text(line)) > int(limit):
                yield Hit(
                    f"{party}: an unstructured address line may have at most {limit} "
                    f"characters; this one has {len(_text(line))}.",
                    element=line,
                    context={"party": party},
                )
