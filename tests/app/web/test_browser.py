"""The explorer in headless Chromium, driven as a person would use it.

Each test leaves screenshots in the artifacts folder (see ``conftest``). The browser tests
share one server; each changes only patterns that no other test looks at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from app.classify.store import ClassificationStore
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore
from tests.app.web.conftest import (
    IMAGE,
    MARKED_TRACE,
    SCRIPT,
    RunningServer,
    assert_quiet,
    copy_store,
    start_server,
)

Screenshot = Callable[[str], Path]
STRIPE = "http_call_stripe_post_charges"
PRODUCTS = "http_server_frontend_get_products"


def wait_for(browser: WebDriver, found: Callable[[WebDriver], object], seconds: float = 10) -> None:
    # A page that re-renders part of itself can swap an element out between finding it and
    # reading it: look again rather than fail.
    WebDriverWait(
        browser,
        seconds,
        poll_frequency=0.05,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(found)


def row_names(browser: WebDriver) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.pattern-row")
    return [str(row.get_attribute("data-name")) for row in rows]


def heading(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def test_search_open_a_pattern_then_a_sample_trace(
    browser: WebDriver, server: RunningServer, screenshot: Screenshot
) -> None:
    browser.get(server.url + "/")
    assert heading(browser) == "Span patterns" and len(row_names(browser)) > 100
    screenshot("01-patterns")

    search = browser.find_element(By.ID, "search")
    search.send_keys("stripe charges", Keys.ENTER)
    # The list filters as one types, then the search page loads: wait for the loaded one.
    wait_for(
        browser,
        lambda b: "q=stripe" in b.current_url and STRIPE in row_names(b) and len(row_names(b)) < 5,
    )
    screenshot("02-search")

    browser.find_element(By.LINK_TEXT, STRIPE).click()
    wait_for(browser, lambda b: heading(b) == STRIPE)
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    assert len(charts) == 4  # durations, request rate, latency, errors
    assert browser.find_elements(By.CSS_SELECTOR, "text.marker-p99")
    assert (
        "payment calls POST api.stripe.com/v1/charges"
        in browser.find_element(By.ID, "description").text
    )
    screenshot("03-pattern")
    assert_quiet(browser)

    slowest = browser.find_element(By.CSS_SELECTOR, "table[data-kind=slowest] a.trace-link")
    trace_id = slowest.text
    slowest.click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "waterfall"))
    assert browser.find_element(By.ID, "trace-id").text == trace_id
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.span-row")
    assert len(rows) >= 2
    chip = browser.find_element(By.CSS_SELECTOR, f"a.pattern-chip[href='/patterns/{STRIPE}']")
    row = chip.find_element(By.XPATH, "./ancestor::tr")
    row.click()  # opens the span's attributes
    detail = browser.find_element(
        By.CSS_SELECTOR, f"tr[data-detail='{row.get_attribute('data-span')}']"
    )
    assert detail.is_displayed() and "https://api.stripe.com/v1/charges" in detail.text
    screenshot("04-trace")
    assert_quiet(browser)

    chip.click()
    wait_for(browser, lambda b: heading(b) == STRIPE)

    browser.get(server.url + "/services")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#service-map g.node")) >= 7
    screenshot("05-services")
    assert_quiet(browser)


def test_reclassify_a_pattern_from_its_page(
    browser: WebDriver, server: RunningServer, screenshot: Screenshot
) -> None:
    name = "http_server_cart_get_cart"
    browser.get(f"{server.url}/patterns/{name}")
    assert "verdict-keep" in browser.find_element(By.ID, "verdict").get_attribute("innerHTML")
    form = browser.find_element(By.ID, "form-verdict")
    form.find_element(By.CSS_SELECTOR, "input[value=noise]").click()
    form.find_element(By.NAME, "reason").send_keys("Covered by the checkout flow's own pattern.")
    browser.find_element(By.ID, "author").send_keys("ana")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    wait_for(
        browser,
        lambda b: "verdict-noise" in b.find_element(By.ID, "verdict").get_attribute("innerHTML"),
    )
    assert (
        "Verdict of http_server_cart_get_cart set to noise."
        in browser.find_element(By.ID, "flash").text
    )
    assert (
        browser.find_element(By.ID, "reasoning").text
        == "Covered by the checkout flow's own pattern."
    )
    history = browser.find_element(By.ID, "history").text
    assert "verdict → noise" in history and "ana" in history and "checkout flow" in history
    screenshot("06-reclassified")
    assert_quiet(browser)

    store = PatternStore(pattern_store_path(server.data_dir))
    corrections = ClassificationStore(store).corrections()
    assert [(c.field, c.value, c.author) for c in corrections] == [("verdict", "noise", "ana")]


def test_a_correction_the_page_cannot_make_says_why(
    browser: WebDriver, server: RunningServer
) -> None:
    browser.get(f"{server.url}/patterns/http_server_cart_get_healthz")
    form = browser.find_element(By.ID, "form-rename")
    field = form.find_element(By.NAME, "value")
    field.clear()
    field.send_keys(STRIPE)  # another pattern's name
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    error = form.find_element(By.CLASS_NAME, "form-error")
    wait_for(browser, lambda _b: error.is_displayed())
    assert "is already another pattern's name" in error.text
    assert heading(browser) == "http_server_cart_get_healthz"


def test_ask_a_question_with_at_autocomplete(
    browser: WebDriver, server: RunningServer, screenshot: Screenshot
) -> None:
    browser.get(server.url + "/chat")
    box = browser.find_element(By.ID, "question")
    box.send_keys("Hi @http_server_frontend_get_pro")
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#suggestions li"))
    first = browser.find_element(By.CSS_SELECTOR, "#suggestions li")
    assert first.get_attribute("data-name") == PRODUCTS
    assert first.get_attribute("aria-selected") == "true"
    screenshot("07-chat-autocomplete")
    box.send_keys(Keys.ENTER)  # takes the highlighted name
    assert box.get_attribute("value") == f"Hi @{PRODUCTS} "
    box.send_keys("why is this slow?", Keys.ENTER)

    answer = browser.find_element(By.CSS_SELECTOR, ".turn-answer")
    wait_for(browser, lambda _b: answer.find_elements(By.CSS_SELECTOR, ".citations"))
    text = answer.find_element(By.CSS_SELECTOR, ".answer-text")
    assert "streaming" not in str(text.get_attribute("class"))
    assert "Latency over" in text.text and "p99" in text.text
    cited = answer.find_element(By.CSS_SELECTOR, f".citation a[href='/patterns/{PRODUCTS}']")
    assert cited.text == PRODUCTS
    traces = answer.find_elements(By.CSS_SELECTOR, ".citation a[href^='/traces/']")
    assert traces
    assert text.find_elements(By.CSS_SELECTOR, f"a[href='/patterns/{PRODUCTS}']")  # @name linked
    screenshot("08-chat")

    box.send_keys("and its error rate?", Keys.ENTER)  # a follow-up: the same pattern
    wait_for(
        browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, ".turn-answer .citations")) == 2
    )
    follow_up = browser.find_elements(By.CSS_SELECTOR, ".turn-answer")[1]
    assert PRODUCTS in follow_up.text
    assert_quiet(browser)

    traces[0].click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "waterfall"))
    assert_quiet(browser)


def test_markup_in_span_data_shows_as_text_and_never_runs(
    browser: WebDriver, server: RunningServer, screenshot: Screenshot
) -> None:
    browser.get(f"{server.url}/traces/{MARKED_TRACE}")
    for row in browser.find_elements(By.CSS_SELECTOR, "tr.span-row"):
        row.click()
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.span-row .span-name")]
    assert f"render {IMAGE}" in names
    values = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "table.attributes td")]
    assert SCRIPT in values
    assert f"failed: {SCRIPT}" in browser.find_element(By.ID, "waterfall").text
    injected = browser.execute_script(
        "return document.querySelectorAll('img[src=x], script:not([src]), [onerror]').length"
    )
    assert injected == 0
    screenshot("09-markup-as-text")
    assert_quiet(browser)

    browser.get(f"{server.url}/patterns/{PRODUCTS}")
    sample = browser.find_element(By.CSS_SELECTOR, "table[data-kind=slowest] tr.sample details")
    sample.find_element(By.TAG_NAME, "summary").click()
    assert SCRIPT in sample.text
    browser.get(f"{server.url}/?q=render")
    assert "render <img src=x onerror=alert({id})>" in browser.find_element(By.ID, "patterns").text
    assert_quiet(browser)


def test_merge_and_split_from_pattern_pages(
    browser: WebDriver, server: RunningServer, screenshot: Screenshot
) -> None:
    browser.get(f"{server.url}/patterns/redis_cache_del_cart_user")
    merge = browser.find_element(By.ID, "form-merge")
    Select(merge.find_element(By.NAME, "into")).select_by_value("redis_cache_expire_cart_user")
    merge.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda b: heading(b) == "redis_cache_expire_cart_user")
    assert "merged into redis_cache_expire_cart_user" in browser.find_element(By.ID, "flash").text
    browser.get(f"{server.url}/patterns/redis_cache_del_cart_user")  # the old name still works
    assert heading(browser) == "redis_cache_expire_cart_user"

    browser.get(f"{server.url}/patterns/http_server_frontend_get_static")
    split = browser.find_element(By.ID, "form-split")
    split.find_element(By.NAME, "by").send_keys("http.response.status_code")
    split.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The demo's spans were pushed: they cannot be read again, so the page asks first.
    error = split.find_element(By.CLASS_NAME, "form-error")
    wait_for(browser, lambda _b: error.is_displayed())
    assert "cannot be read again" in error.text
    split.find_element(By.NAME, "force").click()
    split.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    result = split.find_element(By.CLASS_NAME, "form-result")
    wait_for(browser, lambda _b: result.is_displayed())
    links = result.find_elements(By.TAG_NAME, "a")
    assert len(links) == 2 and "Not replayed: spans pushed to the receiver" in result.text
    screenshot("10-split")
    made = links[0].text
    links[0].click()
    wait_for(browser, lambda b: heading(b) == made)
    # Split parts are classified right away: they have a verdict and a description.
    assert "Not classified yet" not in browser.find_element(By.TAG_NAME, "main").text
    assert_quiet(browser)


def test_a_correction_made_in_the_page_survives_a_restart(
    browser: WebDriver, explorer_store: Path, tmp_path: Path, screenshot: Screenshot
) -> None:
    data_dir = copy_store(explorer_store, tmp_path / "restart")
    described = "Finds the products related to the one a shopper looks at."
    first = start_server(data_dir)
    try:
        browser.get(f"{first.url}/patterns/http_server_search_get_related")
        form = browser.find_element(By.ID, "form-description")
        field = form.find_element(By.NAME, "value")
        field.clear()
        field.send_keys(described)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(browser, lambda b: b.find_element(By.ID, "description").text == described)
        rename = browser.find_element(By.ID, "form-rename")
        name = rename.find_element(By.NAME, "value")
        name.clear()
        name.send_keys("search_related_products")
        rename.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(browser, lambda b: heading(b) == "search_related_products")
    finally:
        first.stop()

    second = start_server(data_dir)  # a new app instance on the same data
    try:
        browser.get(f"{second.url}/patterns/http_server_search_get_related")
        wait_for(browser, lambda b: heading(b) == "search_related_products")
        assert browser.find_element(By.ID, "description").text == described
        assert "is an old name of this pattern" in browser.find_element(By.TAG_NAME, "main").text
        screenshot("11-after-restart")
        assert_quiet(browser)
    finally:
        second.stop()


@pytest.fixture(autouse=True)
def _fresh_page(browser: WebDriver) -> None:
    """Each test starts from a blank page, whatever the last one left open."""
    browser.get("about:blank")
