"""Grafana Tempo's HTTP query API: health, TraceQL search, traces by id, tags, metrics.

Errors (all ``TempoError``, defined in ``connectors.tempo_errors``):

- ``TempoQueryError``: 400, Tempo rejected the request; ``str(error)`` is Tempo's text,
  verbatim (``invalid TraceQL query: parse error at line 1, col 12: ...``).
- ``TempoTenantRequired``: 401 ``no org id``; Tempo is multi-tenant and needs X-Scope-OrgID.
- ``TempoAuthError``: any other 401 or 403; credentials missing or refused.
- ``TraceNotFound``: no trace with that id (v1: empty 404; v2: 200 with ``{"trace":{}}``).
- ``TempoEndpointNotFound``: 404 from Tempo's router; no such API in this Tempo, or a
  gateway's path prefix is missing from the URL.
- ``TempoUnavailable``: 429 or 5xx still failing after ``RetryPolicy.max_retries`` retries.
- ``TempoTimeout``: no connection within the connect timeout, or no answer within the read
  timeout after the retries.
- ``TempoConnectionError``: connection refused, unknown host, or a connection that broke.
- ``TempoResponseError``: an answer Spanwise cannot read (unexpected status or body shape).

Reads that fail with 429, 5xx, a read timeout or a broken connection are retried with
exponential backoff and jitter (``connectors.tempo_retry``). A refused or timed-out connect is
not: nothing is listening, and retrying would only delay the hint.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx

from connectors.otlp import (
    DecodedBatch,
    InvalidId,
    OtlpDecodeError,
    decode_otlp_json,
    decode_tempo_protobuf,
    normalize_trace_id,
)
from connectors.spans import Span
from connectors.tempo_errors import (
    ROUTE_NOT_FOUND,
    TempoEndpointNotFound,
    TempoResponseError,
    TraceNotFound,
    connection_error,
    error_for_response,
    timeout_error,
)
from connectors.tempo_models import (
    BuildInfo,
    MalformedBody,
    MetricsInstantResult,
    MetricsRangeResult,
    Readiness,
    SearchResult,
    TagScope,
    TagValue,
    parse_build_info,
    parse_metrics_instant,
    parse_metrics_range,
    parse_search,
    parse_tag_names,
    parse_tag_scopes,
    parse_tag_values,
    parse_typed_tag_values,
)
from connectors.tempo_retry import RetryPolicy
from connectors.tempo_sample import SamplePlan, pull_sample
from connectors.tempo_window import ProgressCallback, pull_window

JSON = "application/json"
PROTOBUF = "application/protobuf"

Params = Mapping[str, str | int]
_Parsed = TypeVar("_Parsed")

_FAIL_FAST = (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol, httpx.ProxyError)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class TempoClient:
    """Asynchronous client of one Tempo (or a gateway in front of it).

    It receives an ``httpx.AsyncClient`` that already carries the base URL, timeouts, tenant
    header and credentials (``app.factory.build_tempo_client`` builds it) and owns it from
    then on: ``aclose()`` or ``async with`` closes it.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        search_limit: int = 500,
    ) -> None:
        if concurrency < 1 or search_limit < 1:
            raise ValueError("concurrency and search_limit must be at least 1")
        self._http = http
        self._retry = retry or RetryPolicy()
        self._concurrency = concurrency
        self._search_limit = search_limit
        self._has_trace_v2: bool | None = None

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def __aenter__(self) -> TempoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- health ---------------------------------------------------------------------

    async def ready(self) -> Readiness:
        """``/ready``, asked once: a Tempo that is starting is not an error."""
        response, attempts = await self._send("/ready", accept="text/plain", retry=False)
        if response.status_code in (200, 503):
            return Readiness(response.status_code == 200, response.text.strip())
        raise error_for_response(response, attempts=attempts)

    async def echo(self) -> str:
        """``/api/echo``: Tempo answers ``echo``; needs no tenant even when multi-tenant."""
        return (await self._get_ok("/api/echo", accept="text/plain")).text.strip()

    async def build_info(self) -> BuildInfo:
        """Version and revision; needs no tenant."""
        return self._parse(await self._get_ok("/api/status/buildinfo"), parse_build_info)

    # --- search ---------------------------------------------------------------------

    async def search(
        self,
        query: str = "{}",
        *,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
        spss: int | None = None,
    ) -> SearchResult:
        """A TraceQL search; ``start``/``end`` are unix seconds.

        Without ``start`` and ``end`` Tempo searches only recent, not yet flushed data. Unset
        ``limit`` and ``spss`` (spans per span set) take Tempo's defaults, 20 and 3.
        """
        params = _params(q=query, start=start, end=end, limit=limit, spss=spss)
        return self._parse(await self._get_ok("/api/search", params=params), parse_search)

    async def search_tags(
        self,
        tags: Mapping[str, str],
        *,
        min_duration: str | None = None,
        max_duration: str | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> SearchResult:
        """The search of Tempo before TraceQL: ``tags`` ANDed, durations like ``100ms``."""
        params = _params(
            tags=" ".join(f"{key}={_logfmt(value)}" for key, value in tags.items()),
            minDuration=min_duration,
            maxDuration=max_duration,
            limit=limit,
            start=start,
            end=end,
        )
        return self._parse(await self._get_ok("/api/search", params=params), parse_search)

    def pull(
        self,
        query: str = "{}",
        *,
        start: int,
        end: int,
        limit: int | None = None,
        sample: SamplePlan | None = None,
        on_progress: ProgressCallback | None = None,
        before: bool = True,
        at_end: bool = True,
    ) -> AsyncGenerator[tuple[str, list[Span]], None]:
        """Every trace matching ``query`` in ``[start, end]`` (unix seconds), fetched by id.

        ``before``: also the traces that began before ``start``; ``at_end``: also those that
        begin in the second ``end``. Without both, the traces that begin in ``[start, end)``.

        Streams ``(trace_id, spans)`` as traces arrive; see ``connectors.tempo_window`` for
        how the window is split so that no trace is missed or repeated. ``limit`` is the
        search limit of that exhaustive pull. With a ``sample`` plan, only an evenly spread
        sample of the window's traces is pulled instead (``connectors.tempo_sample``).
        """
        if end <= start:
            raise ValueError(f"the window's end ({end}) must be after its start ({start})")
        if sample is not None and limit is not None:
            raise ValueError("a sampled pull searches with its plan's traces_per_slice, not limit")

        async def search(start_s: int, end_s: int, slice_limit: int) -> SearchResult:
            return await self.search(query, start=start_s, end=end_s, limit=slice_limit, spss=1)

        if sample is not None:
            return pull_sample(
                search,
                self.trace,
                start_s=start,
                end_s=end,
                plan=sample,
                concurrency=self._concurrency,
                on_progress=on_progress,
                before=before,
                at_end=at_end,
            )
        return pull_window(
            search,
            self.trace,
            start_s=start,
            end_s=end,
            limit=limit or self._search_limit,
            concurrency=self._concurrency,
            on_progress=on_progress,
            before=before,
            at_end=at_end,
        )

    # --- traces by id ---------------------------------------------------------------

    async def trace(
        self,
        trace_id: str,
        *,
        start: int | None = None,
        end: int | None = None,
        protobuf: bool = False,
    ) -> DecodedBatch:
        """One whole trace, from ``/api/v2/traces`` or, on a Tempo without it, ``/api/traces``.

        ``trace_id`` may lack its leading zeros, as search results give it. An id that is not
        hex is sent anyway, so that Tempo's own message explains what is wrong with it. A
        200 whose body is not a trace (cut short on the way) is asked again, as a 5xx is.
        """
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self._trace_once(trace_id, start=start, end=end, protobuf=protobuf)
            except _GarbledTrace as garbled:
                if attempt == attempts:
                    raise garbled.error from garbled.error.__cause__
                await self._retry.wait(attempt - 1)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _trace_once(
        self, trace_id: str, *, start: int | None, end: int | None, protobuf: bool
    ) -> DecodedBatch:
        path_id = _path_trace_id(trace_id)
        params = _params(start=start, end=end)
        accept = PROTOBUF if protobuf else JSON
        if self._has_trace_v2 is not False:
            response, attempts = await self._send(
                f"/api/v2/traces/{path_id}", params=params, accept=accept
            )
            if not (response.status_code == 404 and _is_route_404(response)):
                self._has_trace_v2 = True
                return self._trace_batch(response, path_id, v2=True, attempts=attempts)
            self._has_trace_v2 = False
        response, attempts = await self._send(
            f"/api/traces/{path_id}", params=params, accept=accept
        )
        return self._trace_batch(response, path_id, v2=False, attempts=attempts)

    def _trace_batch(
        self, response: httpx.Response, trace_id: str, *, v2: bool, attempts: int
    ) -> DecodedBatch:
        url = str(response.request.url)
        if response.status_code == 404:
            if _is_route_404(response):
                raise TempoEndpointNotFound(url=url)
            raise TraceNotFound(trace_id, url=url)
        if not response.is_success:
            raise error_for_response(response, attempts=attempts)
        content_type = response.headers.get("content-type", "")
        try:
            if content_type.startswith((PROTOBUF, "application/x-protobuf")):
                batch = decode_tempo_protobuf(response.content, v2=v2)
            else:
                batch = decode_otlp_json(response.content)
        except OtlpDecodeError as exc:
            error = TempoResponseError(
                f"Tempo's answer for trace {trace_id} at {url} is not a trace: {exc}",
                url=url,
                status=response.status_code,
            )
            error.__cause__ = exc
            raise _GarbledTrace(error) from exc
        if not batch.spans and not batch.rejected:
            raise TraceNotFound(trace_id, url=url)
        return batch

    # --- tags -----------------------------------------------------------------------

    async def tag_names(self, *, scope: str | None = None) -> list[str]:
        """v1 tag names, one flat list (resource, span and event attributes mixed)."""
        response = await self._get_ok("/api/search/tags", params=_params(scope=scope))
        return self._parse(response, parse_tag_names)

    async def tag_scopes(
        self,
        *,
        scope: str | None = None,
        query: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> list[TagScope]:
        """v2 tag names grouped by scope, optionally only those of spans matching ``query``."""
        params = _params(scope=scope, q=query, start=start, end=end)
        response = await self._get_ok("/api/v2/search/tags", params=params)
        return self._parse(response, parse_tag_scopes)

    async def tag_values(self, tag: str) -> list[str]:
        """v1 values of an unscoped tag such as ``service.name``."""
        response = await self._get_ok(f"/api/search/tag/{_path_segment(tag)}/values")
        return self._parse(response, parse_tag_values)

    async def typed_tag_values(
        self,
        tag: str,
        *,
        query: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> list[TagValue]:
        """v2 values of a scoped tag (``resource.service.name``) or an intrinsic (``status``)."""
        params = _params(q=query, start=start, end=end)
        response = await self._get_ok(
            f"/api/v2/search/tag/{_path_segment(tag)}/values", params=params
        )
        return self._parse(response, parse_typed_tag_values)

    # --- TraceQL metrics ------------------------------------------------------------

    async def metrics_range(
        self, query: str, *, start: int, end: int, step: str | None = None
    ) -> MetricsRangeResult:
        """A TraceQL metrics query over time; ``step`` is a duration such as ``60s``."""
        params = _params(q=query, start=start, end=end, step=step)
        response = await self._get_ok("/api/metrics/query_range", params=params)
        return self._parse(response, parse_metrics_range)

    async def metrics_instant(self, query: str, *, start: int, end: int) -> MetricsInstantResult:
        """A TraceQL metrics query reduced to one value per series over ``[start, end]``."""
        params = _params(q=query, start=start, end=end)
        response = await self._get_ok("/api/metrics/query", params=params)
        return self._parse(response, parse_metrics_instant)

    # --- HTTP -----------------------------------------------------------------------

    async def _get_ok(
        self, path: str, *, params: Params | None = None, accept: str = JSON
    ) -> httpx.Response:
        response, attempts = await self._send(path, params=params, accept=accept)
        if not response.is_success:
            raise error_for_response(response, attempts=attempts)
        return response

    async def _send(
        self, path: str, *, params: Params | None = None, accept: str = JSON, retry: bool = True
    ) -> tuple[httpx.Response, int]:
        """GET with retries; the final response (whatever its status) and the attempts made."""
        attempts = self._retry.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._http.get(path, params=params, headers={"Accept": accept})
            except _FAIL_FAST as exc:
                if isinstance(exc, httpx.TimeoutException):
                    raise timeout_error(exc, attempts=attempt) from exc
                raise connection_error(exc, attempts=attempt) from exc
            except _TRANSIENT as exc:
                if attempt == attempts:
                    if isinstance(exc, httpx.TimeoutException):
                        raise timeout_error(exc, attempts=attempt) from exc
                    raise connection_error(exc, attempts=attempt) from exc
                await self._retry.wait(attempt - 1)
                continue
            except httpx.TransportError as exc:
                raise connection_error(exc, attempts=attempt) from exc
            if attempt < attempts and _retryable(response.status_code):
                await self._retry.wait(attempt - 1, response.headers.get("Retry-After"))
                continue
            return response, attempt
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _parse(response: httpx.Response, parse: Callable[[bytes], _Parsed]) -> _Parsed:
        try:
            return parse(response.content)
        except MalformedBody as exc:
            url = str(response.request.url)
            raise TempoResponseError(
                f"the answer of {url} does not look like Tempo's: {exc}",
                url=url,
                status=response.status_code,
            ) from exc


class _GarbledTrace(Exception):
    """A successful answer whose body is not a trace: asked again before it is an error."""

    def __init__(self, error: TempoResponseError) -> None:
        super().__init__(str(error))
        self.error = error


def _params(**values: str | int | None) -> dict[str, str | int] | None:
    given = {key: value for key, value in values.items() if value is not None}
    return given or None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _is_route_404(response: httpx.Response) -> bool:
    return response.text.strip() == ROUTE_NOT_FOUND


def _path_trace_id(trace_id: str) -> str:
    try:
        return normalize_trace_id(trace_id)
    except InvalidId:
        return quote(trace_id.strip(), safe="")


def _path_segment(tag: str) -> str:
    return quote(tag, safe=":")


def _logfmt(value: str) -> str:
    if value and not any(c in value for c in ' "=\\'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
