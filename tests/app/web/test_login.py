"""Signing in to a Spanwise that requires tokens: the page's cookie, and what guards it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from app.auth.tokens import Role, TokenStore, auth_store_path
from tests.app.web.conftest import copy_store, make_app, start_server

HTML = {"Accept": "text/html"}
SAME_SITE = {"Origin": "http://testserver"}


@pytest.fixture
def token(data_dir: Path) -> str:
    return TokenStore(auth_store_path(data_dir)).create("default", Role.WRITE)[1]


@pytest.fixture
def client(data_dir: Path, token: str) -> Iterator[TestClient]:
    with TestClient(make_app(data_dir, auth_required=True), follow_redirects=False) as served:
        yield served


def test_a_page_without_a_token_sends_the_browser_to_sign_in(client: TestClient) -> None:
    answer = client.get("/services?x=1", headers=HTML)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fservices%3Fx%3D1"
    assert client.get("/api/patterns", headers=HTML).status_code == 401  # the API: no page
    page = client.get("/login?next=/services")
    assert page.status_code == 200 and 'name="token"' in page.text
    assert "script-src" in page.headers["content-security-policy"]


def test_signing_in_sets_a_cookie_scripts_and_other_sites_cannot_use(
    client: TestClient, token: str
) -> None:
    wrong = client.post("/login", data={"token": "sw_nope_x", "next": "/"}, headers=SAME_SITE)
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    forged = client.post("/login", data={"token": token, "next": "/"})
    assert forged.status_code == 403  # no Origin: not from this site's form

    answer = client.post("/login", data={"token": token, "next": "/services"}, headers=SAME_SITE)
    assert answer.status_code == 303 and answer.headers["location"] == "/services"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert client.get("/services", headers=HTML).status_code == 200

    away = client.post(
        "/login", data={"token": token, "next": "https://evil.example/x"}, headers=SAME_SITE
    )
    assert away.headers["location"] == "/"  # never a redirect to another site
    out = client.post("/logout", headers=SAME_SITE)
    assert out.status_code == 303 and 'spanwise_token=""' in out.headers["set-cookie"]


def test_a_person_signs_in_with_a_token_in_the_browser(
    browser: WebDriver,
    explorer_store: Path,
    tmp_path: Path,
    screenshot: Callable[[str], Path],
) -> None:
    data_dir = copy_store(explorer_store, tmp_path / "signed")
    token = TokenStore(auth_store_path(data_dir)).create("default", Role.READ)[1]
    running = start_server(data_dir, auth_required=True)
    try:
        browser.delete_all_cookies()
        browser.get(f"{running.url}/services")
        wait = WebDriverWait(browser, 10, poll_frequency=0.05)
        wait.until(lambda b: "/login" in b.current_url)
        screenshot("12-sign-in")
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.CSS_SELECTOR, ".login-form button").click()
        wait.until(lambda b: b.current_url.endswith("/services"))
        assert browser.find_element(By.TAG_NAME, "h1").text
        assert browser.get_cookie("spanwise_token") is not None
        assert "spanwise_token" not in str(browser.execute_script("return document.cookie"))
    finally:
        browser.delete_all_cookies()
        running.stop()
