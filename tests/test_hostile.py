"""Hostile input over HTTP (DESIGN.md §5): ``POST /v1/messages`` on the app over a real
store (SQLite and PostgreSQL) answers each hostile payload with a clear 4xx within
:data:`FAST` seconds, leaves no partial state and the worker stays up.

* a transport-level refusal (413, 415, ...) is an RFC 9457 problem and stores nothing;
* content the gateway parsed and rejected is a 422 with the report: exactly one rejected
  report and its idempotency record are stored (that is the record compliance reads),
  never an outbox row, a business message id or a per-day total;
* nothing is ever fetched (a trap listener counts connections) or read from disk (a
  secret file's content never shows up);
* a valid message right after is accepted (202).

The parsers' own hostile-input tests are in ``test_mx.py`` / ``test_mt.py``; the
payloads are reused from there. SWIFT FIN is in ``test_hostile_fin.py``; transport
behaviour that needs a real socket (slow body, declared lengths, malformed HTTP) in
``test_hostile_http.py``.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from gateway.pipeline import Gateway
from tests.api_fixtures import ApiEnv
from tests.conftest import FIXTURES
from tests.reliability_support import table_counts, unique_pacs008
from tests.test_mx import NS, XI, billion_laughs, doc, external_entity, quadratic_blowup

#: Seconds for any hostile payload, measured around the HTTP call. The machine is shared:
#: one slow answer may be noise, so a payload gets up to ATTEMPTS tries to answer in time
#: (state is checked on the first); a payload that is always slow fails.
FAST = 0.2
ATTEMPTS = 3
MIB = 1024 * 1024
PACS008 = unique_pacs008("HOSTILE-BASE").decode()  # a valid 3-transaction pacs.008
MINIMAL_FIXTURE = FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml"


def budget(size: int) -> float:
    """:data:`FAST`, plus 0.15 s per MiB beyond the first for bodies whose size alone takes
    time to transfer and scan (the 10 MB text node, the attribute floods)."""
    return FAST + 0.15 * max(0, size - MIB) / MIB


@pytest.fixture
def trap() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback listener that records every connection: nothing may ever reach it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    seen.append(connection.recv(4096) or b"<connected>")
                except OSError:
                    seen.append(b"<connected>")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.fixture
def secret(tmp_path: Path) -> tuple[str, bytes]:
    marker = f"TOP-SECRET-{uuid.uuid4().hex}".encode()
    path = tmp_path / "secret.txt"
    path.write_bytes(marker + b"\n")
    return path.as_uri(), marker


def post(
    api: ApiEnv, payload: bytes, content_type: str = "application/xml", **extra: str
) -> tuple[httpx2.Response, float]:
    headers = api.headers(key=str(uuid.uuid4()), **{"Content-Type": content_type, **extra})
    started = time.perf_counter()
    response = api.client.post("/v1/messages", content=payload, headers=headers)
    return response, time.perf_counter() - started


def accepted(api: ApiEnv) -> None:
    """The worker is up: a fresh valid message is accepted (and warms the worker thread)."""
    response, _ = post(api, unique_pacs008(f"ALIVE-{uuid.uuid4().hex[:12]}"))
    assert response.status_code == 202, response.text


def hostile(
    api: ApiEnv, payload: bytes, content_type: str = "application/xml", **extra: str
) -> tuple[httpx2.Response, dict[str, int]]:
    """Send ``payload`` between two valid messages; the answer and what it stored."""
    accepted(api)
    before = table_counts(api.store.engine)
    response, elapsed = post(api, payload, content_type, **extra)
    delta = {t: n - before[t] for t, n in table_counts(api.store.engine).items()}
    limit = budget(len(payload))
    times = [elapsed]
    while min(times) >= limit and len(times) < ATTEMPTS:
        times.append(post(api, payload, content_type, **extra)[1])
    assert min(times) < limit, f"answered in {times} s (budget {limit:.3f}s)"
    accepted(api)
    return response, delta


def rejected(response: httpx2.Response, stored: dict[str, int], code: str | None) -> dict[str, Any]:
    """A 422 with a complete rejected report, and nothing else stored."""
    assert response.status_code == 422, response.text[:500]
    body: dict[str, Any] = response.json()
    assert body["outcome"] == "rejected"
    assert body["event_ids"] == []
    if code is not None:
        assert body["findings"][0]["code"] == code, body["findings"][:3]
    assert len(response.content) < 600_000  # bounded, nothing expanded into it
    assert stored == {
        "reports": 1,
        "outbox": 0,
        "idempotency": 1,
        "business_messages": 0,
        "daily_totals": 0,
    }
    return body


def refused(response: httpx2.Response, stored: dict[str, int], status: int, slug: str) -> None:
    """A problem document and nothing stored."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"/problems/{slug}"
    assert set(stored.values()) == {0}, stored


# --------------------------------------------------------------------------- XML content


def _text_node(size: int) -> bytes:
    """A MsgId of ``size`` characters: libxml2 (huge_tree off) parses up to 10,000,000."""
    return doc(
        f"<FIToFICstmrCdtTrf><GrpHdr><MsgId>{'A' * size}</MsgId></GrpHdr></FIToFICstmrCdtTrf>"
    ).encode()


def _utf16_bomb() -> bytes:
    return billion_laughs().encode("utf-16-le")  # no BOM: the prolog scan transcodes


XML_REJECTED: dict[str, tuple[Callable[[str, str], bytes], str | None]] = {
    "billion laughs": (lambda _t, _s: billion_laughs().encode(), "xml.doctype_forbidden"),
    "billion laughs, BOM-less UTF-16": (lambda _t, _s: _utf16_bomb(), "xml.doctype_forbidden"),
    "quadratic blow-up": (lambda _t, _s: quadratic_blowup().encode(), "xml.doctype_forbidden"),
    "external entity, file": (lambda _t, s: external_entity(s).encode(), "xml.doctype_forbidden"),
    "external entity, /etc/passwd": (
        lambda _t, _s: external_entity("file:///etc/passwd").encode(),
        "xml.doctype_forbidden",
    ),
    "external entity, http": (
        lambda t, _s: external_entity(f"{t}/xxe").encode(),
        "xml.doctype_forbidden",
    ),
    "parameter entity, http": (
        lambda t, _s: f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{t}/p.dtd"> %p;]>{doc()}'.encode(),
        "xml.doctype_forbidden",
    ),
    "external DTD": (
        lambda t, _s: f'<!DOCTYPE Document SYSTEM "{t}/evil.dtd">{doc()}'.encode(),
        "xml.doctype_forbidden",
    ),
    "any DOCTYPE": (lambda _t, _s: f"<!DOCTYPE Document>{doc()}".encode(), "xml.doctype_forbidden"),
    "XInclude, file": (
        lambda _t, s: doc(f'<xi:include xmlns:xi="{XI}" href="{s}" parse="text"/>').encode(),
        "schema.element_content",
    ),
    "XInclude, http": (
        lambda t, _s: doc(f'<xi:include xmlns:xi="{XI}" href="{t}/x.xml"/>').encode(),
        "schema.element_content",
    ),
    "10,000-deep nesting": (lambda _t, _s: b"<a>" * 10_000 + b"</a>" * 10_000, "xml.too_deep"),
    "10,000-deep nesting in a Document": (
        lambda _t, _s: doc("<x>" * 10_000 + "</x>" * 10_000).encode(),
        "xml.too_deep",
    ),
    "30,000 unclosed tags": (lambda _t, _s: b"<a>" * 30_000, "xml.too_deep"),
    "10 MB text node": (lambda _t, _s: _text_node(10_000_000), "schema.length"),
    "text node over libxml2's 10 MB cap": (lambda _t, _s: _text_node(10_000_001), "xml.malformed"),
    "100,000 attributes on a wrapper": (
        lambda _t, _s: ("<W " + " ".join(f'a{i}="{i}"' for i in range(100_000)) + "/>").encode(),
        "detect.no_document",
    ),
    "20,000 attributes on the Document": (
        lambda _t, _s: (
            f'<Document xmlns="{NS}" ' + " ".join(f'a{i}="{i}"' for i in range(20_000)) + "/>"
        ).encode(),
        None,  # one XSD finding per attribute, capped (schema.too_many_errors)
    ),
    "5 MB BIC": (
        lambda _t, _s: PACS008.replace("INGBNL2AXXX", "X" * 5_000_000, 1).encode(),
        "schema.pattern",
    ),
    "invalid UTF-8": (
        lambda _t, _s: PACS008.encode().replace(b"<MsgId>", b"<MsgId>\xff\xfe"),
        "xml.malformed",
    ),
    "NUL bytes": (
        lambda _t, _s: PACS008.replace("<MsgId>", "<MsgId>\x00\x00").encode(),
        "xml.malformed",
    ),
    "gzip bytes declared as XML": (
        lambda _t, _s: gzip.compress(b"<a>" + b"A" * 10_000_000 + b"</a>"),
        "xml.malformed",
    ),
    "PI before the XML declaration": (
        lambda _t, _s: b"<?pi x?>" + PACS008.encode(),
        "xml.malformed",
    ),
    "CDATA smuggling markup": (
        lambda _t, _s: PACS008.replace("<MsgId>", "<![CDATA[<MsgId>X</MsgId>]]><MsgId>").encode(),
        None,  # text where only elements may be: an XSD finding
    ),
    "CDATA hiding a DOCTYPE": (
        lambda _t, _s: PACS008.replace(
            "<MsgId>",
            "<MsgId><![CDATA[<!DOCTYPE d [<!ENTITY a SYSTEM 'file:///etc/passwd'>]>&a;]]>",
        ).encode(),
        None,  # a 100-character MsgId: Max35Text
    ),
    "unterminated CDATA": (
        lambda _t, _s: PACS008.replace("<MsgId>", "<MsgId><![CDATA[").encode(),
        "xml.malformed",
    ),
    "CDATA outside the root": (
        lambda _t, _s: b"<![CDATA[x]]>" + PACS008.encode(),
        "xml.malformed",
    ),
}


@pytest.mark.parametrize("name", list(XML_REJECTED))
def test_hostile_xml_is_a_fast_422_with_nothing_fetched_or_leaked(
    api: ApiEnv, name: str, trap: tuple[str, list[bytes]], secret: tuple[str, bytes]
) -> None:
    make, code = XML_REJECTED[name]
    url, connections = trap
    uri, marker = secret
    response, stored = hostile(api, make(url, uri))
    body = rejected(response, stored, code)
    assert connections == [], "the gateway fetched a URL named by the payload"
    assert marker not in response.content
    if name == "5 MB BIC":  # the report names the problem, it does not copy the value
        assert len(response.content) < 20_000
    if code is None:
        assert body["findings"][0]["code"].startswith("schema."), body["findings"][:3]


def test_remote_schema_location_is_never_fetched_nor_trusted(
    api: ApiEnv, trap: tuple[str, list[bytes]]
) -> None:
    """``xsi:schemaLocation`` is a hint the gateway ignores: a valid message stays valid
    (judged by the installed XSD), an invalid one stays invalid, nothing is fetched."""
    url, connections = trap
    hint = (
        f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{NS} {url}/evil.xsd"'
    )
    valid = unique_pacs008(f"HINT-{uuid.uuid4().hex[:10]}").decode()
    valid = valid.replace(f'xmlns="{NS}"', f'xmlns="{NS}"{hint}', 1)
    response, _ = post(api, valid.encode())
    assert response.status_code == 202, response.text
    report = api.client.get(response.headers["Location"], headers=api.headers()).json()
    [schema] = [use for use in report["judged_by"] if use["kind"] == "schema"]
    assert schema["id"] == "pacs.008.001.08" and url not in schema["origin"]
    invalid = valid.replace("<ChrgBr>SHAR</ChrgBr>", "<ChrgBr>EVIL</ChrgBr>")
    response, stored = hostile(api, invalid.encode())
    rejected(response, stored, "schema.enumeration")
    assert connections == []


def test_processing_instructions_stay_inert(api: ApiEnv, secret: tuple[str, bytes]) -> None:
    """A PI in a valid message is not an attack: it is reported and never executed."""
    uri, marker = secret
    payload = (
        unique_pacs008(f"PI-{uuid.uuid4().hex[:10]}")
        .decode()
        .replace("<GrpHdr>", f'<?xml-stylesheet href="{uri}"?><?php system("id"); ?><GrpHdr>', 1)
    )
    response, _ = post(api, payload.encode())
    assert response.status_code == 202, response.text
    assert [w["code"] for w in response.json()["warnings"]][:2] == [
        "xml.processing_instruction"
    ] * 2
    assert marker not in response.content


# --------------------------------------------------------------------------- transport refusals


@pytest.mark.parametrize(
    "api", [{"EMEA": {"max_body_bytes: 10485760": "max_body_bytes: 100000"}}], indirect=True
)
def test_body_over_the_limit_is_413_declared_or_streamed(api: ApiEnv) -> None:
    big = PACS008.encode() + b" " * 200_000
    response, stored = hostile(api, big)
    refused(response, stored, 413, "payload-too-large")
    assert response.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        yield PACS008.encode()
        for _ in range(100):
            yield b" " * 4096

    before = table_counts(api.store.engine)
    streamed = api.client.post(
        "/v1/messages", content=chunks(), headers=api.headers(key=str(uuid.uuid4()))
    )
    assert streamed.status_code == 413
    assert table_counts(api.store.engine) == before
    accepted(api)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, identity", "x-gzip"])
def test_compressed_body_is_refused_never_inflated(api: ApiEnv, coding: str) -> None:
    """A 48 KB gzip body inflating to 50 MB: 415 before the body is read, never inflated."""
    bomb = gzip.compress(b"<a>" + b"A" * 50_000_000 + b"</a>")
    if coding == "deflate":
        bomb = zlib.compress(b"<a>" + b"A" * 50_000_000 + b"</a>")
    response, stored = hostile(api, bomb, **{"Content-Encoding": coding})
    refused(response, stored, 415, "unsupported-media-type")
    assert response.headers["accept-encoding"] == "identity"


def test_identity_content_encoding_is_accepted(api: ApiEnv) -> None:
    response, _ = post(
        api, unique_pacs008(f"ID-{uuid.uuid4().hex[:10]}"), **{"Content-Encoding": "identity"}
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/html",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "",
        "text/plain; charset=utf-16",
        "text/xml-external-parsed-entity",
    ],
)
def test_wrong_content_type_is_415(api: ApiEnv, content_type: str) -> None:
    response, stored = hostile(api, PACS008.encode(), content_type)
    refused(response, stored, 415, "unsupported-media-type")


# ---------------------------------------------------------------- many same-named siblings


def test_schema_findings_among_many_siblings_cost_time_linear_in_size(gateway: Gateway) -> None:
    """5,000 transactions each with one XSD error (2.8 MB): the schema step should cost
    what the size costs, not 500 x 5,000 sibling visits."""
    source = MINIMAL_FIXTURE.read_text()
    start, end = source.index("<CdtTrfTxInf>"), source.index("</CdtTrfTxInf>") + 14
    bad = source[start:end].replace("<CdtTrfTxInf>", "<CdtTrfTxInf><Bogus/>")
    payload = (source[:start] + bad * 5_000 + source[end:]).encode()
    gateway.inbound(MINIMAL_FIXTURE.read_bytes())  # the schema is compiled
    report = gateway.inbound(payload).report
    assert report.outcome.value == "rejected"
    assert report.timings_ms["schema"] / 1000 < budget(len(payload)), report.timings_ms
