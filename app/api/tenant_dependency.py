"""The tenant a request acts for: set on ``request.state`` by authentication, else default."""

from __future__ import annotations

from fastapi import Request

from app.tenancy import DEFAULT_TENANT


def request_tenant(request: Request) -> str:
    return getattr(request.state, "tenant", DEFAULT_TENANT)
