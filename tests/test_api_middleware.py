"""The app's middleware over HTTP: the correlation id on every answer (a 500 too), the
request counter, and the compliance UI's security headers on ``/ui`` answers only."""

from __future__ import annotations

import uuid
from typing import NoReturn

import httpx2
import pytest

from tests.api_fixtures import ApiEnv


def correlation_ids(response: httpx2.Response) -> list[str]:
    return [value for name, value in response.headers.multi_items() if name == "x-correlation-id"]


def test_a_valid_correlation_id_is_echoed_and_any_other_replaced(api: ApiEnv) -> None:
    echoed = api.client.get("/healthz", headers={"X-Correlation-ID": "abc:1.2_3-4"})
    assert correlation_ids(echoed) == ["abc:1.2_3-4"]
    for sent in ("bad id!", "a" * 65, ""):
        response = api.client.get("/healthz", headers={"X-Correlation-ID": sent})
        (generated,) = correlation_ids(response)
        assert str(uuid.UUID(generated)) == generated
    first, second = (correlation_ids(api.client.get("/healthz"))[0] for _ in range(2))
    assert first != second


def test_an_unexpected_error_is_a_500_problem_with_the_correlation_id(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> NoReturn:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(api.client.app.state.services.limiter, "take", fail)  # type: ignore[attr-defined]
    for sent in ({"X-Correlation-ID": "corr-500"}, {}):
        response = api.client.post(
            "/v1/messages",
            content=b"<Document/>",
            headers=api.headers(key=str(uuid.uuid4()), **sent),
        )
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/internal"
        assert correlation_ids(response) == [problem["correlation_id"]]
        if sent:
            assert problem["correlation_id"] == "corr-500"
        else:
            assert str(uuid.UUID(problem["correlation_id"])) == problem["correlation_id"]


def test_requests_are_counted_by_tenant_route_and_status(api: ApiEnv) -> None:
    api.client.get("/v1/reports/none", headers=api.headers("NA"))
    api.client.get("/nowhere")
    metrics = api.client.get("/metrics").text
    assert (
        'isogw_http_requests_total{route="/v1/reports/{report_id}",status="404",tenant="NA"} 1.0'
        in metrics
    )
    assert 'isogw_http_requests_total{route="unmatched",status="404",tenant="-"} 1.0' in metrics


def test_ui_answers_carry_the_security_headers(api: ApiEnv) -> None:
    page = api.client.get("/ui/login")
    static = api.client.get("/ui/static/ui.css")
    for response in (page, static):
        assert response.status_code == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert len(correlation_ids(response)) == 1
    assert page.headers["cache-control"] == "no-store"
    assert "cache-control" not in static.headers
    for other in (api.client.get("/healthz"), api.client.get("/uix")):
        assert "content-security-policy" not in other.headers
        assert "x-frame-options" not in other.headers
