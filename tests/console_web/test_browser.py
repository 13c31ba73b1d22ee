"""The console in a real browser: Debian's Chromium, driven by Selenium.

The driver is the system's /usr/bin/chromedriver, named explicitly, so Selenium Manager
never tries to download one. Every page visited is saved as a screenshot under
`out/console/`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import RECORDING_SECONDS, TOKEN, Console

DRIVER = "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parents[2] / "out" / "console"
CSV_WITH_A_BAD_ROW = "phone,name,appointment\n+15550200001,Ann,Tue 3pm\nnot-a-number,Bob,Wed 9am\n"
GOOD_CSV = "phone,name,appointment\n+15550200001,Ann,Tue 3pm\n+15550200002,Bob,Wed 9am\n"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    assert shutil.which("chromium"), "install Debian's chromium (scripts/setup.sh does)"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,1000",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait(driver: WebDriver, seconds: float = 10) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def shot(driver: WebDriver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def sign_in(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.url}/")
    wait(driver).until(ready.url_contains("/login"))
    shot(driver, "sign-in")
    driver.find_element(By.ID, "password").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(ready.presence_of_element_located((By.ID, "messages-waiting")))


def upload(driver: WebDriver, console: Console, tmp_path: Path, csv_text: str, name: str) -> None:
    driver.get(f"{console.url}/campaigns")
    path = tmp_path / f"{name}.csv"
    path.write_text(csv_text)
    form = driver.find_element(By.CSS_SELECTOR, "form[enctype='multipart/form-data']")
    form.find_element(By.NAME, "name").send_keys(name)
    form.find_element(By.NAME, "outbound_trunk").send_keys("ST_console")
    form.find_element(By.NAME, "caller_id").send_keys("+15550100100")
    form.find_element(By.NAME, "contacts").send_keys(str(path))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_a_manager_morning(browser: WebDriver, console: Console, tmp_path: Path) -> None:
    sign_in(browser, console)
    wait(browser).until(
        lambda d: d.execute_script(
            "return !!window.Chart"
            " && !!window.Chart.getChart(document.getElementById('chart-daily'))"
        )
    )
    assert browser.find_element(By.ID, "messages-waiting").text == "1"
    shot(browser, "overview")

    # A CSV with a bad row: nothing is created and that row's problem is shown.
    upload(browser, console, tmp_path, CSV_WITH_A_BAD_ROW, "Refused upload")
    errors = wait(browser).until(ready.presence_of_element_located((By.ID, "create-errors")))
    rows = errors.find_elements(By.CSS_SELECTOR, "tr.row-error")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == ["2"], errors.text
    assert rows[0].find_elements(By.TAG_NAME, "td")[1].text == "phone"
    shot(browser, "campaign-upload-errors")

    # A good one: created, shown with its progress, listed; then paused.
    upload(browser, console, tmp_path, GOOD_CSV, "June check-ups")
    status = wait(browser).until(ready.presence_of_element_located((By.ID, "campaign-status")))
    assert status.text == "active"
    progress = browser.find_element(By.TAG_NAME, "progress")
    assert progress.get_attribute("max") == "2"
    shot(browser, "campaign")
    browser.get(f"{console.url}/campaigns")
    listed = browser.find_element(By.ID, "campaign-list").text
    assert "June check-ups" in listed and "0 of 2 contacts done" in listed
    shot(browser, "campaigns")
    browser.find_element(By.LINK_TEXT, "June check-ups").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Pause']").click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "campaign-status"), "paused"))

    # The call and its transcript.
    browser.get(f"{console.url}/calls")
    shot(browser, "calls")
    browser.get(f"{console.url}/calls/{console.call_id}")
    transcript = browser.find_element(By.CLASS_NAME, "transcript").text
    assert "Please ask Dr Lee to call me." in transcript and "reply after 900 ms" in transcript
    # Its recording plays from the page: the player loaded the audio and knows its length.
    loaded = "const a = document.querySelector('#recording audio'); return a && a.readyState"
    wait(browser).until(lambda d: (d.execute_script(loaded) or 0) >= 1)
    duration = browser.execute_script("return document.querySelector('#recording audio').duration")
    assert abs(duration - RECORDING_SECONDS) < 0.1, duration
    shot(browser, "call")

    # The message: marked handled in place (htmx), and it stays handled.
    browser.get(f"{console.url}/messages")
    shot(browser, "messages")
    row = browser.find_element(By.ID, f"message-{console.message_id}")
    row.find_element(By.TAG_NAME, "button").click()
    swapped = f"return document.querySelector('#message-{console.message_id} .done') !== null"
    wait(browser).until(lambda d: d.execute_script(swapped))
    browser.get(f"{console.url}/messages")
    assert "Nothing waiting" in browser.find_element(By.ID, "waiting").text

    browser.get(f"{console.url}/dnc")
    browser.find_element(By.NAME, "phone").send_keys("+15550100999")
    browser.find_element(
        By.CSS_SELECTOR, "form[aria-label='Add a number'] input[name=phone]"
    ).send_keys("+15550100999")
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='Add a number'] button").click()
    assert "+15550100999 will not be called." in browser.find_element(By.CLASS_NAME, "notice").text
    shot(browser, "dnc")

    # Sign out: the pages are refused again.
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait(browser).until(ready.url_contains("/login"))
    browser.get(f"{console.url}/messages")
    assert "/login" in browser.current_url
    assert browser.get_cookie("dialtone_console") is None


def test_a_phone_screen_shows_every_page_without_sideways_scrolling(
    browser: WebDriver, console: Console
) -> None:
    browser.set_window_size(390, 844)
    sign_in(browser, console)
    for path in ("/", "/calls", "/messages", "/campaigns", "/dnc"):
        browser.get(f"{console.url}{path}")
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400, (path, width)
    shot(browser, "overview-phone")
