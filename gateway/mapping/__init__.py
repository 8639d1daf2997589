"""Declarative mappings between message formats and the canonical payment event.

``spec`` loads and compiles mapping files (closed vocabulary, no eval),
``engine`` applies them (``map_inbound``), ``render`` reads them backwards
(``map_outbound``: canonical events to a Document, ordered by the XSD; its plan is
compiled in ``render_plan``), ``lint`` checks them against XSDs.
"""

from __future__ import annotations

from pathlib import Path

from gateway.errors import MappingError
from gateway.mapping.engine import MapResult, map_inbound
from gateway.mapping.render import RenderResult, map_outbound, render_xml
from gateway.mapping.spec import Mapping, load_mapping
from gateway.report import SchemaUse

__all__ = [
    "MapResult",
    "Mapping",
    "MappingRegistry",
    "RenderResult",
    "load_mapping",
    "map_inbound",
    "map_outbound",
    "mapping_use",
    "render_xml",
]

#: Mapping -> its SchemaUse (immutable, so one per mapping file serves every report).
_USES: dict[int, tuple[Mapping, SchemaUse]] = {}


def mapping_use(mapping: Mapping) -> SchemaUse:
    """What a report's ``judged_by`` says of ``mapping``."""
    cached = _USES.get(id(mapping))
    if cached is not None and cached[0] is mapping:
        return cached[1]
    use = SchemaUse(
        kind="mapping",
        id=str(mapping.message_id),
        origin=str(mapping.file.name),
        sha256=mapping.sha256,
        version=mapping.version,
    )
    if len(_USES) >= 1024:
        _USES.clear()
    _USES[id(mapping)] = (mapping, use)
    return use


class MappingRegistry:
    """All mapping files of a folder (``<message id>.yaml``; sub-folders hold includes)."""

    def __init__(self, mappings: list[Mapping]) -> None:
        self._by_id = {str(m.message_id): m for m in mappings}

    @classmethod
    def load(cls, folder: Path) -> MappingRegistry:
        if not folder.is_dir():
            raise MappingError(f"mapping folder {folder} does not exist")
        return cls([load_mapping(path) for path in sorted(folder.glob("*.yaml"))])

    def get(self, message_id: str) -> Mapping | None:
        return self._by_id.get(message_id)

    def all(self) -> list[Mapping]:
        return list(self._by_id.values())
