"""``spanwise serve`` bound to a real address that is not loopback, in a network namespace.

The server runs in its own namespace, reached over a veth pair from this test's side, as
a machine on the network would reach it. Needs root and iproute2 (CI has both); skipped
elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from app.auth.tokens import Role, TokenStore, auth_store_path

PORT = 8765
REPO = Path(__file__).resolve().parents[3]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _can_make_namespaces() -> bool:
    if shutil.which("ip") is None or os.geteuid() != 0:
        return False
    probe = f"swprobe{os.getpid() % 100000}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError:
        return False
    _ip("netns", "del", probe)
    return True


@pytest.fixture
def server(tmp_path: Path, no_network: respx.MockRouter) -> Iterator[tuple[str, dict[str, str]]]:
    if not _can_make_namespaces():
        pytest.skip("needs root and iproute2 to make a network namespace")
    tag = os.getpid() % 250
    namespace, host_end, far_end = f"sw{tag}", f"swh{tag}", f"swn{tag}"
    near, far = f"10.213.{tag}.1", f"10.213.{tag}.2"
    tokens = TokenStore(auth_store_path(tmp_path))
    made = {"read": tokens.create("default", Role.READ)[1]}
    tokens.close()
    _ip("netns", "add", namespace)
    process: subprocess.Popen[bytes] | None = None
    log = tmp_path / "serve.log"
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", far_end)
        _ip("link", "set", far_end, "netns", namespace)
        _ip("addr", "add", f"{near}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        _ip("-n", namespace, "addr", "add", f"{far}/30", "dev", far_end)
        _ip("-n", namespace, "link", "set", far_end, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        command = [sys.executable, "-c", "from app.cli.main import main; main()"]
        command += ["--data-dir", str(tmp_path), "serve", "--host", far, "--port", str(PORT)]
        with log.open("wb") as output:
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *command],
                cwd=REPO,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        base = f"http://{far}:{PORT}"
        no_network.route(host=far).pass_through()
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"spanwise serve did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield base, made
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)


def test_every_route_needs_a_token_and_read_tokens_cannot_correct(
    server: tuple[str, dict[str, str]],
) -> None:
    base, token = server
    read = {"Authorization": f"Bearer {token['read']}"}
    schema = httpx.get(f"{base}/openapi.json", headers=read, timeout=5).json()
    assert httpx.get(f"{base}/openapi.json", timeout=5).status_code == 401
    for path, item in schema["paths"].items():
        if path in ("/healthz", "/readyz") or path.startswith("/slack/"):
            continue
        concrete = path.replace("{name}", "a_pattern").replace("{trace_id}", "abc123")
        for method in item:
            answer = httpx.request(method.upper(), f"{base}{concrete}", json={}, timeout=5)
            assert answer.status_code == 401, (method, path, answer.text)
    assert httpx.get(f"{base}/api/patterns", headers=read, timeout=5).status_code == 200
    corrected = httpx.post(
        f"{base}/api/patterns/a_pattern/corrections",
        json={"field": "verdict", "value": "noise", "reason": "probe"},
        headers=read,
        timeout=5,
    )
    assert corrected.status_code == 403
