"""``GET /v1/payments/{uetr}``: a payment's lifecycle, the caller's tenant only.

The inbound reports that carried the UETR, the events emitted for it (and whether they
reached Kafka), the status and execution events received for it, and the messages the
gateway rendered and delivered in answer (:mod:`gateway.store.lifecycle`). Another
tenant's UETR answers exactly like an unknown one (404)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import CurrentTenant, ServicesDep
from gateway.api.problems import ProblemError
from gateway.store.lifecycle import Lifecycle

__all__ = ["router"]

router = APIRouter(tags=["payments"])

_UETR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@router.get("/v1/payments/{uetr}")
async def get_payment(
    uetr: Annotated[str, Path(pattern=_UETR.pattern, description="lower-case UUID v4")],
    svc: ServicesDep,
    tenant: CurrentTenant,
) -> dict[str, Any]:
    """The lifecycle of one payment of the caller's tenant, by UETR (UUID v4)."""
    found = await run_in_threadpool(Lifecycle(svc.store).payment, tenant.id, uetr)
    if found is None:
        raise ProblemError(404, "not-found", f"No payment {uetr}.")
    return found
