"""One chat service per tenant in a process (the API, the web page and the Slack bot share
them), built on first use."""

from __future__ import annotations

import threading

from app.chat.index import retriever
from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatService, GrafanaLinks
from app.discovery.store import PatternStore
from app.facts.live import live_source
from app.model_gate import ModelGate
from app.settings import Settings
from app.tempo_runner import tempo_runner
from app.tenancy import DEFAULT_TENANT, tenant_settings, tenant_store_path


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
