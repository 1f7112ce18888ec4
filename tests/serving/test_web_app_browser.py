"""The web app in a real browser (Debian's headless chromium) against the app on 127.0.0.1
with the small demo CRM, a role model for Secure Edge and the reviews of a hybrid run: log
in, filter, open a group, move its stage, add a member, decide a review and see the group
change, read the dashboard and the offline API docs, and fit a 400 px screen.

One seeded app and one browser serve the whole module; each test works on its own groups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pytest
from api_key_factory import make_key
from browser_harness import (
    NARROW,
    WIDE,
    chromium,
    log_in,
    screenshot,
    scrolls_sideways,
    serve,
    set_width,
    severe_console_errors,
    wait_for,
)
from role_model_factory import train_role_model
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import Engine

from buying_groups.settings import Settings
from buying_groups.storage.database import make_engine, upgrade
from buying_groups_demo.seed import seed_demo
from serving.app import create_app
from serving.models import LoadedModel, ModelSet

INTEREST, AUDIENCE = "Secure Edge", "All accounts"


@dataclass(frozen=True)
class Site:
    """The running app: its address and a write key."""

    base: str
    key: str

    def get(self, path: str, **params: Any) -> Any:
        """A JSON answer of the API."""
        answer = httpx.get(self.base + path, params=params, headers={"X-API-Key": self.key})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def group(self, account: str, interest: str = INTEREST) -> Any:
        """A group as the API reads it."""
        return self.get(f"/v1/buying-groups/{quote(interest)}/{account}")


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of its own with the small demo CRM and its groups."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('web') / 'demo.db'}")
    upgrade(engine)
    seed_demo(engine, "small")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def site(demo_engine: Engine) -> Iterator[Site]:
    """The app with a role model for Secure Edge, after a hybrid run (which files reviews)."""
    app = create_app(Settings(models_enabled=False, webhooks_enabled=False), engine=demo_engine)
    model = LoadedModel(
        "role-secure-edge", "3", "models:/role-secure-edge@champion", train_role_model()
    )
    app.state.models.current = ModelSet(roles={INTEREST: model})
    key = make_key(demo_engine, ["write"])
    with serve(app) as base:
        body = {"solution_interest": INTEREST, "audience": AUDIENCE, "mode": "hybrid"}
        job = httpx.post(f"{base}/v1/generation-jobs", json=body, headers={"X-API-Key": key})
        assert job.status_code == 202, job.text
        running = Site(base, key)
        wait_for(lambda: running.get(job.headers["Location"])["state"] == "succeeded", 60)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless chromium for the module."""
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture
def logged_in(browser: WebDriver, site: Site) -> WebDriver:
    """The browser at full width, logged in on the groups page."""
    set_width(browser, WIDE)
    log_in(browser, site.base, site.key)
    _rows(browser)
    return browser


def _rows(browser: WebDriver) -> list[Any]:
    """The groups listed, once they are there."""
    wait = WebDriverWait(browser, 15)
    wait.until(lambda b: b.find_elements(By.ID, "count"))
    return browser.find_elements(By.CSS_SELECTOR, "table.groups tbody tr")


def _text(browser: WebDriver, css: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, css).text)


def test_the_data_needs_a_login_and_a_wrong_key_is_told_plainly(
    browser: WebDriver, site: Site
) -> None:
    set_width(browser, WIDE)
    log_in(browser, site.base, "bgk_wrong_key")
    WebDriverWait(browser, 15).until(lambda b: "not valid" in _text(b, "#status"))
    assert not browser.find_elements(By.CSS_SELECTOR, "table.groups")
    assert browser.find_element(By.ID, "connect").is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('bg-api-key')") is None


def test_a_marketer_filters_sorts_and_downloads_groups(logged_in: WebDriver, site: Site) -> None:
    browser = logged_in
    everything = site.get("/v1/buying-groups", limit=1)["total"]
    assert _text(browser, "#count").startswith(f"{everything} groups")
    assert len(_rows(browser)) == 25

    form = browser.find_element(By.CSS_SELECTOR, "form.filters")
    Select(form.find_element(By.NAME, "solution_interest")).select_by_visible_text(INTEREST)
    Select(form.find_element(By.NAME, "missing_role")).select_by_visible_text("Decision Maker")
    form.find_element(By.NAME, "completeness_lt").send_keys("50")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: "missing_role" in b.current_url)
    expected = site.get(
        "/v1/buying-groups",
        solution_interest=INTEREST,
        missing_role="Decision Maker",
        completeness_lt=50,
        limit=500,
    )
    # Empty fields stay out of the address; the listing is the API's answer.
    assert "engagement" not in urlparse(browser.current_url).query
    assert _text(browser, "#count").startswith(f"{expected['total']} group")
    rows = _rows(browser)
    assert all("Decision Maker" in r.text for r in rows)

    browser.find_element(By.LINK_TEXT, "Completeness").click()
    sorted_header = "//th[@aria-sort='ascending'][a[text()='Completeness']]"
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.XPATH, sorted_header))
    assert "sort=completeness" in browser.current_url
    lowest = min(g["completeness"] for g in expected["items"])
    assert f"{lowest:.0f}" in _rows(browser)[0].text
    screenshot(browser, "groups-1280")

    # The CSV is fetched with the key and saved by the browser.
    csv = browser.execute_async_script(
        """const done = arguments[0];
        fetch('/ui/exports/groups.csv' + location.search,
              {headers: {'X-API-Key': sessionStorage.getItem('bg-api-key')}})
          .then((r) => r.text()).then(done);"""
    )
    lines = csv.strip().splitlines()
    assert lines[0].startswith("account_external_id,account_name")
    assert len(lines) == expected["total"] + 1
    browser.find_element(By.CSS_SELECTOR, "button[data-download]").click()
    WebDriverWait(browser, 15).until(lambda b: "CSV downloaded" in _text(b, "#status"))


def test_a_group_page_shows_evidence_moves_the_stage_and_adds_a_member(
    logged_in: WebDriver, site: Site
) -> None:
    browser = logged_in
    listed = site.get("/v1/buying-groups", solution_interest=INTEREST, sort="-completeness")
    account = listed["items"][0]["account_external_id"]
    browser.get(f"{site.base}/ui/groups/{quote(INTEREST)}/{account}")
    wait = WebDriverWait(browser, 15)
    wait.until(lambda b: b.find_elements(By.ID, "stage"))
    before = site.group(account)
    member = next(m for m in before["member_list"] if not m["is_removed"])
    card = browser.find_element(
        By.CSS_SELECTOR, f"li[data-person='{member['person_external_id']}']"
    )
    assert member["source"] in card.text
    if member["evidence"].get("condition"):
        assert "rule fired" in card.text
    assert _text(browser, "#stage") == "no stage yet"
    assert "Missing roles and who could fill them" in browser.page_source
    screenshot(browser, "group-1280")

    # Move the stage: the allowed next stages only (entry stages for a new group).
    Select(browser.find_element(By.NAME, "stage")).select_by_visible_text("Identified")
    browser.find_element(By.ID, "move-stage").click()
    wait.until(lambda b: _text(b, "#stage") == "Identified")
    assert site.group(account)["stage"] == "Identified"
    options = Select(browser.find_element(By.NAME, "stage")).options
    assert [o.text for o in options] == ["Engaged", "Lost"]
    assert "group.stage_changed" in _text(browser, ".events")

    # Add a member by hand: the API records a manual member.
    outsider = next(
        p
        for p in site.get("/v1/persons", account_external_id=account, limit=500)["items"]
        if p["external_id"] not in {m["person_external_id"] for m in before["member_list"]}
    )
    form = browser.find_element(By.CSS_SELECTOR, "form[data-done='Member added'].inline")
    Select(form.find_element(By.NAME, "person_external_id")).select_by_value(
        outsider["external_id"]
    )
    Select(form.find_element(By.NAME, "role")).select_by_visible_text("Champion")
    form.find_element(By.TAG_NAME, "button").click()
    wait.until(
        lambda b: b.find_elements(By.CSS_SELECTOR, f"li[data-person='{outsider['external_id']}']")
    )
    added = [
        m
        for m in site.group(account)["member_list"]
        if m["person_external_id"] == outsider["external_id"]
    ]
    assert [(m["role"], m["source"]) for m in added] == [("Champion", "manual")]


def test_a_review_decision_changes_the_group_and_the_count(
    logged_in: WebDriver, site: Site
) -> None:
    browser = logged_in
    _open_review_queue(browser, site)
    wait = WebDriverWait(browser, 20)
    open_total = site.get("/v1/reviews", solution_interest=INTEREST, state="open", limit=1)["total"]
    assert open_total > 0
    assert _text(browser, "#total") == f"({open_total} open)"
    wait.until(lambda b: "persons that the rules or the model" in _text(b, "#agreement"))
    comparison = site.get("/v1/comparisons", solution_interest=INTEREST, limit=0)
    assert f"Of the {comparison['placed']} persons" in _text(browser, "#agreement")
    assert f"{comparison['no_role_both']} of {comparison['persons']}" in _text(
        browser, "#agreement"
    )
    screenshot(browser, "review-1280")

    row = browser.find_element(By.CSS_SELECTOR, "#reviews tbody tr[data-review]")
    review = site.get(f"/v1/reviews/{row.get_attribute('data-review')}")
    row.find_element(By.CSS_SELECTOR, "button[data-decision=not_a_member]").click()
    wait.until(lambda b: bool(row.find_elements(By.CSS_SELECTOR, ".decided")))
    assert _text(browser, "#total") == f"({open_total - 1} open)"
    group = site.group(review["account_external_id"])
    mine = [
        m for m in group["member_list"] if m["person_external_id"] == review["person_external_id"]
    ]
    assert all(m["is_removed"] and m["source"] == "manual" for m in mine)


def _open_review_queue(browser: WebDriver, site: Site) -> None:
    """The review page on Secure Edge's queue (Data Cloud, listed first, has no model)."""
    browser.get(f"{site.base}/ui/review")
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_element(By.ID, "interest").is_displayed())
    Select(browser.find_element(By.ID, "interest")).select_by_visible_text(INTEREST)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#reviews tbody tr[data-review]"))


def test_the_dashboard_draws_charts_agreement_and_models(logged_in: WebDriver, site: Site) -> None:
    browser = logged_in
    browser.get(f"{site.base}/ui/dashboard")
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: "persons that the rules or the model" in b.page_source)
    captions = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "figcaption")]
    assert captions.count("Completeness") == 2 and "Roles most often missing" in captions
    assert len(browser.find_elements(By.CSS_SELECTOR, ".chart rect.fill")) > 10
    wait.until(lambda b: "Metrics of the versions serving" in b.page_source)
    models = browser.find_element(By.XPATH, "//section[h2[@id='models-title']]").text
    assert "role-secure-edge" in models and "Metrics of the versions serving" in models
    assert "no role model is loaded for 'Data Cloud'" in browser.page_source
    screenshot(browser, "dashboard-1280")


@pytest.mark.parametrize("page", ["groups", "group", "dashboard", "review"])
def test_every_page_fits_400_px_without_sideways_scrolling(
    logged_in: WebDriver, site: Site, page: str
) -> None:
    browser = logged_in
    paths = {
        "groups": "/ui/groups",
        "group": f"/ui/groups/{quote(INTEREST)}/ACC-000003",
        "dashboard": "/ui/dashboard",
        "review": "/ui/review",
    }
    set_width(browser, NARROW)
    if page == "review":
        _open_review_queue(browser, site)
    else:
        browser.get(site.base + paths[page])
    ready = {
        "groups": "#count",
        "group": "#stage",
        "dashboard": ".agreement-figure, .agreement .none",
        "review": "#reviews tbody tr[data-review]",
    }
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ready[page]))
    assert not scrolls_sideways(browser)
    if page == "review":  # the model's answer and the decision buttons stay on screen
        row = browser.find_element(By.CSS_SELECTOR, "#reviews tbody tr[data-review]")
        for css in ("[data-label='Model says']", "button[data-decision=not_a_member]"):
            box = row.find_element(By.CSS_SELECTOR, css).rect
            assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW
    path: Path = screenshot(browser, f"{page}-400")
    assert path.stat().st_size > 0
    set_width(browser, WIDE)


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .info"), ("/redoc", "h1")])
def test_the_api_docs_load_only_from_the_app(
    browser: WebDriver, site: Site, path: str, ready: str
) -> None:
    set_width(browser, WIDE)
    browser.get_log("browser")  # forget earlier pages' messages
    browser.get(site.base + path)
    WebDriverWait(browser, 30).until(
        lambda b: (
            "buying-groups" in " ".join(e.text for e in b.find_elements(By.CSS_SELECTOR, ready))
        )
    )
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    # ReDoc's bundle shows Redocly's logo from their CDN; the page's policy refuses it and
    # ReDoc hides the image: offline nothing is missing.
    foreign = {url for url in loaded if not url.startswith(site.base)}
    assert loaded and foreign <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
    errors = [e for e in severe_console_errors(browser) if "cdn.redoc.ly" not in e]
    assert errors == []
    screenshot(browser, f"docs{path.replace('/', '-')}")


def test_the_pages_load_no_foreign_code_and_break_no_policy(
    logged_in: WebDriver, site: Site
) -> None:
    browser = logged_in
    browser.get_log("browser")
    for path in ("/ui/groups", "/ui/dashboard", "/ui/review"):
        browser.get(site.base + path)
        WebDriverWait(browser, 20).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, "#count, .chart, #reviews tbody tr")
        )
    assert severe_console_errors(browser) == []
