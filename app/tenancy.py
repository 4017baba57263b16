"""Tenants: each has its own pattern store and Chroma collection, and its own chat service.

The tenant ``default`` keeps its data at the top of the data directory, where a Spanwise
without tenants always kept it; any other tenant lives under ``DATA_DIR/tenants/<name>/``.
A tenant name is what a token, a Slack mapping or a caller says it is, so it is checked
before it becomes part of a path.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from app.chat.index import retriever
from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatService, GrafanaLinks
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore
from app.facts.live import live_source
from app.model_gate import ModelGate
from app.settings import Settings
from app.tempo_runner import tempo_runner

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


class ChatServices:
    """One ``ChatService`` per tenant in this process, built on first use.

    A service keeps its tenant's patterns and mention index between questions and reloads
    them when the store changes, so the API, the web page and the Slack bot share them.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._services: dict[str, ChatService] = {}
        self._opening = threading.Lock()
        self._grafana = GrafanaLinks.from_settings(settings)
        self._answerer = answerer_from_settings(settings)
        self.gate = ModelGate(settings.model_max_concurrency, settings.model_max_queue)

    def for_tenant(self, tenant: str = DEFAULT_TENANT) -> ChatService:
        with self._opening:
            service = self._services.get(tenant)
            if service is None:
                path = tenant_store_path(self._settings, tenant)
                path.parent.mkdir(parents=True, exist_ok=True)
                store = PatternStore(path)
                service = ChatService(
                    store,
                    grafana=self._grafana,
                    answerer=self._answerer,
                    retrieve=retriever(self._settings, store, tenant),
                    live=live_source(tenant_settings(self._settings, tenant)),
                    tempo=tempo_runner(tenant_settings(self._settings, tenant)),
                    gate=self.gate,
                    live_window_s=self._settings.chat_window_s,
                )
                self._services[tenant] = service
            return service
