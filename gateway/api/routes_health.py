"""``/healthz`` (the process answers), ``/readyz`` (schemas, tenants, database and
broker are usable) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from gateway.api.deps import ServicesDep

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: ServicesDep) -> Response:
    checks = {
        "schemas": bool(svc.gateway.schemas.entries()),
        "mappings": bool(svc.gateway.mappings.all()),
        "tenants": bool(svc.tenants.all()),
        "database": await run_in_threadpool(svc.store.ping),
        "broker": bool(svc.publisher is not None and await svc.publisher.healthy()),
    }
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
    )


class PrometheusText(Response):
    media_type = CONTENT_TYPE_LATEST  # documented as such in the OpenAPI document


@router.get("/metrics", response_class=PrometheusText)
async def metrics(svc: ServicesDep) -> Response:
    body = await run_in_threadpool(svc.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
