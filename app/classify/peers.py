"""The role of whatever a span calls, as one or two words: ``api.stripe.com`` -> ``stripe``.

Host names (HTTP clients) come in two kinds:

- **In-cluster names** (``payment.shop.svc.cluster.local``, ``kafka-0.kafka-headless.shop``
  once the suffix is gone, ``inventory``, ``orders.internal``): the first label is the
  service, the rest is namespace and DNS plumbing. A pod ordinal (``kafka-0``) is dropped.
- **Public names** (``api.stripe.com``, ``hooks.slack.com``, ``smtp-relay.sendgrid.net``):
  the registered domain names the provider, which is what a reader recognises. Labels that
  name no one (``api``, ``www``, regions, RFC 2606's ``example``) are passed over, and on
  hosting platforms (``s3.amazonaws.com``, ``storage.googleapis.com``,
  ``shop.herokuapp.com``) the label before the platform is the role instead.

Addresses (``10.42.3.7``, or its template ``{id}.{id}.{id}.{id}``) have no role: None.

RPC services (``inventory.v1.InventoryService``) give their last component without the
``Service`` suffix: ``inventory``.
"""

from __future__ import annotations

import re

from app.classify.words import is_version, words

CLUSTER_SUFFIXES = (
    ".svc.cluster.local",
    ".cluster.local",
    ".svc",
    ".local",
    ".localdomain",
    ".internal",
    ".lan",
    ".home.arpa",
    ".consul",
)
"""DNS suffixes of names that resolve only inside a cluster, a VPC or a LAN."""

GENERIC_LABELS = frozenset(
    {
        "api",
        "apis",
        "www",
        "www2",
        "app",
        "svc",
        "service",
        "cluster",
        "local",
        "prod",
        "production",
        "staging",
        "stage",
        "dev",
        "test",
        "sandbox",
        "gateway",
        "edge",
        "cdn",
        "global",
        "example",
        "invalid",
        "localhost",
    }
)
"""Labels that say how a host is reached, not who answers. ``example`` and ``invalid`` are
reserved for documentation (RFC 2606), so they name no provider either."""

PLATFORM_DOMAINS = frozenset(
    {
        "amazonaws",
        "googleapis",
        "appspot",
        "cloudfunctions",
        "run",
        "azurewebsites",
        "windows",
        "azure",
        "herokuapp",
        "vercel",
        "netlify",
        "cloudfront",
        "workers",
        "firebaseio",
    }
)
"""Registered domains of hosting platforms: the label in front of them is the role."""

_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or"})
"""Second-level labels of country domains (``co.uk``, ``com.au``): part of the suffix."""
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
"""``eu-west-1``, ``us-east-2``, ``ap-southeast-1``, ``us-gov-west-1``."""
_ADDRESS = re.compile(
    r"(?:[0-9]+|\{id\})(?:\.(?:[0-9]+|\{id\})){3}|[0-9a-f:.{}id]*:[0-9a-f:.{}id]*"
)
"""An IPv4 address or its template (``{id}.{id}.{id}.{id}``), or an IPv6 address."""
_ORDINAL = re.compile(r"-[0-9]+$")


def is_cluster_host(host: str) -> bool:
    """Whether ``host`` is reached only from inside (a cluster, VPC or LAN name)."""
    name = _bare(host)
    return "." not in name or name.endswith(CLUSTER_SUFFIXES)


def peer_role(host: str) -> str | None:
    """The role of a host as snake_case words (``stripe``, ``smtp_relay``); None for an
    address or a name with nothing meaningful in it."""
    name = _bare(host)
    if not name or _ADDRESS.fullmatch(name):
        return None
    if name == "localhost":
        return "localhost"
    if is_cluster_host(name):
        for suffix in CLUSTER_SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        labels = [_ORDINAL.sub("", label) for label in name.split(".") if label]
        return _first_meaningful(labels)
    labels = name.split(".")[:-1]  # the top-level domain
    if len(labels) >= 2 and labels[-1] in _SECOND_LEVEL and len(name.split(".")[-1]) == 2:
        labels = labels[:-1]  # shop.co.uk: "co" is part of the suffix
    if not labels:
        return None
    if labels[-1] in PLATFORM_DOMAINS:
        return _first_meaningful(labels[:-1]) or _as_words(labels[-1])
    return _last_meaningful(labels)


def rpc_service_role(service: str) -> str | None:
    """``inventory.v1.InventoryService`` -> ``inventory``; ``grpc.health.v1.Health`` ->
    ``health``; None when nothing is left."""
    last = service.strip("/").rsplit(".", 1)[-1]
    found = words(last)
    if len(found) > 1 and found[-1] in ("service", "svc", "api"):
        found = found[:-1]
    return "_".join(found) or None


def _bare(host: str) -> str:
    """Lower case, without port, brackets or a trailing dot."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("["):  # [::1]:8080
        return name[1 : name.find("]")] if "]" in name else name[1:]
    if name.count(":") == 1:
        name = name.split(":", 1)[0]
    return name


def _meaningful(label: str) -> bool:
    return bool(
        label
        and label not in GENERIC_LABELS
        and not _REGION.fullmatch(label)
        and not is_version(label)
        and "{" not in label
        and words(label)
    )


def _first_meaningful(labels: list[str]) -> str | None:
    for label in labels:
        if _meaningful(label):
            return _as_words(label)
    return None


def _last_meaningful(labels: list[str]) -> str | None:
    for label in reversed(labels):
        if _meaningful(label):
            return _as_words(label)
    return None


def _as_words(label: str) -> str:
    return "_".join(words(label))
