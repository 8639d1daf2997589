"""Request-scoped dependencies: the app's services, the caller's tenant, limits.

Tenant identity comes only from credentials (``Authorization: Bearer <API key>``),
never from the payload, a query parameter or another header.

The dependencies are ``async`` (they never block: an attribute, a dictionary look-up, a
hash): a plain ``def`` dependency would cost a hop to the thread pool on every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, TypeGuard

from fastapi import Depends, Request

from gateway.api.metrics import Metrics
from gateway.api.problems import ProblemError
from gateway.api.ratelimit import RateLimiter
from gateway.kafka import Publisher
from gateway.pipeline import Gateway
from gateway.relay import Relay
from gateway.service import InboundService
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import Authenticator, Tenant, TenantRegistry

__all__ = ["CurrentTenant", "Services", "ServicesDep", "services", "services_of", "tenant_of"]

_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(slots=True)
class Services:
    settings: Settings
    tenants: TenantRegistry
    auth: Authenticator
    gateway: Gateway
    store: Store
    inbound: InboundService
    metrics: Metrics
    limiter: RateLimiter
    publisher: Publisher | None = None
    relay: Relay | None = None

    def broker_up(self) -> bool | None:
        return None if self.relay is None else self.relay.broker_up


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(services)]


def valid_correlation_id(value: str | None) -> TypeGuard[str]:
    return value is not None and bool(_CORRELATION.match(value))


async def tenant_of(request: Request, svc: ServicesDep) -> Tenant:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    tenant = None
    if scheme.lower() == "bearer" and credentials.strip():
        tenant = svc.auth.authenticate(credentials.strip())
    if tenant is None:
        raise ProblemError(
            401,
            "unauthorized",
            "Send a valid API key as 'Authorization: Bearer <key>'.",
            {"WWW-Authenticate": 'Bearer realm="isogw"'},
        )
    request.state.tenant = tenant.id
    return tenant


CurrentTenant = Annotated[Tenant, Depends(tenant_of)]
