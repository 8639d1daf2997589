"""MessageId: the one canonical name of a message type and version.

ISO 20022 (MX) ids follow the Document namespace's last segment,
``<business area>.<message>.<variant>.<version>`` (``pacs.008.001.08``).
SWIFT FIN (MT) ids are ``fin.<type>`` with an optional validation flag
(``fin.103``, ``fin.103.STP``, ``fin.202.COV``). The same string names the
XSD, the mapping file and fixture folders, and labels logs and metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["ISO_NAMESPACE_PREFIX", "MessageId"]

ISO_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"

# \Z, not $: "$" also matches before a trailing newline.
_MX_RE = re.compile(
    r"^(?P<area>[a-z]{4})\.(?P<msg>\d{3})\.(?P<variant>\d{3})\.(?P<version>\d{2})\Z"
)
_MT_RE = re.compile(r"^fin\.(?P<type>\d{3})(?:\.(?P<flag>[A-Z]{3,5}))?\Z")


@dataclass(frozen=True, slots=True, order=True)
class MessageId:
    """A parsed, validated message identifier. ``str(mid)`` is the canonical form."""

    value: str

    def __post_init__(self) -> None:
        if not (_MX_RE.match(self.value) or _MT_RE.match(self.value)):
            raise ValueError(f"not a message id: {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> MessageId:
        return cls(text.strip())

    @classmethod
    def from_namespace(cls, namespace: str) -> MessageId | None:
        """``urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08`` -> ``pacs.008.001.08``.

        Returns ``None`` for namespaces that do not carry an ISO 20022 message id.
        """
        if not namespace.startswith(ISO_NAMESPACE_PREFIX):
            return None
        tail = namespace[len(ISO_NAMESPACE_PREFIX) :]
        return cls(tail) if _MX_RE.match(tail) else None

    @property
    def family(self) -> Literal["mx", "mt"]:
        return "mt" if self.value.startswith("fin.") else "mx"

    @property
    def namespace(self) -> str | None:
        return ISO_NAMESPACE_PREFIX + self.value if self.family == "mx" else None

    @property
    def business_area(self) -> str:
        """``pacs``, ``pain``, ``camt``, ``head`` ... or ``fin`` for MT."""
        return self.value.split(".", 1)[0]

    @property
    def base(self) -> str:
        """The id without its version: ``pacs.008.001``."""
        return self.value.rsplit(".", 1)[0] if self.family == "mx" else self.value

    def __str__(self) -> str:
        return self.value
