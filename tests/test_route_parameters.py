"""``POST /v1/messages`` reads its two parameters itself: the same refusals as a declared
FastAPI ``Header``/``Query`` parameter (tests/test_api.py covers them over HTTP)."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request

from gateway.api.routes_messages import _parameters


def _request(key: bytes | None, query: bytes = b"") -> Request:
    headers = [(b"idempotency-key", key)] if key is not None else []
    return Request({"type": "http", "method": "POST", "path": "/v1/messages",
                    "headers": headers, "query_string": query})  # fmt: skip


def test_valid_key_and_status_message() -> None:
    assert _parameters(_request(b"k-1.2:3~_")) == ("k-1.2:3~_", None)
    assert _parameters(_request(b"k", b"status_message=pain.002.001.10")) == (
        "k",
        "pain.002.001.10",
    )


@pytest.mark.parametrize(
    ("key", "query", "locations"),
    [
        (None, b"", [("header", "Idempotency-Key")]),
        (b"", b"", [("header", "Idempotency-Key")]),
        (b"a" * 256, b"", [("header", "Idempotency-Key")]),
        (b"abc\n", b"", [("header", "Idempotency-Key")]),  # no end-of-line leniency
        (b"a b", b"", [("header", "Idempotency-Key")]),
        (b"k", b"status_message=pacs.008.001.08", [("query", "status_message")]),
        (b"k", b"status_message=", [("query", "status_message")]),
        (None, b"status_message=x", [("header", "Idempotency-Key"), ("query", "status_message")]),
    ],
)
def test_refusals_name_every_invalid_parameter(
    key: bytes | None, query: bytes, locations: list[tuple[str, str]]
) -> None:
    with pytest.raises(RequestValidationError) as refused:
        _parameters(_request(key, query))
    assert [tuple(error["loc"]) for error in refused.value.errors()] == locations
