"""In-process cost per message on one core: the lxml floor, the gateway, the peers.

* **floor**: the hardened lxml parse (the parser options of ``gateway/mx.py``) and XSD
  validation of the same bytes with the schemas the gateway compiled
  (``SchemaRegistry.compiled``): the Document, and the AppHdr when there is one.
* **gateway**: ``Gateway.inbound(payload)`` (detect, parse, XSD, business pack, mapping,
  report) and each canonical event serialised with orjson, as the outbox does; the
  CBPR+ business message also with ``RuleSelection(packs=("cbpr-plus",))``.
* **peers**: see :mod:`bench.peers`.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

from bench.messages import Message
from bench.peers import PEERS
from bench.timing import Budget, measure
from gateway.detect import detect_tree
from gateway.pipeline import Gateway, RuleSelection
from gateway.schemas import SchemaRegistry

Call = Callable[[], Any]

#: Gateway variants: (contender name, row label suffix, scheme packs), per message key.
CBPR = (("gateway_cbpr", "business + CBPR+ packs", ("cbpr-plus",)),)
BUSINESS = ("gateway", "business pack", ())


def hardened_parser() -> etree.XMLParser:
    """The options of ``gateway.mx`` (no DTD, no entities, no network, libxml2 limits on)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
        remove_comments=False,
    )


def floor_call(message: Message, schemas: SchemaRegistry) -> Call | str:
    """Parse + validate, with the elements to validate located once, outside the timing."""
    if message.is_fin:
        return "n/a: FIN is not XML"
    parser = hardened_parser()
    root = etree.fromstring(message.payload, parser)
    detection = detect_tree(root)
    targets: list[tuple[int | None, etree.XMLSchema]] = []
    for element, mid in (
        (detection.document, detection.message_id),
        (detection.apphdr, detection.apphdr_id),
    ):
        if element is None or mid is None:
            continue
        entry = schemas.get(str(mid))
        if entry is None:
            return f"n/a: no schema for {mid}"
        where = None if element is root else root.index(element)  # direct children only
        targets.append((where, schemas.compiled(entry)))

    def call() -> bool:
        tree = etree.fromstring(message.payload, parser)
        valid = True
        for where, schema in targets:
            valid = schema.validate(tree if where is None else tree[where]) and valid
        return valid

    return call


def gateway_call(
    gateway: Gateway, message: Message, packs: tuple[str, ...], stages: list[dict[str, float]]
) -> Call:
    """``stages`` collects each call's ``report.timings_ms`` (a list append: no extra work)."""
    selection = RuleSelection(packs=packs)
    payload, dumps, keep = message.payload, orjson.dumps, stages.append

    def call() -> str:
        result = gateway.inbound(payload, rules=selection)
        for event in result.events:
            dumps(event)
        keep(result.report.timings_ms)
        return result.report.outcome.value

    return call


def official_xsd(schemas: SchemaRegistry, message: Message) -> Path:
    entry = None if message.is_fin else schemas.get(message.message_id)
    return entry.path if entry is not None else Path("/nonexistent")


def run(gateway: Gateway, messages: list[Message], budget: Budget) -> list[dict[str, Any]]:
    """One result per message: every contender's summary, or why it has none."""
    results = []
    for message in messages:
        calls: dict[str, Call] = {}
        missing: dict[str, str] = {}
        floor = floor_call(message, gateway.schemas)
        if isinstance(floor, str):
            missing["floor"] = floor
        else:
            calls["floor"] = floor
        variants = (BUSINESS, *CBPR) if message.key == "pacs008-cbpr" else (BUSINESS,)
        stages: list[dict[str, float]] = []
        for name, _label, packs in variants:
            calls[name] = gateway_call(gateway, message, packs, stages if name == "gateway" else [])
        for peer in PEERS:
            prepared = peer.prepare(message, official_xsd(gateway.schemas, message))
            if isinstance(prepared, str):
                missing[peer.key] = prepared
            else:
                calls[peer.key] = prepared
        if message.transactions >= 10_000 and budget.min_calls < 2:  # quick mode
            for slow in ("pacs008", "xmlschema"):
                if slow in calls:
                    del calls[slow]
                    missing[slow] = "skipped in quick mode"
        print(f"  {message.label}: {', '.join(calls)}", file=sys.stderr, flush=True)
        series = measure(calls, budget)
        results.append(
            {
                "key": message.key,
                "label": message.label,
                "message_id": message.message_id,
                "transactions": message.transactions,
                "bytes": len(message.payload),
                "variants": [[name, label] for name, label, _packs in variants],
                "stages_ms": {
                    step: round(statistics.median(t.get(step, 0.0) for t in stages), 4)
                    for step in (stages[-1] if stages else {})
                },
                "contenders": {
                    **{name: s.summary() for name, s in series.items()},
                    **{name: {"na": why} for name, why in missing.items()},
                },
            }
        )
    return results
