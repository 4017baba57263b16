"""Building Chroma clients: on disk in the data directory, or a server by URL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from retrieval.pattern_index import http_client, persistent_client, server_address


def test_the_persistent_client_keeps_its_files_under_the_data_directory(tmp_path: Path) -> None:
    client = persistent_client(tmp_path / "data")
    client.create_collection("patterns_default", embedding_function=None)
    assert (tmp_path / "data" / "chroma" / "chroma.sqlite3").is_file()
    assert client.get_settings().anonymized_telemetry is False


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://chroma:8000", ("chroma", 8000, False)),
        ("http://chroma", ("chroma", 8000, False)),  # Chroma's own default port
        ("https://chroma.example.com", ("chroma.example.com", 443, True)),
        ("https://chroma.example.com:8443/", ("chroma.example.com", 8443, True)),
        ("http://[::1]:9000", ("::1", 9000, False)),
    ],
)
def test_server_urls(url: str, address: tuple[str, int, bool]) -> None:
    assert server_address(url) == address


@pytest.mark.parametrize(
    "url",
    [
        "chroma:8000",  # no scheme
        "grpc://chroma:8000",
        "http://chroma:8000/api/v2",  # Chroma's client adds its own path
        "http://chroma:8000?tenant=a",
    ],
)
def test_server_urls_chroma_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="Chroma server URL"):
        server_address(url)


def test_the_server_client_sends_the_token_to_the_url(no_network: respx.MockRouter) -> None:
    """A Chroma server faked at the HTTP layer: the client checks it when it is made."""
    base = "https://chroma.test:8443/api/v2"
    identity = no_network.get(f"{base}/auth/identity").respond(
        json={"user_id": "", "tenant": "default_tenant", "databases": ["default_database"]}
    )
    no_network.get(f"{base}/tenants/default_tenant").respond(json={"name": "default_tenant"})
    no_network.get(f"{base}/tenants/default_tenant/databases/default_database").respond(
        json={
            "id": "00000000-0000-0000-0000-000000000000",
            "name": "default_database",
            "tenant": "default_tenant",
        }
    )

    no_network.get(f"{base}/heartbeat").respond(json={"nanosecond heartbeat": 1})

    client = http_client("https://chroma.test:8443", token="s3cret")

    request: httpx.Request = identity.calls.last.request
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert all(call.request.url.host == "chroma.test" for call in no_network.calls)
    session = client._server._session  # type: ignore[attr-defined]
    assert session.timeout.read == 60.0 and session.timeout.connect == 5.0  # never waits forever


def test_a_chroma_server_that_does_not_answer_is_a_clear_error(
    no_network: respx.MockRouter,
) -> None:
    no_network.get("http://chroma.test:8000/api/v2/heartbeat").mock(
        side_effect=httpx.ConnectTimeout("no answer")
    )
    with pytest.raises(ConnectionError, match="does not answer its heartbeat.*SPANWISE_CHROMA_URL"):
        http_client("http://chroma.test:8000")
