"""``/healthz`` (the process answers) and ``/readyz`` (what it depends on answers, each named).

Readiness checks the pattern store (it opens and answers a query), Chroma (the server's
heartbeat, or that the embedded one's folder is writable), Tempo (``/ready``) and the model
endpoint (its model list), each within ``CHECK_TIMEOUT_S`` and all at once. Tempo and the
model count only when configured; without them Spanwise works offline, so they are
reported as ``not configured`` and do not make it unready. The probes need no token and
say no more than ok or the kind of failure: no URLs, no credentials.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.discovery.run import pattern_store_path
from app.factory import NO_KEY, build_tempo_client, tls_context
from app.settings import Settings

CHECK_TIMEOUT_S = 3.0
OPENAI_URL = "https://api.openai.com/v1"

Check = dict[str, Any]


def health_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Store, Chroma, Tempo and model reachable, each named")
    async def readyz() -> JSONResponse:
        names = ("store", "chroma", "tempo", "model")
        results = await asyncio.gather(
            _bounded(asyncio.to_thread(_store_check, settings.data_dir)),
            _bounded(_chroma_check(settings)),
            _bounded(_tempo_check(settings)),
            _bounded(_model_check(settings)),
        )
        checks = dict(zip(names, results, strict=True))
        ready = all(check["ok"] or not check["configured"] for check in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return router


async def _bounded(check: Any) -> Check:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except TimeoutError:
        return _failed(f"no answer within {CHECK_TIMEOUT_S:.0f} s")
    except Exception as exc:  # a probe reports what failed; it never fails itself
        return _failed(type(exc).__name__)


def _ok(detail: str = "ok") -> Check:
    return {"ok": True, "configured": True, "detail": detail}


def _failed(detail: str) -> Check:
    return {"ok": False, "configured": True, "detail": detail}


def _not_configured() -> Check:
    return {"ok": False, "configured": False, "detail": "not configured"}


def _store_check(data_dir: Path) -> Check:
    path = pattern_store_path(data_dir)
    if not path.exists():
        if os.access(data_dir if data_dir.exists() else data_dir.parent, os.W_OK):
            return _ok("empty: run discovery")
        return _failed(f"cannot create the store in {data_dir.name}")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=CHECK_TIMEOUT_S) as db:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return _ok()


async def _chroma_check(settings: Settings) -> Check:
    if not settings.chroma_url:
        folder = settings.data_dir / "chroma"
        target = folder if folder.exists() else settings.data_dir
        if not target.exists() or os.access(target, os.W_OK):
            return _ok("embedded")
        return _failed("the embedded Chroma's folder is not writable")
    headers = {}
    if settings.chroma_token:
        headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S, verify=tls_context()) as http:
        response = await http.get(
            f"{settings.chroma_url.rstrip('/')}/api/v2/heartbeat", headers=headers
        )
    return _ok() if response.status_code == 200 else _failed(f"HTTP {response.status_code}")


async def _tempo_check(settings: Settings) -> Check:
    if not settings.tempo_url:
        return _not_configured()
    async with build_tempo_client(settings) as client:
        readiness = await client.ready()
    return _ok() if readiness.is_ready else _failed(f"starting: {readiness.detail[:80]}")


async def _model_check(settings: Settings) -> Check:
    if not settings.model_configured:
        return _not_configured()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else NO_KEY
    base = (settings.model_base_url or OPENAI_URL).rstrip("/")
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S, verify=tls_context()) as http:
        response = await http.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"})
    if response.status_code in (401, 403):
        return _failed("the endpoint refuses the API key")
    if response.status_code >= 500:
        return _failed(f"HTTP {response.status_code}")
    return _ok()
