"""ISO 20022 / SWIFT MT translation and validation gateway.

The public Python API, usable without a server::

    import gateway
    result = gateway.inbound(payload_bytes)
    result.report.outcome        # accepted | accepted_with_warnings | rejected
    result.report.findings       # every problem found, each with code and location
    result.events                # canonical payment events (JSON-ready dicts)

``inbound`` uses a process-wide :class:`Gateway` built from the environment on
first use (see :mod:`gateway.settings`); build your own with
``Gateway.from_settings(Settings.from_env(...))`` to control configuration.
"""

from __future__ import annotations

import threading

from gateway.detect import Detection, detect
from gateway.errors import (
    ConfigError,
    GatewayError,
    InputError,
    MappingError,
    SchemaCompileError,
    SchemaError,
    SchemaIntegrityError,
)
from gateway.events import PaymentEvent
from gateway.messages import MessageId
from gateway.pipeline import Gateway, InboundResult, RuleSelection
from gateway.report import Finding, Layer, Location, Outcome, Report, Severity
from gateway.settings import Settings

__all__ = [
    "ConfigError",
    "Detection",
    "Finding",
    "Gateway",
    "GatewayError",
    "InboundResult",
    "InputError",
    "Layer",
    "Location",
    "MappingError",
    "MessageId",
    "Outcome",
    "PaymentEvent",
    "Report",
    "RuleSelection",
    "SchemaCompileError",
    "SchemaError",
    "SchemaIntegrityError",
    "Settings",
    "Severity",
    "default_gateway",
    "detect",
    "inbound",
]

_default: Gateway | None = None
_lock = threading.Lock()


def default_gateway() -> Gateway:
    """The process-wide gateway, built from the environment on first use."""
    global _default  # noqa: PLW0603 - one lazily built instance per process
    with _lock:
        if _default is None:
            _default = Gateway.from_settings(Settings.from_env())
        return _default


def inbound(
    payload: bytes,
    *,
    tenant: str | None = None,
    channel: str | None = None,
    packs: tuple[str, ...] = (),
) -> InboundResult:
    """Run one message through detect, parse, validate (XSD, business rules and the
    named scheme ``packs``) and map."""
    return default_gateway().inbound(
        payload, tenant=tenant, channel=channel, rules=RuleSelection(packs=packs)
    )
