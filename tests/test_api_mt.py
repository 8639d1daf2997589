"""SWIFT FIN (MT) over ``POST /v1/messages`` (real store on SQLite and PostgreSQL,
in-memory publisher): content types, 202/422/403/413/415, the canonical event through
the outbox, idempotency, duplicates, batches and hostile input."""

from __future__ import annotations

import uuid

import pytest

from tests.api_fixtures import ApiEnv
from tests.conftest import FIXTURES
from tests.test_api import counts, wait_published

MT = FIXTURES / "mt"
FIN_103 = (MT / "pipeline/fin.103.txt").read_bytes().replace(b"\n", b"\r\n")
FREE_FORMAT = (MT / "messages/fin.199.valid.pass.txt").read_bytes()  # not allowed for EMEA
BATCH = (MT / "pipeline/rje_batch.txt").read_bytes()


def key() -> str:
    return str(uuid.uuid4())


def submit(
    api: ApiEnv, payload: bytes, content_type: str = "text/plain", idem: str | None = None
) -> dict[str, object]:
    response = api.client.post(
        "/v1/messages",
        content=payload,
        headers=api.headers(key=idem or key(), **{"Content-Type": content_type}),
    )
    return {"status": response.status_code, "body": response.json(), "headers": response.headers}


def reference(n: int) -> bytes:
    """FIN_103 with its own field 20 (business message id)."""
    return FIN_103.replace(b":20:PIPE-103-0001", b":20:API-%d" % n)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        'text/plain;charset="UTF-8"',
        "text/plain; charset=us-ascii",
        "application/x-swift-fin",
    ],
)
def test_accepted_fin_is_stored_and_its_event_published(api: ApiEnv, content_type: str) -> None:
    response = api.client.post(
        "/v1/messages",
        content=FIN_103,
        headers=api.headers(key=key(), **{"Content-Type": content_type}),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["message_id"] == "fin.103"
    assert body["outcome"] == "accepted_with_warnings"  # the value date is long past
    assert [w["code"] for w in body["warnings"]] == ["business.date_too_far_in_past"]
    assert body["warnings"][0]["location"]["mt_tag"] == ":32A:"
    assert len(body["event_ids"]) == 1
    assert body["correlation_id"] == response.headers["X-Correlation-ID"]
    stored = api.client.get(response.headers["Location"], headers=api.headers())
    assert stored.status_code == 200
    report = stored.json()
    assert (report["message_id"], report["envelope"]) == ("fin.103", "FIN")
    assert report["business_message_id"] == "PIPE-103-0001"
    assert report["tenant"] == "EMEA"
    assert report["event_ids"] == body["event_ids"]
    assert {u["kind"] for u in report["judged_by"]} >= {"mt_definitions", "mapping", "rule_pack"}
    assert counts(api) == (1, 1, 1)  # a report, one outbox row, one idempotency record
    wait_published(api, 1)
    [record] = api.publisher.records
    assert record.topic == "emea.payments.initiation.v1"
    assert record.header("ce_id") == body["event_ids"][0].encode()
    assert record.header("ce_reportid") == body["report_id"].encode()
    assert record.header("ce_sourcemessageid") == b"PIPE-103-0001"
    assert record.key == b"6f0c1d2e-8a3b-4c5d-9e7f-0a1b2c3d4e5f"  # the UETR of block 3


def test_rejected_fin_is_422_with_findings_located_by_mt_tag(api: ApiEnv) -> None:
    broken = FIN_103.replace(b"12 RUE DE LA PAIX", b"12 RUE DE LA PAIX & CO")
    sent = submit(api, broken)
    assert sent["status"] == 422
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["outcome"] == "rejected"
    assert body["message_id"] == "fin.103"
    [hit] = [f for f in body["findings"] if f["code"] == "mt.text_charset"]
    line = broken[: broken.index(b"12 RUE")].count(b"\n") + 1
    assert hit["location"] == {"line": line, "column": 19, "xpath": None, "mt_tag": ":59:"}
    assert hit["iso_reason"] == "FF01"
    assert counts(api)[:2] == (1, 0)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=iso-8859-1",
        'text/plain; charset="latin1"',
        "application/octet-stream",
        "text/html",
        "",
    ],
)
def test_other_content_types_are_415_without_state(api: ApiEnv, content_type: str) -> None:
    sent = submit(api, FIN_103, content_type)
    assert sent["status"] == 415
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["type"] == "/problems/unsupported-media-type"
    assert counts(api) == (0, 0, 0)


def test_fin_over_the_mt_cap_is_413_without_state(api: ApiEnv) -> None:
    cap = api.client.app.state.services.settings.max_mt_bytes  # type: ignore[attr-defined]
    big = FIN_103 + b"A" * cap
    sent = submit(api, big)
    assert sent["status"] == 413
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["type"] == "/problems/payload-too-large"
    assert counts(api) == (0, 0, 0)
    # sent as XML, the payload is still FIN: the pipeline's cap reports it
    as_xml = submit(api, big, "application/xml")
    assert as_xml["status"] == 422
    body = as_xml["body"]
    assert isinstance(body, dict)
    assert [f["code"] for f in body["findings"]] == ["mt.too_large"]


def test_fin_type_the_tenant_does_not_allow_is_403_and_keeps_the_key(api: ApiEnv) -> None:
    idem = key()
    sent = submit(api, FREE_FORMAT, idem=idem)
    assert sent["status"] == 403
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["type"] == "/problems/message-not-allowed"
    assert "fin.199" in str(body["detail"])
    assert counts(api) == (0, 0, 0)
    assert submit(api, FIN_103, idem=idem)["status"] == 202


def test_same_key_same_fin_replays_the_original_response(api: ApiEnv) -> None:
    idem = key()
    first = api.client.post(
        "/v1/messages",
        content=FIN_103,
        headers=api.headers(key=idem, **{"Content-Type": "text/plain"}),
    )
    again = api.client.post(
        "/v1/messages",
        content=FIN_103,
        headers=api.headers(key=idem, **{"Content-Type": "text/plain"}),
    )
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(api) == (1, 1, 1)  # one report, one event, one record: nothing twice
    other = submit(api, reference(1), idem=idem)
    assert other["status"] == 422
    body = other["body"]
    assert isinstance(body, dict)
    assert body["type"] == "/problems/idempotency-key-reused"


def test_field_20_already_accepted_is_a_duplicate_under_a_new_key(api: ApiEnv) -> None:
    first = submit(api, FIN_103)
    assert first["status"] == 202
    second = submit(api, FIN_103)
    assert second["status"] == 422
    body = second["body"]
    assert isinstance(body, dict)
    [hit] = [f for f in body["findings"] if f["code"] == "business.duplicate_message"]
    assert hit["location"]["mt_tag"] == ":20:"
    assert hit["location"]["xpath"] is None
    assert hit["location"]["line"] == 2
    assert hit["iso_reason"] == "AM05"
    first_body = first["body"]
    assert isinstance(first_body, dict)
    assert hit["context"]["report_id"] == first_body["report_id"]
    assert submit(api, reference(2))["status"] == 202  # another reference is fine


def test_a_rejected_fin_does_not_reserve_its_field_20(api: ApiEnv) -> None:
    broken = FIN_103.replace(b"ATELIERS", b"ATELIERS &")
    assert submit(api, broken)["status"] == 422
    assert submit(api, FIN_103)["status"] == 202


def test_an_rje_batch_is_422_one_message_per_request(api: ApiEnv) -> None:
    sent = submit(api, BATCH)
    assert sent["status"] == 422
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["envelope"] == "RJE"
    assert [f["code"] for f in body["findings"]] == ["mt.batch"]
    assert body["findings"][0]["context"]["messages"] == 3


def test_the_openapi_document_lists_the_fin_content_types(api: ApiEnv) -> None:
    spec = api.client.get("/openapi.json").json()
    content = spec["paths"]["/v1/messages"]["post"]["requestBody"]["content"]
    assert {"application/xml", "text/plain", "application/x-swift-fin"} <= set(content)


HOSTILE = {
    "NUL bytes": FIN_103.replace(b"PIPE-103", b"PIPE\x00\x00103"),
    "invalid UTF-8": FIN_103.replace(b"ATELIERS", b"AT\xff\xfeLIERS"),
    "broken blocks": b"{1:" * 5_000,  # 15,000 bytes: under the default cap, parsed
    "outside the X set": FIN_103.replace(b"ATELIERS", "ÄTELIERS <&>".encode()),
    "bare CR": FIN_103.replace(b"12 RUE", b"12\rRUE"),
    "CRLF injection": FIN_103.replace(b":71A:SHA", b":70:X\r\n-}{5:{CHK:0}}{4:\r\n:20:EVIL"),
    "text over 10,000": FIN_103.replace(
        b":71A:SHA", b":70:" + b"ABCDEFGHIJ\r\n" * 1_000 + b":71A:SHA"
    ),
    "empty": b"",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_fin_is_a_clear_422_and_the_worker_stays_up(api: ApiEnv, name: str) -> None:
    sent = submit(api, HOSTILE[name])
    assert sent["status"] == 422, sent
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["outcome"] == "rejected"
    assert body["findings"]
    assert counts(api)[1] == 0  # never an outbox row
    assert submit(api, reference(3))["status"] == 202
