"""HTTP operations: the method and the route or templated path; for a client, the host too.

Server spans key as ``GET /products/:sku``: the method (``http.request.method``, legacy
``http.method``) and ``http.route``, in the route's own template syntax, both matched exactly.
Without a route, the path (``url.path``, legacy ``http.target``, else the path of ``url.full``
or ``http.url``) is templated and matched by a regex on the attribute it came from.

Client spans key as ``POST api.stripe.com /v1/charges``: the method, the host of ``url.full``
(legacy ``http.url``) with its port unless that is 80 or 443, and the templated path; the
regex matcher is on the URL, the host is the URL's own so that key and matcher agree (the
conventions make ``server.address`` that host anyway). A client span with no absolute URL
needs a host attribute (``server.address``, ``net.peer.name``, ``http.host``) and a path:
both are then matched where they were found. Its port is left out, since a span without
one could not be told apart from a span with the default.

Templating: the query string and fragment are dropped (the regexes accept any), each path
segment is masked like a span name's token (``generic.mask_text``, cut at ``.`` and
friends, then at ``-`` and ``_``, so ``SKU-00123`` gives ``SKU-{id}``), and host names the
same way (``10.42.3.7`` gives ``{id}.{id}.{id}.{id}``). A static file, a path whose last
segment ends in a web asset's extension (``.js``, ``.css``, ``.woff2``, ``.png``...), keeps
only its first segment: ``/static/js/app.3f9a1c.js`` and ``/static/img/SKU-00123.webp`` both
give ``/static/{asset}``. Bundle hashes are too short or too varied for ``ids`` to mask
(``3f9a1c``, ``BXsG2k9a``), so masking pieces of the file name would leave a new pattern
after each deploy; one static mount (``/static``, ``/assets``, ``/_next``) serves them all,
and its files, however many, are one operation.

A method the instrumentation did not know is recorded as ``_OTHER``; its key reads ``HTTP``,
as the conventions name such spans. The status code never takes part.

A regex matcher cannot say that an attribute is missing, so two shapes of span of one
service and kind can overlap: a span with ``http.route`` also satisfies the path matcher of
a route-less span with the same templated path and method (its key differs by the route's
syntax). Within one instrumentation this does not happen.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from app.discovery.normalize.generic import escape, mask_text, mask_tokens
from app.discovery.normalize.ids import IN_HOST, IN_PATH, is_placeholder
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from connectors.spans import Span

_SEGMENT_SEPARATORS = (re.compile(r"([.,;:=+~@!$&'()*]+)"), re.compile(r"([-_]+)"))
_HOST_SEPARATORS = (re.compile(r"([.:\[\]]+)"), re.compile(r"([-_]+)"))

_STATIC_EXTENSIONS = (
    "js mjs cjs map css wasm webmanifest "
    "png jpg jpeg gif svg webp avif ico bmp "
    "woff woff2 ttf otf eot "
    "mp4 webm mp3 ogg"
).split()
"""Web assets. Not ``html``, ``json``, ``xml``, ``txt`` or ``pdf``: pages, API formats
(``/users.json``), sitemaps and generated documents are operations of their own. None is a
top-level domain, so an e-mail address never ends in one."""
_EXTENSION = "(?i:" + "|".join(_STATIC_EXTENSIONS) + ")"
_IS_EXTENSION = re.compile(_EXTENSION)
ASSET = "{asset}"
_ASSET_FILE = r"[^/?#]*\." + _EXTENSION  # the only segment: /favicon.ico
_ASSET_TAIL = r"[^?#]*\." + _EXTENSION  # below the first segment: /static/js/app.3f9a1c.js

_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
_OPTIONAL_QUERY = r"(?:[?#].*)?"
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)")
_ANY_ORIGIN = r"(?:[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)?"
_DEFAULT_PORTS = ("80", "443")
_OPTIONAL_DEFAULT_PORT = r"(?::(?:80|443))?"
_USERINFO = "{userinfo}@"
"""Shown in a key instead of a URL's user and password, which never reach a key."""

_SERVER_PATHS = ("url.path", "http.target")
_URLS = ("url.full", "http.url")
_HOSTS = ("server.address", "net.peer.name", "http.host")


def _text(raw: Any) -> str | None:
    """An attribute value as ``Matcher.value_of`` renders it; None when absent."""
    if raw is None or raw.__class__ is str:
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list) and len(raw) == 1:
        return str(raw[0])
    return str(raw)


def _first(attributes: dict[str, Any], names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``names`` the span carries, and its value as text."""
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return name, value if value.__class__ is str else _text(value) or ""
    return None


def _method(attributes: dict[str, Any]) -> tuple[str, str] | None:
    """The request method and the attribute it is in; None when there is none."""
    method = attributes.get("http.request.method")
    if method is not None:
        field = "http.request.method"
    else:
        method = attributes.get("http.method")
        if method is None:
            return None
        field = "http.method"
    if method.__class__ is not str:
        method = _text(method)
    return (field, method) if method else None


# --- templates (pure) ---------------------------------------------------------------------
#
# Raw paths and URLs are templated to text only, cached per raw input; the regex of a
# template is built from the template text (masking is idempotent), once per key.


_SEGMENTS: dict[str, str] = {}
_SEGMENTS_KEPT = 65536


def _segment_text(segment: str) -> str:
    """A path segment masked; remembered unless it is an id as a whole (seldom seen twice)."""
    text = _SEGMENTS.get(segment)
    if text is None:
        text = mask_text(segment, _SEGMENT_SEPARATORS)
        if not is_placeholder(text):
            if len(_SEGMENTS) >= _SEGMENTS_KEPT:
                _SEGMENTS.clear()
            _SEGMENTS[segment] = text
    return text


@lru_cache(maxsize=4096)
def _segment_regex(segment_text: str) -> str:
    return mask_tokens(segment_text, _SEGMENT_SEPARATORS, IN_PATH).regex


@lru_cache(maxsize=65536)
def host_text(host: str) -> str:
    """A host name with its ids masked: ``ip-{id}-{id}-{id}-{id}.ec2.internal``."""
    return mask_text(host, _HOST_SEPARATORS)


def path_text(path: str) -> str:
    """A URL path (no query string) with ids masked and static files collapsed.

    The empty path and ``/`` both give ``/``.
    """
    if path == "" or path == "/":
        return "/"
    segments = path.split("/")
    last = segments[-1]
    dot = last.rfind(".")
    if dot >= 0 and path[0] == "/" and _IS_EXTENSION.fullmatch(last, dot + 1):
        return f"/{_segment_text(segments[1])}/{ASSET}" if len(segments) > 2 else "/" + ASSET
    known = _SEGMENTS.get
    return "/".join(
        [
            text if (text := known(segment)) is not None else _segment_text(segment)
            for segment in segments
        ]
    )


def target_text(target: str) -> str:
    """A request target or path templated, its query string and fragment dropped."""
    cut = _QUERY_OR_FRAGMENT.search(target) if "?" in target or "#" in target else None
    return path_text(target if cut is None else target[: cut.start()])


@lru_cache(maxsize=4096)
def target_regex(text: str) -> str:
    """The regex of every target whose ``target_text`` is ``text``, with any query string."""
    if text == "/":
        return "/?" + _OPTIONAL_QUERY
    segments = text.split("/")
    if segments[-1] == ASSET and text[0] == "/":
        if len(segments) == 2:
            return "/" + _ASSET_FILE + _OPTIONAL_QUERY
        return f"/{_segment_regex(segments[1])}/{_ASSET_TAIL}{_OPTIONAL_QUERY}"
    return "/".join(map(_segment_regex, segments)) + _OPTIONAL_QUERY


class UrlParts(NamedTuple):
    """An absolute URL, templated: what its operation key and regex are made of."""

    scheme: str
    """``""`` for http and https, which share keys; any other scheme as written."""
    userinfo: bool
    host: str
    port: str
    """Digits as written, or ``""`` when absent or (for http and https) 80 or 443."""
    path: str


def url_parts(url: str) -> UrlParts | None:
    """The templated parts of an absolute URL; None for a relative one."""
    match = _URL.match(url)
    if match is None:
        return None
    scheme, authority = match.groups()
    user_end = authority.rfind("@") + 1
    host_port = authority[user_end:] if user_end else authority
    host, colon, port = host_port.rpartition(":")
    if not (colon and port.isascii() and port.isdigit()):
        host, port = host_port, ""
    if scheme == "http" or scheme == "https":
        scheme = ""
        if port in _DEFAULT_PORTS:
            port = ""
    return UrlParts(scheme, bool(user_end), host_text(host), port, target_text(url[match.end() :]))


def url_authority(parts: UrlParts) -> tuple[str, str]:
    """The authority of a URL as a key shows it, and the regex of URLs up to their path."""
    text = parts.host
    regex = mask_tokens(parts.host, _HOST_SEPARATORS, IN_HOST).regex
    if parts.userinfo:
        text = _USERINFO + text
        regex = "[^/?#]*@" + regex
    if parts.port:
        text += ":" + parts.port
        regex += ":" + parts.port
    elif not parts.scheme:
        regex += _OPTIONAL_DEFAULT_PORT
    if parts.scheme:
        return f"{parts.scheme}://{text}", f"{escape(parts.scheme)}://{regex}"
    return text, "https?://" + regex


# --- operations (built once per key and matcher fields) -----------------------------------


def _method_text(method: str) -> str:
    return "HTTP" if method == "_OTHER" else method


def _exact(field: str, value: str) -> Matcher:
    return Matcher(FieldType.SPAN_ATTRIBUTE, field, MatchType.EXACT, value)


def _regex(field: str, regex: str) -> Matcher:
    return Matcher(FieldType.SPAN_ATTRIBUTE, field, MatchType.REGEX, regex)


@lru_cache(maxsize=65536)
def _route_operation(method_field: str, method: str, route: str) -> Operation:
    return Operation(
        family=Family.HTTP_SERVER,
        key=f"{_method_text(method)} {route}",
        matchers=(_exact(method_field, method), _exact("http.route", route)),
        hints=MappingProxyType({"method": method, "route": route, "target": route}),
    )


@lru_cache(maxsize=16384)
def _server_path_operation(
    method_field: str, method: str, path_field: str, path: str, in_url: bool
) -> Operation:
    regex = target_regex(path)
    return Operation(
        family=Family.HTTP_SERVER,
        key=f"{_method_text(method)} {path}",
        matchers=(
            _exact(method_field, method),
            _regex(path_field, _ANY_ORIGIN + regex if in_url else regex),
        ),
        hints=MappingProxyType({"method": method, "target": path}),
    )


@lru_cache(maxsize=65536)
def _server_target(method_field: str, method: str, path_field: str, target: str) -> Operation:
    return _server_path_operation(method_field, method, path_field, target_text(target), False)


@lru_cache(maxsize=65536)
def _server_url(method_field: str, method: str, url_field: str, url: str) -> Operation:
    match = _URL.match(url)
    path = target_text(url if match is None else url[match.end() :])
    return _server_path_operation(method_field, method, url_field, path, True)


def normalize_http_server(span: Span) -> Operation | None:
    """``GET /products/:sku``, or ``GET /static/{asset}`` without a route; None without a
    method or anything that locates the request."""
    attributes = span.attributes
    found = _method(attributes)
    if found is None:
        return None
    method_field, method = found
    route = attributes.get("http.route")
    if route:
        return _route_operation(method_field, method, _text(route) or "")
    found = _first(attributes, _SERVER_PATHS)
    if found is not None:
        return _server_target(method_field, method, *found)
    found = _first(attributes, _URLS)
    if found is not None:
        return _server_url(method_field, method, *found)
    return None


@lru_cache(maxsize=16384)
def _client_url_operation(
    method_field: str, method: str, url_field: str, parts: UrlParts
) -> Operation:
    authority, origin_regex = url_authority(parts)
    return Operation(
        family=Family.HTTP_CLIENT,
        key=f"{_method_text(method)} {authority} {parts.path}",
        matchers=(
            _exact(method_field, method),
            _regex(url_field, origin_regex + target_regex(parts.path)),
        ),
        hints=MappingProxyType({"method": method, "peer": parts.host, "target": parts.path}),
    )


@lru_cache(maxsize=65536)
def _client_url(method_field: str, method: str, url_field: str, url: str) -> Operation | None:
    parts = url_parts(url)
    if parts is None:
        return None
    return _client_url_operation(method_field, method, url_field, parts)


@lru_cache(maxsize=16384)
def _client_parts_operation(
    method_field: str, method: str, host_field: str, host: str, path_field: str, path: str
) -> Operation:
    host_template = mask_tokens(host, _HOST_SEPARATORS, IN_HOST)
    if host_template.templated:
        host_matcher = _regex(host_field, host_template.regex)
    else:
        host_matcher = _exact(host_field, host)
    return Operation(
        family=Family.HTTP_CLIENT,
        key=f"{_method_text(method)} {host} {path}",
        matchers=(
            _exact(method_field, method),
            host_matcher,
            _regex(path_field, target_regex(path)),
        ),
        hints=MappingProxyType({"method": method, "peer": host, "target": path}),
    )


@lru_cache(maxsize=65536)
def _client_parts(
    method_field: str, method: str, host_field: str, host: str, path_field: str, target: str
) -> Operation:
    return _client_parts_operation(
        method_field, method, host_field, host_text(host), path_field, target_text(target)
    )


def normalize_http_client(span: Span) -> Operation | None:
    """``POST api.stripe.com /v1/charges``; None without a method, or without a URL and a
    host and path to stand in for it."""
    attributes = span.attributes
    found = _method(attributes)
    if found is None:
        return None
    method_field, method = found
    path_found = _first(attributes, _URLS)
    if path_found is not None:
        operation = _client_url(method_field, method, *path_found)
        if operation is not None:
            return operation
    else:
        path_found = _first(attributes, _SERVER_PATHS)
    host_found = _first(attributes, _HOSTS)
    if path_found is None or host_found is None or not host_found[1]:
        return None
    return _client_parts(method_field, method, *host_found, *path_found)


# --- keys read back (``app.discovery.normalize.positions``) -------------------------------


class UrlKey(NamedTuple):
    """An HTTP operation's key, read back into what it was made of."""

    method_text: str
    authority: UrlParts | None
    """For a client's URL: its parts, ``path`` included; None otherwise."""
    host: str
    """For a client matched by host and path attributes; ``""`` otherwise."""
    path: str


def read_key(operation: Operation) -> UrlKey | None:
    """What an HTTP operation's key says, when its path (and host) are templated text
    (not a server's ``http.route``, which is the instrumentation's own template)."""
    fields = operation.matcher_fields
    method_text, _, rest = operation.key.partition(" ")
    if operation.family is Family.HTTP_SERVER:
        if len(fields) != 2 or fields[1] == "http.route" or not rest or " " in rest:
            return None  # a route, or a split pattern's ``[attribute=value]``
        return UrlKey(method_text, None, "", rest)
    if operation.family is not Family.HTTP_CLIENT:
        return None
    authority, _, path = rest.partition(" ")
    if not path or " " in path:
        return None
    if len(fields) == 3:
        if fields[1] not in _HOSTS or fields[2] not in (*_URLS, *_SERVER_PATHS):
            return None
        return UrlKey(method_text, None, authority, path)
    if len(fields) != 2 or fields[1] not in _URLS:
        return None
    scheme = ""
    if "://" in authority:
        scheme, _, authority = authority.partition("://")
    userinfo = authority.startswith(_USERINFO)
    if userinfo:
        authority = authority[len(_USERINFO) :]
    host, colon, port = authority.rpartition(":")
    if not (colon and port.isascii() and port.isdigit()):
        host, port = authority, ""
    return UrlKey(method_text, UrlParts(scheme, userinfo, host, port, path), "", path)


def retemplated(operation: Operation, key: UrlKey) -> Operation:
    """The operation of the same fields whose key is ``key``: with a placeholder learned
    where a literal was (``/carts/{cart_id}/items``), its matchers say so."""
    fields = operation.matcher_fields
    method = operation.matchers[0].match_value
    if operation.family is Family.HTTP_SERVER:
        return _server_path_operation(fields[0], method, fields[1], key.path, fields[1] in _URLS)
    if key.authority is not None:
        parts = key.authority._replace(path=key.path)
        return _client_url_operation(fields[0], method, fields[1], parts)
    return _client_parts_operation(fields[0], method, fields[1], key.host, fields[2], key.path)
