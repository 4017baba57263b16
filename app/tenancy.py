"""Tenants: each has its own pattern store and Chroma collection, and its own chat service
(``app.chat.services``).

The tenant ``default`` keeps its data at the top of the data directory, where a Spanwise
without tenants always kept it; any other tenant lives under ``DATA_DIR/tenants/<name>/``.
A tenant name is what a token, a Slack mapping or a caller says it is, so it is checked
before it becomes part of a path.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.discovery.run import pattern_store_path
from app.settings import Settings

DEFAULT_TENANT = "default"
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def check_tenant(name: str) -> str:
    """The name, if it can name a tenant: 1-63 letters, digits, ``.``, ``_`` or ``-``."""
    if not _TENANT_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"{name[:70]!r} cannot name a tenant: use 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def tenant_data_dir(settings: Settings, tenant: str) -> Path:
    if check_tenant(tenant) == DEFAULT_TENANT:
        return settings.data_dir
    return settings.data_dir / "tenants" / tenant


def tenant_store_path(settings: Settings, tenant: str) -> Path:
    return pattern_store_path(tenant_data_dir(settings, tenant))


def tenant_settings(settings: Settings, tenant: str) -> Settings:
    """The settings as a tenant sees them: Tempo's ``X-Scope-OrgID`` is the tenant's own."""
    if check_tenant(tenant) == DEFAULT_TENANT:
        return settings
    org_id = settings.tempo_tenants.get(tenant, tenant)
    return settings.model_copy(update={"tempo_tenant": org_id})
