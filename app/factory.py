"""The one place that builds Spanwise's real clients from ``Settings``.

Everything else receives what is built here, so that a test can hand in a fake transport
instead of the network.
"""

from __future__ import annotations

import functools
import ssl
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr

from app.settings import Settings
from app.telemetry.tempo_errors import ErrorCountingTransport
from connectors.tempo import TempoClient
from connectors.tempo_retry import RetryPolicy

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

USER_AGENT = "spanwise/0.1"


class NotConfigured(RuntimeError):
    """A client was asked for, but a setting it needs is missing; the message names it."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS setup (certifi's CA bundle, SSL_CERT_FILE), built once per process.

    Loading the CA bundle takes some 35 ms, which httpx would otherwise pay for every client.
    """
    return httpx.create_ssl_context()


def build_tempo_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> TempoClient:
    """A ``TempoClient`` for ``settings.tempo_url``, with its tenant, credentials and timeouts.

    Credentials: a username means HTTP basic auth, with ``tempo_password`` or else
    ``tempo_token`` as the password (Grafana Cloud's user id and access token); a token alone
    is sent as a bearer token.
    """
    if not settings.tempo_url:
        raise NotConfigured("no Tempo URL: pass --tempo or set SPANWISE_TEMPO_URL")
    headers = {"User-Agent": USER_AGENT}
    if settings.tempo_tenant:
        headers["X-Scope-OrgID"] = settings.tempo_tenant
    auth: httpx.Auth | None = None
    token = settings.tempo_token.get_secret_value() if settings.tempo_token else None
    if settings.tempo_username:
        password = settings.tempo_password.get_secret_value() if settings.tempo_password else token
        auth = httpx.BasicAuth(settings.tempo_username, password or "")
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    http = httpx.AsyncClient(
        base_url=settings.tempo_url,
        headers=headers,
        auth=auth,
        verify=tls_context(),
        timeout=httpx.Timeout(
            settings.tempo_read_timeout_s, connect=settings.tempo_connect_timeout_s
        ),
        transport=ErrorCountingTransport(
            transport or httpx.AsyncHTTPTransport(verify=tls_context())
        ),
    )
    return TempoClient(
        http,
        retry=RetryPolicy(max_retries=settings.tempo_max_retries),
        concurrency=settings.tempo_concurrency,
        search_limit=settings.tempo_search_limit,
    )


NO_KEY = "not-needed"
"""Sent as the API key to an OpenAI-compatible server that asks for none (Ollama, llama.cpp)."""


def build_chat_model(settings: Settings, *, model: str | None = None) -> BaseChatModel:
    """The chat model of the settings: OpenAI, or any OpenAI-compatible server by base URL.

    Raises ``NotConfigured`` when neither an API key nor a base URL is set; callers then
    run offline and say so. LangChain is imported here, not at module import, so that
    commands that never call a model start fast.
    """
    if not settings.model_configured:
        raise NotConfigured(
            "no model configured: set OPENAI_API_KEY, or SPANWISE_MODEL_BASE_URL for an "
            "OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio)"
        )
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else NO_KEY
    timeout = httpx.Timeout(settings.model_timeout_s, connect=min(settings.model_timeout_s, 10.0))
    return ChatOpenAI(
        model=model or settings.model_name,
        base_url=settings.model_base_url,
        api_key=SecretStr(key),
        timeout=timeout,
        max_retries=settings.model_max_retries,
        temperature=0,
        # Plain httpx clients (the openai SDK's own default may be another HTTP stack):
        # one TLS setup, and tests fake the model at the HTTP layer with respx.
        http_client=httpx.Client(timeout=timeout, verify=tls_context()),
        http_async_client=httpx.AsyncClient(timeout=timeout, verify=tls_context()),
    )
