"""The tenant a request acts for, and its pattern store, as FastAPI dependencies.

Authentication puts the tenant on ``request.state``; without it (loopback, open) a request
acts for the default tenant. Every route that reads or changes patterns opens the store of
that tenant, never another's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request

from app.classify.store import ClassificationStore
from app.discovery.store import PatternStore
from app.settings import Settings
from app.tenancy import DEFAULT_TENANT, tenant_store_path


def request_tenant(request: Request) -> str:
    return getattr(request.state, "tenant", DEFAULT_TENANT)


def tenant_store(settings: Settings) -> Callable[..., Iterator[ClassificationStore]]:
    """A dependency that opens the request's tenant's store and closes it afterwards."""

    def open_store(
        tenant: Annotated[str, Depends(request_tenant)],
    ) -> Iterator[ClassificationStore]:
        path = tenant_store_path(settings, tenant)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = PatternStore(path)
        try:
            yield ClassificationStore(store)
        finally:
            store.close()

    return open_store
