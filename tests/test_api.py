"""The HTTP API in process (real store on SQLite and PostgreSQL, in-memory publisher).

End-to-end tests over real HTTP with the real broker are in tests/test_e2e.py.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gateway.store.tables import idempotency, outbox, reports
from tests.api_fixtures import ApiEnv
from tests.conftest import FIXTURES

VALID = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_bytes()
MINIMAL = (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes()
INVALID = (FIXTURES / "mx/pacs.008.001.08/invalid/bad_enum_chrgbr.xml").read_bytes()
PAIN = (FIXTURES / "mx/pain.001.001.09/valid/single_pmtinf_2tx.xml").read_bytes()


def counts(env: ApiEnv) -> tuple[int, int, int]:
    with env.store.engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(reports)).scalar_one(),
            connection.execute(select(func.count()).select_from(outbox)).scalar_one(),
            connection.execute(select(func.count()).select_from(idempotency)).scalar_one(),
        )


def key() -> str:
    return str(uuid.uuid4())


def wait_published(env: ApiEnv, n: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(env.publisher.records) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(env.publisher.records) >= n


def test_accepted_message_is_stored_and_published(api: ApiEnv) -> None:
    response = api.client.post(
        "/v1/messages",
        content=VALID,
        headers=api.headers(key=key(), **{"X-Correlation-ID": "corr-1"}),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["message_id"] == "pacs.008.001.08"
    assert body["outcome"] in {"accepted", "accepted_with_warnings"}
    assert len(body["event_ids"]) == 3
    assert body["correlation_id"] == "corr-1"
    assert response.headers["X-Correlation-ID"] == "corr-1"
    assert response.headers["Location"] == f"/v1/reports/{body['report_id']}"
    report = api.client.get(response.headers["Location"], headers=api.headers())
    assert report.status_code == 200
    assert report.json()["event_ids"] == body["event_ids"]
    assert report.json()["tenant"] == "EMEA"
    wait_published(api, 3)
    records = api.publisher.records
    assert {r.topic for r in records} == {"emea.payments.initiation.v1"}
    assert [r.header("ce_id").decode() for r in records] == body["event_ids"]  # type: ignore[union-attr]
    assert {r.header("ce_reportid") for r in records} == {body["report_id"].encode()}
    assert {r.header("ce_tenantid") for r in records} == {b"EMEA"}


def test_rejected_message_answers_422_with_the_report_and_no_events(api: ApiEnv) -> None:
    response = api.client.post("/v1/messages", content=INVALID, headers=api.headers(key=key()))
    assert response.status_code == 422
    body = response.json()
    assert body["outcome"] == "rejected"
    assert body["findings"][0]["code"] == "schema.enumeration"
    assert body["correlation_id"] == response.headers["X-Correlation-ID"]
    assert counts(api)[:2] == (1, 0)
    stored = api.client.get(f"/v1/reports/{body['report_id']}", headers=api.headers())
    assert stored.json()["outcome"] == "rejected"


@pytest.mark.parametrize(
    ("headers", "status", "slug"),
    [
        ({"Authorization": "Bearer nope", "Content-Type": "application/xml"}, 401, "unauthorized"),
        ({"Content-Type": "application/xml"}, 401, "unauthorized"),
        ({"Content-Type": "application/json"}, 415, "unsupported-media-type"),
        ({"Content-Type": "text/plain; charset=iso-8859-1"}, 415, "unsupported-media-type"),
        (
            {"Content-Type": "application/xml", "Idempotency-Key": ""},
            400,
            "idempotency-key-required",
        ),
        (
            {"Content-Type": "application/xml", "Idempotency-Key": "bad key!"},
            400,
            "idempotency-key-required",
        ),
    ],
)
def test_refusals_are_problems_and_leave_no_state(
    api: ApiEnv, headers: dict[str, str], status: int, slug: str
) -> None:
    sent = dict(headers)
    if status != 401:
        sent["Authorization"] = f"Bearer {api.keys['EMEA']}"
    if "Idempotency-Key" not in sent:
        sent["Idempotency-Key"] = key() if status != 400 else ""
    if status == 400 and sent["Idempotency-Key"] == "":
        del sent["Idempotency-Key"]
    response = api.client.post("/v1/messages", content=VALID, headers=sent)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{slug}"
    assert problem["status"] == status
    assert problem["correlation_id"] == response.headers["X-Correlation-ID"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert counts(api) == (0, 0, 0)


@pytest.mark.parametrize(
    "api", [{"EMEA": {"max_body_bytes: 10485760": "max_body_bytes: 1000"}}], indirect=True
)
def test_body_over_the_tenant_limit_is_413_without_state(api: ApiEnv) -> None:
    idem = key()
    response = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert counts(api) == (0, 0, 0)


@pytest.mark.parametrize("api", [{"EMEA": {"  - pacs.008.001.08\n": ""}}], indirect=True)
def test_message_type_not_allowed_is_403_without_state(api: ApiEnv) -> None:
    idem = key()
    response = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/message-not-allowed"
    assert counts(api) == (0, 0, 0)
    allowed = api.client.post("/v1/messages", content=PAIN, headers=api.headers(key=idem))
    assert allowed.status_code == 202  # the key was not consumed by the refusal


def test_idempotent_replay_and_key_reuse(api: ApiEnv) -> None:
    idem = key()
    first = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    again = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(api)[0] == 1
    other = api.client.post("/v1/messages", content=MINIMAL, headers=api.headers(key=idem))
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert counts(api)[0] == 1


def _unfinished_record(api: ApiEnv, idem: str, age: timedelta) -> None:
    """An unfinished ``processing`` record, as earlier releases left while processing."""
    import hashlib

    stamp = datetime.now(UTC) - age
    with api.store.engine.begin() as connection:
        connection.execute(
            idempotency.insert().values(
                tenant="EMEA", key=idem, payload_sha256=hashlib.sha256(VALID).hexdigest(),
                state="processing", created_at=stamp, updated_at=stamp,
            )
        )  # fmt: skip


def test_a_key_still_being_processed_is_409(api: ApiEnv) -> None:
    idem = key()
    _unfinished_record(api, idem, timedelta(seconds=1))
    response = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/request-in-progress"
    assert counts(api)[0] == 0


def test_a_stale_unfinished_key_is_taken_over(api: ApiEnv) -> None:
    from gateway.store.store import STALE_CLAIM

    idem = key()
    _unfinished_record(api, idem, STALE_CLAIM + timedelta(seconds=5))
    response = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    assert response.status_code == 202
    again = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == response.content


def test_the_same_key_in_flight_in_this_process_is_409(api: ApiEnv) -> None:
    from gateway.api.deps import Services

    services: Services = api.client.app.state.services  # type: ignore[attr-defined]
    inbound = services.inbound
    tenant = services.tenants.get("EMEA")
    assert tenant is not None
    idem = key()
    inbound._inflight.add(("EMEA", idem))  # another request thread is on it
    try:
        busy = inbound.submit(tenant, idem, VALID, correlation_id="c")
    finally:
        inbound._inflight.discard(("EMEA", idem))
    assert busy.status == 409 and busy.problem is not None
    assert busy.problem[0] == "request-in-progress"
    assert inbound.submit(tenant, idem, VALID, correlation_id="c").status == 202


def test_same_business_message_id_under_a_new_key_is_a_duplicate(api: ApiEnv) -> None:
    first = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=key()))
    assert first.status_code == 202
    second = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=key()))
    assert second.status_code == 422
    [dup] = [f for f in second.json()["findings"] if f["code"] == "business.duplicate_message"]
    assert dup["iso_reason"] == "AM05"
    assert dup["context"]["report_id"] == first.json()["report_id"]
    # another tenant may use the same business message id
    other = api.client.post("/v1/messages", content=VALID, headers=api.headers("NA", key=key()))
    assert other.status_code == 202


def test_tenants_cannot_see_each_other(api: ApiEnv) -> None:
    idem = key()
    emea = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=idem)).json()
    missing = api.client.get(f"/v1/reports/{uuid.uuid4()}", headers=api.headers("NA"))
    foreign = api.client.get(f"/v1/reports/{emea['report_id']}", headers=api.headers("NA"))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["title"] == missing.json()["title"]
    assert api.client.get("/v1/reports", headers=api.headers("NA")).json()["items"] == []
    listed = api.client.get("/v1/reports", headers=api.headers()).json()["items"]
    assert [r["report_id"] for r in listed] == [emea["report_id"]]
    # the same idempotency key from another tenant is a new request, not a replay
    na = api.client.post("/v1/messages", content=VALID, headers=api.headers("NA", key=idem))
    assert na.status_code == 202
    assert "Idempotent-Replayed" not in na.headers
    assert na.json()["report_id"] != emea["report_id"]


def test_report_listing_filters_and_pages(api: ApiEnv) -> None:
    ids = []
    for payload in (VALID, INVALID, PAIN):
        ids.append(
            api.client.post("/v1/messages", content=payload, headers=api.headers(key=key())).json()[
                "report_id"
            ]
        )
    page = api.client.get("/v1/reports", params={"limit": 2}, headers=api.headers()).json()
    assert [r["report_id"] for r in page["items"]] == ids[::-1][:2]
    rest = api.client.get(
        "/v1/reports", params={"limit": 2, "cursor": page["next_cursor"]}, headers=api.headers()
    ).json()
    assert [r["report_id"] for r in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    rejected = api.client.get(
        "/v1/reports", params={"outcome": "rejected"}, headers=api.headers()
    ).json()
    assert [r["report_id"] for r in rejected["items"]] == [ids[1]]
    pain = api.client.get(
        "/v1/reports", params={"message_id": "pain.001.001.09"}, headers=api.headers()
    ).json()
    assert [r["report_id"] for r in pain["items"]] == [ids[2]]
    future = api.client.get(
        "/v1/reports", params={"from": "2999-01-01T00:00:00Z"}, headers=api.headers()
    ).json()
    assert future["items"] == []
    bad = api.client.get(
        "/v1/reports", params={"from": "2026-01-01T00:00:00"}, headers=api.headers()
    )
    assert bad.status_code == 400
    for params in ({"cursor": "zzz"}, {"cursor": ""}, {"from": "1700000000"}, {"to": "0"}):
        refused = api.client.get("/v1/reports", params=params, headers=api.headers())
        assert refused.status_code == 400, params  # ISO 8601 only; no Unix times


def test_openapi_documents_what_the_routes_accept_and_answer(api: ApiEnv) -> None:
    document = api.client.get("/openapi.json").json()
    uetr = document["paths"]["/v1/payments/{uetr}"]["get"]["parameters"][0]
    assert uetr["name"] == "uetr" and "pattern" in uetr["schema"]
    assert "text/plain" in str(document["paths"]["/metrics"]["get"]["responses"]["200"])
    metrics = api.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    refused = api.client.get("/v1/payments/NOT-A-UETR", headers=api.headers())
    assert refused.status_code == 400
    assert refused.json()["detail"] == "A UETR is a lower-case UUID v4."


@pytest.mark.parametrize(
    "api",
    [{"EMEA": {"rate_per_second: 200": "rate_per_second: 1", "burst: 400": "burst: 2"}}],
    indirect=True,
)
def test_rate_limit_is_per_tenant(api: ApiEnv) -> None:
    statuses = [
        api.client.post("/v1/messages", content=INVALID, headers=api.headers(key=key())).status_code
        for _ in range(3)
    ]
    assert statuses[:2] == [422, 422]
    assert statuses[2] == 429
    limited = api.client.post("/v1/messages", content=INVALID, headers=api.headers(key=key()))
    assert int(limited.headers["Retry-After"]) >= 1
    other = api.client.post("/v1/messages", content=INVALID, headers=api.headers("NA", key=key()))
    assert other.status_code == 422  # NA is not slowed by EMEA


def test_operations_endpoints(api: ApiEnv) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "schemas": True, "mappings": True, "tenants": True, "database": True, "broker": True,
    }  # fmt: skip
    api.client.post("/v1/messages", content=VALID, headers=api.headers(key=key()))
    metrics = api.client.get("/metrics").text
    assert 'isogw_messages_total{message_id="pacs.008.001.08",outcome=' in metrics
    assert "isogw_message_seconds_bucket" in metrics
    assert "isogw_outbox_rows{status=" in metrics
    assert 'isogw_http_requests_total{route="/v1/messages",status="202",tenant="EMEA"}' in metrics
    spec = api.client.get("/openapi.json").json()
    assert "/v1/messages" in spec["paths"]
    assert "application/xml" in spec["paths"]["/v1/messages"]["post"]["requestBody"]["content"]
    assert api.client.get("/docs").status_code == 200


def test_readyz_reports_a_down_broker(api: ApiEnv) -> None:
    api.publisher.set_down(True)
    ready = api.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"] is False


@pytest.mark.parametrize(
    "api", [{"APAC": {"kafka_fail_closed: false": "kafka_fail_closed: true"}}], indirect=True
)
def test_fail_closed_tenant_gets_503_while_the_broker_is_down(api: ApiEnv) -> None:
    api.publisher.set_down(True)
    accepted = api.client.post("/v1/messages", content=MINIMAL, headers=api.headers(key=key()))
    assert accepted.status_code == 202  # fail-open tenant: accepted into the outbox
    deadline = time.monotonic() + 5
    relay = api.client.app.state.services.relay  # type: ignore[attr-defined]
    while relay.broker_up is not False and time.monotonic() < deadline:
        time.sleep(0.01)
    closed = api.client.post(
        "/v1/messages", content=MINIMAL, headers=api.headers("APAC", key=key())
    )
    assert closed.status_code == 503
    assert closed.json()["type"] == "/problems/unavailable"
    api.publisher.set_down(False)
    wait_published(api, 1)


@pytest.mark.parametrize(
    "api", [{"NA": {"store_payload: false": "store_payload: true"}}], indirect=True
)
def test_raw_payload_is_kept_only_for_tenants_that_ask(api: ApiEnv) -> None:
    stored_for = {}
    for tenant in ("NA", "EMEA"):
        body = api.client.post(
            "/v1/messages", content=VALID, headers=api.headers(tenant, key=key())
        ).json()
        with api.store.engine.connect() as connection:
            stored_for[tenant] = connection.execute(
                select(reports.c.payload).where(reports.c.id == body["report_id"])
            ).scalar()
    assert stored_for == {"NA": VALID, "EMEA": None}
