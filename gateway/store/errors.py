"""Errors of the store (:mod:`gateway.store`)."""

from __future__ import annotations

from gateway.errors import GatewayError

__all__ = ["StoreUnavailable"]


class StoreUnavailable(GatewayError):
    """The database cannot be reached or refused the write (retriable)."""

    retriable = True
