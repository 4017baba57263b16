"""Who a span calls, in a word or two: host names and RPC services to peer roles."""

from __future__ import annotations

import pytest

from app.classify.peers import is_cluster_host, peer_role, rpc_service_role


@pytest.mark.parametrize(
    ("host", "role"),
    [
        ("api.stripe.com", "stripe"),
        ("api.shipengine.com", "shipengine"),
        ("API.Stripe.COM.", "stripe"),  # case and the root dot do not matter
        ("api.stripe.com:443", "stripe"),
        ("hooks.slack.com", "slack"),  # public: the registered domain is the provider
        ("api.github.com", "github"),
        ("smtp-relay.example.net", "smtp_relay"),  # example is RFC 2606's, it names no one
        ("smtp-relay.sendgrid.net", "sendgrid"),
        ("shop.co.uk", "shop"),  # co.uk is one suffix
        ("payments.eu-west-1.example.com", "payments"),  # regions name no one either
        ("s3.eu-west-1.amazonaws.com", "s3"),  # platforms: the service in front of them
        ("storage.googleapis.com", "storage"),
        ("my-shop.herokuapp.com", "my_shop"),
        ("payment.shop.svc.cluster.local", "payment"),  # in-cluster: the first label
        ("search.shop.svc.cluster.local:8000", "search"),
        ("kafka-0.kafka-headless.shop.svc.cluster.local", "kafka"),  # pod ordinal dropped
        ("orders.internal", "orders"),
        ("ip-{id}-{id}-{id}-{id}.ec2.internal", "ec2"),  # a templated address label
        ("inventory", "inventory"),
        ("inventory:50051", "inventory"),
        ("localhost:8080", "localhost"),
        ("10.42.3.7", None),  # addresses have no role
        ("{id}.{id}.{id}.{id}", None),
        ("[::1]:8080", None),
        ("", None),
    ],
)
def test_peer_role_of_host(host: str, role: str | None) -> None:
    assert peer_role(host) == role


@pytest.mark.parametrize(
    ("host", "inside"),
    [
        ("payment.shop.svc.cluster.local", True),
        ("inventory:50051", True),
        ("orders.internal", True),
        ("api.stripe.com", False),
        ("smtp-relay.example.net", False),
    ],
)
def test_cluster_hosts_are_told_from_public_ones(host: str, inside: bool) -> None:
    assert is_cluster_host(host) is inside


@pytest.mark.parametrize(
    ("service", "role"),
    [
        ("inventory.v1.InventoryService", "inventory"),
        ("grpc.health.v1.Health", "health"),
        ("helloworld.Greeter", "greeter"),
        ("/shop.PaymentAPI", "payment"),
        ("OrderHistoryService", "order_history"),
        ("Service", "service"),  # nothing else to keep
        ("", None),
    ],
)
def test_rpc_service_role(service: str, role: str | None) -> None:
    assert rpc_service_role(service) == role
