"""SWIFT FIN (MT) message types: field formats, message definitions, network rules.

:mod:`gateway.mt` parses a FIN message as transmitted (blocks, ordered tag items);
this package judges its text block against the SWIFT Standards MT definitions:

* :mod:`gateway.fin.fields` - the format of every field option of the supported
  message types (SWIFT field notation, e.g. ``6!n3!a15d``), typed parsing of the
  fields a mapping reads (``32A`` -> date, currency, amount), T-codes;
* :mod:`gateway.fin.messages` - per message type: which fields and sequences, in
  which order, mandatory or optional, how often; and the network validated rules
  (C/D/E-codes) of MT103, MT103 STP, MT202 and MT202 COV;
* :mod:`gateway.fin.values` - the typed values a message carries (BICs, IBANs,
  currencies, amounts, UETR) for the business rule pack.

:func:`validate_fin` runs all of it on one user message and returns every finding.
"""

from __future__ import annotations

from gateway.fin.fields import check_fields
from gateway.fin.messages import check_message
from gateway.mt import MtMessage
from gateway.report import Finding

__all__ = ["STANDARDS_RELEASE", "validate_fin"]

#: The SWIFT Standards MT release these definitions implement (reports' ``judged_by``).
STANDARDS_RELEASE = "SR2025"


def validate_fin(message: MtMessage) -> list[Finding]:
    """Field formats, message structure and network rules of one user message."""
    return [*check_fields(message), *check_message(message)]
