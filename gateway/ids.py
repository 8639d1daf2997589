"""UUID strings built directly (the ``uuid`` module's objects cost more than the ids).

Both give exactly ``str(uuid.uuid4())`` and ``str(uuid.uuid5(namespace, name))``.
"""

from __future__ import annotations

import os
import uuid
from hashlib import sha1

__all__ = ["uuid4_text", "uuid5_text"]


def _text(raw: bytearray, version: int) -> str:
    raw[6] = (raw[6] & 0x0F) | (version << 4)
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = raw.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def uuid4_text() -> str:
    """A random UUID (version 4), as ``str(uuid.uuid4())``."""
    return _text(bytearray(os.urandom(16)), 4)


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """The name-based UUID (version 5), as ``str(uuid.uuid5(namespace, name))``."""
    return _text(bytearray(sha1(namespace.bytes + name.encode()).digest()[:16]), 5)
