"""OTLP/HTTP traces receiver: ``POST /v1/traces`` with JSON or protobuf, plain or gzip.

Answers as the OTLP/HTTP specification asks: 200 with an ``ExportTraceServiceResponse`` in
the request's own encoding (``partialSuccess`` when some spans were rejected), 400 with a
``google.rpc.Status`` for a body that cannot be decoded or holds no valid span, 413 for a
body over the limit (found out without reading more than the limit), 415 for a content
type or encoding that is not OTLP, 503 with Retry-After while live discovery is behind
(``app.ingest.live_discovery``: exporters retry). Good spans go to the same pipeline as
pulled ones, and to live discovery for the request's tenant.
"""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool

from app.api.tenant_dependency import request_tenant
from app.ingest.live_discovery import Backlogged, LiveDiscovery
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import TenantSummaries
from app.tenancy import DEFAULT_TENANT
from connectors.otlp import (
    BodyTooLarge,
    DecodedBatch,
    OtlpDecodeError,
    UnsupportedContentEncoding,
    UnsupportedContentType,
    decode_body,
)
from connectors.otlp.body import PROTOBUF_TYPES, media_type

# google.rpc.Code values used in OTLP error bodies.
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8
_UNAVAILABLE = 14


class _TooLarge(Exception):
    pass


def otlp_router(
    pipeline: SpanPipeline,
    max_body_bytes: int,
    live: LiveDiscovery | None = None,
    summaries: TenantSummaries | None = None,
) -> APIRouter:
    """``pipeline`` takes the default tenant's spans; another tenant's go to its own
    summary (``summaries``) and its own live discovery, never into the default's."""
    router = APIRouter()

    @router.post("/v1/traces", tags=["otlp"], summary="OTLP/HTTP traces (JSON or protobuf)")
    async def receive_traces(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        protobuf = media_type(content_type) in PROTOBUF_TYPES
        try:
            body = await _read_bounded(request, max_body_bytes)
        except _TooLarge:
            return _status(
                413, _RESOURCE_EXHAUSTED, f"body is over {max_body_bytes} bytes", protobuf
            )
        try:
            batch: DecodedBatch = await run_in_threadpool(
                decode_body,
                body,
                content_type,
                request.headers.get("content-encoding"),
                max_body_bytes,
            )
        except BodyTooLarge as exc:
            return _status(413, _RESOURCE_EXHAUSTED, str(exc), protobuf)
        except (UnsupportedContentType, UnsupportedContentEncoding) as exc:
            return _status(415, _INVALID_ARGUMENT, str(exc), protobuf)
        except OtlpDecodeError as exc:
            return _status(400, _INVALID_ARGUMENT, f"invalid OTLP traces: {exc}", protobuf)

        if batch.rejected and not batch.spans:
            return _status(400, _INVALID_ARGUMENT, batch.error_message(), protobuf)
        tenant = request_tenant(request)
        if live is not None:
            try:
                live.accept(tenant, batch.spans)
            except Backlogged as exc:
                busy = _status(503, _UNAVAILABLE, f"{exc}: retry later", protobuf)
                busy.headers["Retry-After"] = str(exc.retry_after_s)
                return busy
        if tenant == DEFAULT_TENANT or summaries is None:
            await run_in_threadpool(pipeline.accept, batch.spans)
        else:
            await run_in_threadpool(
                summaries.for_tenant(tenant, DEFAULT_TENANT).accept, batch.spans
            )
        return _export_response(batch, protobuf)

    return router


async def _read_bounded(request: Request, limit: int) -> bytes:
    """Read the body, giving up as soon as it is over ``limit`` (or says it will be)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _export_response(batch: DecodedBatch, protobuf: bool) -> Response:
    if protobuf:
        message = ExportTraceServiceResponse()
        if batch.rejected:
            message.partial_success.rejected_spans = len(batch.rejected)
            message.partial_success.error_message = batch.error_message()
        return Response(message.SerializeToString(), media_type="application/x-protobuf")
    body: dict[str, object] = {}
    if batch.rejected:
        body["partialSuccess"] = {
            # proto3's JSON mapping writes int64 as a string.
            "rejectedSpans": str(len(batch.rejected)),
            "errorMessage": batch.error_message(),
        }
    return Response(msgspec.json.encode(body), media_type="application/json")


def _status(http_status: int, code: int, message: str, protobuf: bool) -> Response:
    if protobuf:
        return Response(
            _rpc_status_protobuf(code, message),
            status_code=http_status,
            media_type="application/x-protobuf",
        )
    return Response(
        msgspec.json.encode({"code": code, "message": message}),
        status_code=http_status,
        media_type="application/json",
    )


def _rpc_status_protobuf(code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` {code = 1, message = 2}, written by hand: two fields only."""
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
