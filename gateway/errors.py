"""Exceptions: what the gateway raises when it *cannot continue*.

Content problems in a message are never exceptions: they are
:class:`gateway.report.Finding` objects collected in one pass. Exceptions are
reserved for conditions where no report can be produced, or where the
gateway itself is misconfigured.

The tree::

    GatewayError                      root; ``retriable`` drives retry vs dead-letter
    ├── ConfigError                   a setting or data file is wrong (names key and value)
    ├── SchemaError                   schema installation or compilation problem
    │   ├── SchemaIntegrityError      a manifest-listed file is missing or its sha256 differs
    │   └── SchemaCompileError        an XSD does not compile
    ├── MappingError                  a mapping file is invalid (closed vocabulary violated)
    └── InputError                    the caller's input cannot be read at all (e.g. no such file)

Foreign exceptions (lxml, yaml, OSError) are converted at the module that
talks to the foreign library: ``raise SchemaCompileError(...) from exc``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GatewayError",
    "InputError",
    "MappingError",
    "SchemaCompileError",
    "SchemaError",
    "SchemaIntegrityError",
]


class GatewayError(Exception):
    """Root of every exception the gateway raises on purpose."""

    retriable: bool = False

    def __init__(self, message: str, *, retriable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retriable is not None:
            self.retriable = retriable


class ConfigError(GatewayError):
    """A configuration value or data file is invalid; the message names key and value."""


class SchemaError(GatewayError):
    """Schema set-up problem."""


class SchemaIntegrityError(SchemaError):
    """A schema file listed in a manifest is missing, or its sha256 does not match."""


class SchemaCompileError(SchemaError):
    """An XSD file could not be compiled."""


class MappingError(GatewayError):
    """A mapping file is invalid (unknown key, impossible path, bad type)."""


class InputError(GatewayError):
    """Input cannot be read at all (missing file, unreadable stream)."""
