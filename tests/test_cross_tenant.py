"""Cross-tenant isolation over HTTP (DESIGN.md §5: one tenant can never see, change or
slow down another's data), on SQLite and PostgreSQL.

Tenant EMEA submits accepted and rejected MX and MT messages. The three other tenants
then try every endpoint that takes an id or returns tenant data with EMEA's report ids
(also upper-cased and padded), UETRs, Idempotency-Keys, business message ids and list
cursors - at least 150 attempts. Each is answered exactly like a missing resource: the
same status, problem type and title, and a body that, with the id taken out, is byte for
byte the answer for a random id; nothing of EMEA's (its ids, names, tenant) shows up.
Lists never hold another tenant's rows, and EMEA's Idempotency-Keys and business message
ids mean nothing to the others.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from tests.api_fixtures import ApiEnv
from tests.reliability_support import uetrs_of, unique_mt103, unique_pacs008
from tests.test_api import INVALID, PAIN

OWNER = "EMEA"
OTHERS = ("NA", "LATAM", "APAC")
STATUS_AS = [None, "pacs.002.001.10", "pain.002.001.10", "fin.199"]


def submit(api: ApiEnv, tenant: str, payload: bytes, content_type: str, key: str) -> Any:
    headers = api.headers(tenant, key=key, **{"Content-Type": content_type})
    return api.client.post("/v1/messages", content=payload, headers=headers)


def owner_data(api: ApiEnv) -> dict[str, Any]:
    """EMEA's messages: every id another tenant could try."""
    sent = [
        (unique_pacs008(f"XT-{uuid.uuid4().hex[:12]}"), "application/xml"),
        (unique_pacs008(f"XT-{uuid.uuid4().hex[:12]}"), "application/xml"),
        (unique_mt103(f"XT{uuid.uuid4().hex[:12]}"), "text/plain"),
        (PAIN, "application/xml"),
        (INVALID, "application/xml"),
        (b"<not-a-message/>", "application/xml"),
    ]
    data: dict[str, Any] = {"reports": [], "uetrs": [], "keys": [], "bodies": []}
    for payload, content_type in sent:
        key = str(uuid.uuid4())
        response = submit(api, OWNER, payload, content_type, key)
        assert response.status_code in (202, 422), response.text
        data["reports"].append(response.json()["report_id"])
        data["keys"].append((key, payload, content_type))
        data["bodies"].append(response.content)
        if response.status_code == 202:
            data["uetrs"] += uetrs_of(payload)
    page = api.client.get("/v1/reports", params={"limit": 2}, headers=api.headers(OWNER))
    data["cursor"] = page.json()["next_cursor"]
    assert data["cursor"] and len(data["uetrs"]) >= 7
    return data


def normalised(response: Any, secret: str) -> tuple[int, str, bytes]:
    """Status, content type and the body with ``secret`` (the id asked for) and the
    correlation id taken out."""
    body = response.content.replace(secret.encode(), b"<ID>")
    if response.headers.get("content-type", "").endswith("json"):
        document = orjson.loads(body)
        document.pop("correlation_id", None)
        body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return response.status_code, response.headers.get("content-type", ""), body


class Attempts:
    """Counts the attempts and checks each against the answer for a missing resource."""

    def __init__(self, api: ApiEnv, owner: dict[str, Any]) -> None:
        self.api = api
        self.owner = owner
        self.count = 0
        self.leaks = [r.encode() for r in owner["reports"]] + [b'"EMEA"', b"EMEA"]
        self.leaks += [u.encode() for u in owner["uetrs"]]

    def same_as_missing(
        self, tenant: str, path: str, value: str, secret: str, **params: str
    ) -> None:
        """``path`` with ``value`` (holding the owner's id ``secret``) answers as it does
        with a random id in its place."""
        fresh = str(uuid.uuid4())
        headers = self.api.headers(tenant)
        foreign = self.api.client.get(path.format(value), params=params, headers=headers)
        missing = self.api.client.get(
            path.format(value.replace(secret, fresh)), params=params, headers=headers
        )
        self.count += 1
        assert foreign.status_code == 404, (path, foreign.status_code, foreign.text)
        assert normalised(foreign, secret) == normalised(missing, fresh), path
        problem = foreign.json()
        assert (problem["type"], problem["title"]) == ("/problems/not-found", "No such resource")
        self.no_leak(foreign.content.replace(secret.encode(), b""))

    def no_leak(self, content: bytes) -> None:
        for marker in self.leaks:
            assert marker not in content, marker


@pytest.fixture
def attempts(api: ApiEnv) -> Attempts:
    return Attempts(api, owner_data(api))


def test_the_owner_sees_its_own_data(api: ApiEnv, attempts: Attempts) -> None:
    """Not vacuous: every id tried below exists for its owner."""
    for report_id in attempts.owner["reports"]:
        assert api.client.get(f"/v1/reports/{report_id}", headers=api.headers()).status_code == 200
    for uetr in attempts.owner["uetrs"]:
        assert api.client.get(f"/v1/payments/{uetr}", headers=api.headers()).status_code == 200
    first = attempts.owner["reports"][0]
    status = api.client.get(f"/v1/reports/{first}/status-message", headers=api.headers())
    assert status.status_code == 200, status.text


def test_other_tenants_get_not_found_exactly_like_a_missing_id(
    api: ApiEnv, attempts: Attempts
) -> None:
    reports, uetrs = attempts.owner["reports"], attempts.owner["uetrs"]
    for tenant in OTHERS:
        for report_id in reports:
            for variant in (report_id, f"{report_id}%20", f"%20{report_id}"):
                attempts.same_as_missing(tenant, "/v1/reports/{}", variant, report_id)
            upper = report_id.upper()
            attempts.same_as_missing(tenant, "/v1/reports/{}", upper, upper)
            for as_ in STATUS_AS:
                params = {"as": as_} if as_ else {}
                attempts.same_as_missing(
                    tenant, "/v1/reports/{}/status-message", report_id, report_id, **params
                )
        for uetr in uetrs:
            attempts.same_as_missing(tenant, "/v1/payments/{}", uetr, uetr)
    assert attempts.count >= 150, attempts.count


def test_lists_never_hold_another_tenants_rows(api: ApiEnv, attempts: Attempts) -> None:
    filters: list[dict[str, str]] = [
        {}, {"outcome": "accepted"}, {"outcome": "accepted_with_warnings"},
        {"outcome": "rejected"}, {"message_id": "pacs.008.001.08"}, {"message_id": "fin.103"},
        {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}, {"limit": "500"},
        {"cursor": attempts.owner["cursor"]}, {"cursor": attempts.owner["cursor"], "limit": "1"},
    ]  # fmt: skip
    for tenant in OTHERS:  # each with a row of its own, so an empty list proves nothing alone
        own = submit(api, tenant, unique_pacs008(f"OWN-{uuid.uuid4().hex[:8]}"),
                     "application/xml", str(uuid.uuid4())).json()["report_id"]  # fmt: skip
        for params in filters:
            page = api.client.get("/v1/reports", params=params, headers=api.headers(tenant))
            attempts.count += 1
            assert page.status_code == 200, page.text
            items = page.json()["items"]
            assert {item["tenant"] for item in items} <= {tenant}
            assert not {item["report_id"] for item in items} & set(attempts.owner["reports"])
            attempts.no_leak(page.content)
            if not params or params == {"limit": "500"}:
                assert [item["report_id"] for item in items] == [own]
    assert attempts.count >= 30


def test_another_tenants_idempotency_keys_and_business_ids_mean_nothing(
    api: ApiEnv, attempts: Attempts
) -> None:
    """The owner's key with the owner's payload is a new request for another tenant (no
    replay of the owner's answer, the owner's business message ids are free); with
    another payload it is not 'key reused' (which would tell that the key exists)."""
    owner = attempts.owner
    for i, tenant in enumerate(OTHERS):
        for (key, owner_payload, owner_type), owner_body in zip(
            owner["keys"], owner["bodies"], strict=True
        ):
            payload, content_type = (
                (b"<other/>", "application/xml") if i % 2 else (owner_payload, owner_type)
            )
            answer = submit(api, tenant, payload, content_type, key)
            attempts.count += 1
            assert answer.status_code in (202, 422), answer.text
            assert "Idempotent-Replayed" not in answer.headers
            body = answer.json()
            assert body.get("type") != "/problems/idempotency-key-reused"
            assert body["report_id"] not in owner["reports"]
            assert answer.content != owner_body
            if answer.status_code == 422:  # rejected for its content, never as a duplicate
                codes = [f["code"] for f in body["findings"]]
                assert "business.duplicate_message" not in codes
            attempts.no_leak(answer.content)
    assert attempts.count >= 18
