"""End to end in a real browser: /docs on the local stack creates a task through Swagger UI.

Headless Chromium and ChromeDriver come from Debian's packages (``chromium``,
``chromium-driver``) and are driven by Selenium; nothing is downloaded at run time (Selenium
Manager is bypassed by giving both paths). Without the packages the test is skipped, and says
why; it never passes without having run.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from devstack.stack import LocalStack
from tests.support import PASSWORD, unique_username

pytestmark = pytest.mark.e2e

MISSING_BROWSER = (
    "Debian packages chromium and chromium-driver are not installed "
    "(apt-get install chromium chromium-driver)"
)
WAIT_SECONDS = 30
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
]
# Records every Content-Security-Policy violation the page reports, from its first script on.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + event.sourceFile + ":" + event.lineNumber);
});
"""
POST_TASKS = (
    "//div[contains(@class, 'opblock-post')]"
    "[.//*[contains(@class, 'opblock-summary-path') and @data-path='/tasks']]"
)
EXPAND = "//button[contains(@class, 'opblock-summary-control')]"
TRY_IT_OUT = "//button[contains(@class, 'try-out__btn')]"
BODY = "//textarea[contains(@class, 'body-param__text')]"
EXECUTE = "//button[contains(@class, 'execute')]"
# The first cell of the live response's row (the table's header row also has that class).
STATUS = "//table[contains(@class, 'live-responses-table')]/tbody/tr/td[1]"
EXPAND_EVERYTHING = """
document.querySelectorAll(".opblock:not(.is-open) .opblock-summary-control")
  .forEach((button) => button.click());
document.querySelectorAll(
  "section.models article[data-json-schema-level='0'] > div > .json-schema-2020-12-accordion"
).forEach((button) => button.click());
"""
COLLAPSED_SCHEMA = (
    "section.models article[data-json-schema-level='0'] > .json-schema-2020-12-body--collapsed"
)
STORAGE = "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage);"
MODAL_LOGOUT = "//div[contains(@class, 'modal-ux')]//button[normalize-space() = 'Logout']"


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[webdriver.Chrome]:
    """Headless Debian Chromium with a fresh profile; skipped when the packages are missing."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(MISSING_BROWSER)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(executable_path=chromedriver, log_output=str(tmp_path / "driver.log")),
        options=options,
    )
    try:
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS}
        )
        yield driver
    finally:
        driver.quit()


def test_docs_page_authorizes_and_creates_a_task(
    browser: webdriver.Chrome, local_stack: LocalStack, tmp_path: Path
) -> None:
    """The issue's flow: a real token, Authorize, POST /tasks from the page, then the API."""
    token = _real_token(local_stack.base_url)
    title = f"from the docs page {uuid.uuid4().hex[:8]}"
    wait = WebDriverWait(browser, WAIT_SECONDS)

    with _evidence_on_failure(browser, tmp_path) as step:
        step("open /docs and wait for Swagger UI to render POST /tasks")
        browser.get(f"{local_stack.base_url}/docs")
        wait.until(ec.presence_of_element_located((By.XPATH, POST_TASKS)))

        step("authorize with the bearer token")
        _click(browser, wait, (By.CSS_SELECTOR, ".scheme-container button.authorize"))
        field = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input")))
        field.send_keys(token)
        _click(browser, wait, (By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize"))
        wait.until(ec.visibility_of_element_located((By.XPATH, MODAL_LOGOUT)))
        _click(browser, wait, (By.CSS_SELECTOR, ".modal-ux button.btn-done"))
        wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))

        step("expand POST /tasks, try it out, fill in the body")
        _click(browser, wait, (By.XPATH, f"{POST_TASKS}{EXPAND}"))
        _click(browser, wait, (By.XPATH, f"{POST_TASKS}{TRY_IT_OUT}"))
        body = wait.until(ec.visibility_of_element_located((By.XPATH, f"{POST_TASKS}{BODY}")))
        body.send_keys(Keys.CONTROL, "a")
        body.send_keys(Keys.DELETE)
        body.send_keys(json.dumps({"title": title, "tags": ["docs"]}))

        step("execute and wait for 201 in the page")
        _click(browser, wait, (By.XPATH, f"{POST_TASKS}{EXECUTE}"))
        wait.until(ec.text_to_be_present_in_element((By.XPATH, f"{POST_TASKS}{STATUS}"), "201"))

        step("expand every operation and schema, so all of Swagger UI renders under the CSP")
        browser.execute_script(EXPAND_EVERYTHING)
        wait.until(_everything_expanded)

        step("check the page reported no Content-Security-Policy violation")
        violations = _csp_violations(browser)
        assert violations == [], f"Content-Security-Policy violations: {violations}"

        step("check the token was not persisted (persistAuthorization is off)")
        stored = browser.execute_script(STORAGE)
        assert token not in stored, "the token was written to web storage"

    listing = requests.get(
        f"{local_stack.base_url}/tasks",
        headers={"Authorization": f"Bearer {token}"},
        params={"limit": 100},
        timeout=30,
    )
    assert listing.status_code == 200, listing.text
    assert [task["title"] for task in listing.json()["items"]] == [title]


def _real_token(base_url: str) -> str:
    """Register and log in through the API, as a user of the page would get a token."""
    credentials = {"username": unique_username("docs"), "password": PASSWORD}
    with requests.Session() as session:
        registered = session.post(f"{base_url}/auth/register", json=credentials, timeout=60)
        assert registered.status_code == 201, registered.text
        logged_in = session.post(f"{base_url}/auth/login", json=credentials, timeout=60)
        assert logged_in.status_code == 200, logged_in.text
        return logged_in.json()["access_token"]


def _click(driver: webdriver.Chrome, wait: WebDriverWait, locator: tuple[str, str]) -> None:
    """Scroll the element to the middle of the window (clear of sticky bars) and click it."""
    element = wait.until(ec.element_to_be_clickable(locator))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    wait.until(ec.element_to_be_clickable(locator)).click()


def _everything_expanded(driver: webdriver.Chrome) -> bool:
    operations = driver.find_elements(By.CSS_SELECTOR, ".opblock")
    opened = driver.find_elements(By.CSS_SELECTOR, ".opblock.is-open .opblock-body")
    schemas = driver.find_elements(By.CSS_SELECTOR, "section.models article")
    collapsed = driver.find_elements(By.CSS_SELECTOR, COLLAPSED_SCHEMA)
    return bool(operations) and len(opened) == len(operations) and bool(schemas) and not collapsed


def _csp_violations(driver: webdriver.Chrome) -> list[str]:
    """What the page's listener recorded, plus CSP errors in the browser console."""
    recorded = driver.execute_script("return window.__cspViolations || [];")
    console = [
        entry["message"]
        for entry in _browser_log(driver)
        if "Content Security Policy" in entry.get("message", "")
    ]
    return [*recorded, *console]


def _browser_log(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    try:
        return driver.get_log("browser")
    except WebDriverException:  # a driver without the legacy log endpoint
        return []


@contextlib.contextmanager
def _evidence_on_failure(
    driver: webdriver.Chrome, directory: Path
) -> Iterator[Callable[[str], None]]:
    """Yields ``step(name)`` to label progress. On failure, saves a screenshot, the page
    source and the console log, and the assertion names the step and the directory."""
    steps = ["start"]
    try:
        yield steps.append
    except (AssertionError, WebDriverException) as error:  # TimeoutException included
        saved = []
        for name, save in [
            ("docs-failure.png", lambda path: driver.save_screenshot(str(path))),
            ("docs-failure.html", lambda path: path.write_text(driver.page_source)),
            ("docs-console.json", lambda path: path.write_text(json.dumps(_browser_log(driver)))),
        ]:
            with contextlib.suppress(WebDriverException, OSError):
                save(directory / name)
                saved.append(name)
        message = error.msg if isinstance(error, WebDriverException) else str(error)
        raise AssertionError(
            f"/docs in the browser failed at step {steps[-1]!r}: {type(error).__name__}: {message}"
            f"\nevidence ({', '.join(saved) or 'none saved'}) in {directory}"
        ) from error
