"""The review page in a real browser (Debian's headless chromium, installed by `make browser`):
a reviewer connects with a key, compares rule and model, and decides."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from api_key_factory import make_key
from role_model_factory import AUDIENCE, INTEREST, seed_review_crm, train_role_model
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import Engine

from buying_groups.settings import Settings
from serving.app import create_app
from serving.models import LoadedModel, ModelSet


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless chromium driven through chromedriver; fails (never skips) when missing."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "run `make browser` (Debian chromium + chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[str, str]]:
    """The app on a real port with the review CRM, a loaded role model and two open reviews;
    yields its base URL and a write key."""
    seed_review_crm(engine)
    settings = Settings(models_enabled=False, webhooks_enabled=False)
    app = create_app(settings, engine=engine)
    loaded = LoadedModel("role-secure-edge", "3", "models:/x@champion", train_role_model())
    app.state.models.current = ModelSet(roles={INTEREST: loaded})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    key = make_key(engine, ["write"])
    try:
        _wait(lambda: uvicorn_server.started)
        body = {"solution_interest": INTEREST, "audience": AUDIENCE, "mode": "hybrid"}
        job = httpx.post(f"{base}/v1/generation-jobs", json=body, headers={"X-API-Key": key})
        location = base + job.headers["Location"]
        _wait(lambda: _get(location, key)["state"] == "succeeded")
        yield base, key
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


def _get(url: str, key: str) -> Any:
    return httpx.get(url, headers={"X-API-Key": key}).json()


def _wait(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _connect(browser: WebDriver, base: str, key: str) -> None:
    browser.get(f"{base}/review")  # the old address leads to the web app's review page
    browser.execute_script("sessionStorage.clear()")
    browser.execute_script("sessionStorage.setItem('bg-reviewer', 'ana@example.com')")
    browser.get(f"{base}/ui/review")
    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#connect button").click()


def _rows(browser: WebDriver) -> list[WebElement]:
    return browser.find_elements(By.CSS_SELECTOR, "#reviews tbody tr[data-review]")


def _open_queue(browser: WebDriver, server: tuple[str, str]) -> tuple[str, str, WebDriverWait]:
    """Connect as a reviewer and wait for the two open reviews; base URL, key, a waiter."""
    base, key = server
    _connect(browser, base, key)
    wait = WebDriverWait(browser, 15)
    wait.until(lambda b: len(_rows(b)) == 2)
    return base, key, wait


def test_a_reviewer_compares_and_accepts_the_rule(
    browser: WebDriver, server: tuple[str, str]
) -> None:
    base, key, wait = _open_queue(browser, server)
    WebDriverWait(browser, 15).until(
        lambda b: "agree on" in b.find_element(By.ID, "agreement").text
    )
    assert browser.find_element(By.ID, "total").text == "(2 open)"

    (row,) = [r for r in _rows(browser) if "rule and model disagree" in r.text]
    cells = row.find_elements(By.TAG_NAME, "td")
    assert "Decision Maker" in cells[1].text  # the rule
    assert "No role" in cells[2].text and "confidence" in cells[2].text  # the model
    row.find_element(By.CSS_SELECTOR, "button[data-decision=accept_rule]").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "status"), "accept"))
    decided = row.find_element(By.CSS_SELECTOR, ".decided").text
    assert decided == "accept rule → Decision Maker (ana@example.com)"
    assert browser.find_element(By.ID, "total").text == "(1 open)"  # the count is live

    # The decision reached the group as a manual change.
    group = _get(f"{base}/v1/buying-groups/{INTEREST}/A1", key)
    (member,) = [m for m in group["member_list"] if m["person_external_id"] == "P4"]
    assert (member["source"], member["role"]) == ("manual", "Decision Maker")

    # The open queue no longer lists it; the decided one does.
    Select(browser.find_element(By.ID, "state")).select_by_value("decided")
    wait.until(lambda b: browser.find_element(By.ID, "total").text == "(1)")
    assert "accept rule" in _rows(browser)[0].text


def test_another_role_is_chosen_from_the_catalogue(
    browser: WebDriver, server: tuple[str, str]
) -> None:
    _open_queue(browser, server)
    row = _rows(browser)[0]
    Select(row.find_element(By.TAG_NAME, "select")).select_by_visible_text("Influencer")
    row.find_element(By.CSS_SELECTOR, "button[data-decision=other_role]").click()
    WebDriverWait(browser, 15).until(
        lambda b: (
            "other role → Influencer" in row.find_element(By.TAG_NAME, "td").text
            or bool(row.find_elements(By.CSS_SELECTOR, ".decided"))
        )
    )
    assert "other role → Influencer" in row.find_element(By.CSS_SELECTOR, ".decided").text


def test_a_wrong_key_is_told_plainly(browser: WebDriver, server: tuple[str, str]) -> None:
    base, _ = server
    _connect(browser, base, "bgk_wrong_key")
    WebDriverWait(browser, 15).until(
        expected_conditions.text_to_be_present_in_element((By.ID, "status"), "not valid")
    )
    # The filter bar stays hidden until connected (CSS no longer overrides `hidden`).
    assert not browser.find_element(By.ID, "filters").is_displayed()


def test_the_keyboard_moves_between_rows_and_decides(
    browser: WebDriver, server: tuple[str, str]
) -> None:
    base, key, wait = _open_queue(browser, server)
    first, second = _rows(browser)
    assert "model unsure" in first.text and "rule and model disagree" in second.text
    browser.execute_script("arguments[0].focus()", first)
    ActionChains(browser).send_keys("j").perform()
    assert browser.switch_to.active_element == second
    ActionChains(browser).send_keys("r").perform()  # accept the rule (Decision Maker)
    wait.until(lambda b: bool(second.find_elements(By.CSS_SELECTOR, ".decided")))
    ActionChains(browser).send_keys("k").perform()
    assert browser.switch_to.active_element == first
    ActionChains(browser).send_keys("r").perform()  # no rule to accept: nothing happens
    ActionChains(browser).send_keys("m").perform()  # accept the model (Practitioner)
    # The page is done: it loads what comes next in the open queue (nothing here).
    wait.until(lambda b: "Nothing to review" in b.find_element(By.ID, "reviews").text)
    decided = _get(f"{base}/v1/reviews?state=decided", key)["items"]
    assert {(d["person_external_id"], d["decision"], d["decided_role"]) for d in decided} == {
        ("P4", "accept_rule", "Decision Maker"),
        ("P6", "accept_model", "Practitioner"),
    }
