"""The Spanwise HTTP server: one FastAPI app for the OTLP receiver and the API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from app.api.authentication import Authentication, tokens_required
from app.api.chat_api import chat_router
from app.api.discovery_api import discovery_router
from app.api.health import health_router
from app.api.host_check import LoopbackHostOnly
from app.api.limits import BodySizeLimit, QuestionRateLimit
from app.api.otlp_receiver import otlp_router
from app.api.patterns_api import patterns_router
from app.api.rederive_api import rederive_router
from app.api.tenant_dependency import request_tenant
from app.api.traces_api import traces_router
from app.auth.tokens import TokenStore, auth_store_path
from app.chat.services import ChatServices
from app.ingest.live_discovery import LiveDiscovery
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary, TenantSummaries
from app.model_gate import Overloaded
from app.settings import Settings
from app.slack.router import slack_router
from app.telemetry.http_metrics import RequestMetrics
from app.telemetry.metrics import MODEL_REFUSED
from app.tenancy import DEFAULT_TENANT
from app.web import static_files, web_router
from app.web.errors import validation_error_handler
from app.web.login import login_router


def status_document(settings: Settings) -> dict[str, object]:
    """Whether a model is configured; with none, names and answers come from the facts."""
    if not settings.model_configured:
        return {
            "mode": "offline",
            "model": None,
            "note": "no model configured: classification and answers are computed offline; "
            "set OPENAI_API_KEY or SPANWISE_MODEL_BASE_URL for a model",
        }
    endpoint = urlsplit(settings.model_base_url).netloc if settings.model_base_url else "openai"
    return {"mode": "model", "model": settings.model_name, "endpoint": endpoint}


DOCS_ASSETS = "/docs-assets"


def _lifespan(live: LiveDiscovery | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Fold what live discovery holds when the server shuts down: on SIGTERM uvicorn ends
    the process after its shutdown, before anything after ``uvicorn.run`` could run."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if live is not None:
            await run_in_threadpool(live.close)

    return lifespan


LOG = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    pipeline: SpanPipeline,
    summary: IngestSummary,
    *,
    tokens: TokenStore | None = None,
    live: LiveDiscovery | None = None,
) -> FastAPI:
    """The whole server. Tokens are required when ``settings.host`` is not loopback (unless
    ``allow_open``) or ``auth_required`` is set; ``tokens`` defaults to the data dir's."""
    # /docs and /redoc from files shipped with fastapi-offline: they work with no internet.
    app = FastAPIOffline(
        title="Spanwise",
        summary="Span patterns from OpenTelemetry traces, and answers about them.",
        version="0.1.0",
        lifespan=_lifespan(live),
        static_url=DOCS_ASSETS,
    )
    token_store = tokens or TokenStore(auth_store_path(settings.data_dir))
    required = tokens_required(
        settings.host, auth_required=settings.auth_required, allow_open=settings.allow_open
    )
    # Added innermost first: metrics see every answer, authentication runs before limits.
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(QuestionRateLimit, per_minute=settings.chat_requests_per_minute)
    app.add_middleware(Authentication, tokens=token_store, required=required)
    app.add_middleware(RequestMetrics)
    if not required:  # open on loopback: answer only to loopback names (DNS rebinding)
        app.add_middleware(LoopbackHostOnly, allowed=allowed_hosts(settings))
    app.state.tokens = token_store
    app.state.tokens_required = required
    app.include_router(health_router(settings))
    app.include_router(discovery_router(settings))

    app.add_exception_handler(
        RequestValidationError,
        validation_error_handler("model" if settings.model_configured else "offline"),
    )

    @app.exception_handler(UnicodeEncodeError)
    async def unencodable(_request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        """Text that UTF-8 cannot hold (a lone surrogate, "\\ud800", in JSON): refused
        whole, nothing stored; one line in the log, no traceback."""
        LOG.warning("refused text that cannot be encoded: %s", exc.reason)
        return JSONResponse(
            {
                "detail": "the request holds text that cannot be encoded as UTF-8 (a lone "
                "surrogate such as \\ud800): send valid Unicode"
            },
            status_code=422,
        )

    @app.exception_handler(Overloaded)
    async def overloaded(_request: Request, exc: Overloaded) -> JSONResponse:
        MODEL_REFUSED.inc()
        return JSONResponse(
            {"detail": f"busy: {exc}; ask again in {exc.retry_after_s} s"},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    @app.get("/metrics", tags=["status"], summary="Prometheus metrics of this Spanwise")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    chat_services = ChatServices(settings)
    app.state.chat_services = chat_services
    summaries = TenantSummaries(summary)
    app.include_router(otlp_router(pipeline, settings.max_request_bytes, live, summaries))
    app.include_router(patterns_router(settings))
    app.include_router(chat_router(chat_services))
    app.include_router(traces_router(settings))
    app.include_router(rederive_router(settings))
    app.include_router(web_router(settings))
    app.include_router(
        login_router(token_store, "model" if settings.model_configured else "offline")
    )
    app.mount("/static", static_files(), name="static")
    app.include_router(slack_router(settings, chat_services))

    @app.get("/api/ingest/summary", tags=["ingest"], summary="What has arrived, per service")
    def ingest_summary(request: Request) -> dict[str, object]:
        """What arrived for the request's tenant only."""
        return summaries.for_tenant(request_tenant(request), DEFAULT_TENANT).as_dict()

    @app.get("/api/status", tags=["status"], summary="How this Spanwise classifies and answers")
    def status() -> dict[str, object]:
        return status_document(settings)

    return app


def allowed_hosts(settings: Settings) -> list[str]:
    """Host names answered besides loopback ones: the configured, and the public URL's."""
    found = list(settings.allowed_hosts)
    if settings.public_url:
        host = urlsplit(settings.public_url).hostname
        if host:
            found.append(host)
    return found
