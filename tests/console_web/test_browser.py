"""The console in a real browser: Debian's Chromium, driven by Selenium, at a desktop's
1366×768 and a phone's 390×844.

A manager's day, at both sizes: sign in, read what needs attention, listen to a call,
mark messages handled (the count drops, the focus stays on the list), find a call by
its last digits, upload a campaign (a bad row is named by its spreadsheet row and the
page opens at it), read its contacts (a do-not-call skip counted apart), pause it, add a
do-not-call number, remove it after confirming and undo. Every page is checked for
sideways overflow (nothing wider than the window, and nothing wider than 360 px on the
phone) and the browser's console must stay free of errors (a Content-Security-Policy
violation is one). The driver is the system's /usr/bin/chromedriver, named explicitly,
so Selenium Manager never tries to download one. Screenshots go to `out/console/`.
"""

from __future__ import annotations

import asyncio
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

from dialtone.campaigns.store import CampaignStore
from dialtone.messages.store import MessageStore

from .conftest import RECORDING_SECONDS, TOKEN, Console

DRIVER = "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parents[2] / "out" / "console"
CSV_WITH_A_BAD_ROW = "phone,name,appointment\n+15550200001,Ann,Tue 3pm\nnot-a-number,Bob,Wed 9am\n"
GOOD_CSV = (
    "phone,name,appointment\n+15550200001,Ann,Tue 3pm\n+15550200002,Bob,Wed 9am\n"
    "+15550200003,Cy,Thu 10am\n"
)
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def browser(tmp_path: Path, size: str) -> Iterator[WebDriver]:
    assert shutil.which("chromium"), "install Debian's chromium (scripts/setup.sh does)"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    width, height = SIZES[size]
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.implicitly_wait(0)
    viewport(driver, width, height)
    yield driver
    driver.quit()


def viewport(driver: WebDriver, width: int, height: int) -> None:
    """The page's own width, as a phone has it: a headless window has a minimum width
    of its own (500 px), so the size is set on the page through DevTools."""
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def wait(driver: WebDriver, seconds: float = 15) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def shot(driver: WebDriver, name: str, size: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}-{size}.png"))


def no_overflow(driver: WebDriver, where: str) -> None:
    """Nothing sticks out sideways: the page is no wider than the window."""
    wide = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], (where, wide)


def go(driver: WebDriver, console: Console, path: str) -> None:
    driver.get(f"{console.url}{path}")
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
    # A sign-in, refusal or error page instead of the one asked for is named with its text,
    # so a failure says what the browser was shown.
    shown = driver.execute_script("return document.body ? document.body.innerText : ''")
    assert driver.title.endswith("· dialtone") and not driver.title.startswith(
        ("Sign in", "Refused")
    ), (path, driver.current_url, driver.title, shown[:400])
    no_overflow(driver, path)


#: The refused upload answers 422 on purpose (the form again, with its errors): Chromium
#: logs every 4xx page load; that one is expected, anything else is a failure.
EXPECTED = "/campaigns - Failed to load resource: the server responded with a status of 422"


def console_errors(driver: WebDriver) -> list[str]:
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and EXPECTED not in e["message"]
    ]


def sign_in(driver: WebDriver, console: Console) -> None:
    driver.get(f"{console.url}/")
    wait(driver).until(ready.url_contains("/login"))
    no_overflow(driver, "/login")
    driver.find_element(By.ID, "password").send_keys(TOKEN)  # name blank: the operator
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(ready.presence_of_element_located((By.ID, "attention")))


def upload(driver: WebDriver, console: Console, tmp_path: Path, csv_text: str, name: str) -> None:
    go(driver, console, "/campaigns")
    path = tmp_path / f"{name}.csv"
    path.write_text(csv_text)
    form = driver.find_element(By.CSS_SELECTOR, "form[enctype='multipart/form-data']")
    form.find_element(By.NAME, "name").send_keys(name)
    # Persona, trunk and caller id are chosen from what is configured.
    for field in ("persona", "outbound_trunk", "caller_id"):
        assert form.find_element(By.NAME, field).tag_name == "select", field
    form.find_element(By.NAME, "contacts").send_keys(str(path))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def seed_more_messages(console: Console) -> None:
    store = MessageStore(console.engine)
    # One message holds a 150-character word: it must wrap, not widen the page.
    long_word = "0123456789" * 15
    for name, text in (
        ("Ann Lee", "Can I move my cleaning?"),
        ("Bo Chen", f"Billing question, invoice {long_word}"),
    ):
        asyncio.run(
            store.add(
                persona="receptionist",
                message=text,
                caller_number="+15550100333",
                caller_name=name,
                call_id=None,
                room=None,
            )
        )


def test_a_manager_day(browser: WebDriver, console: Console, tmp_path: Path, size: str) -> None:
    seed_more_messages(console)
    _add_dnc(console, "+15550200003")
    # The manager's browser is in London; the clinic's times are shown in its own zone
    # (UTC here), and the page says so.
    browser.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setTimezoneOverride", {"timezoneId": "Europe/London"}
    )
    sign_in(browser, console)
    note = browser.find_element(By.ID, "zone-note")
    assert note.is_displayed() and "Times are in UTC" in note.text, note.text
    assert "your browser is set to Europe/London" in note.text
    assert browser.execute_script("return window.innerWidth") == SIZES[size][0]
    no_overflow(browser, "/")

    # What needs attention is said in words, with links.
    attention = browser.find_element(By.ID, "attention")
    assert "3 messages are waiting for a call back" in attention.text
    assert browser.find_element(By.ID, "messages-waiting").text == "3"
    shot(browser, "overview", size)

    # Listen to a call: its page is titled by who called and says how long it lasted.
    go(browser, console, f"/calls/{console.call_id}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Call from +15550100222"
    assert "lasted 40 s" in browser.find_element(By.CLASS_NAME, "subtitle").text
    assert "820 ms typical over 2 replies" in browser.find_element(By.CLASS_NAME, "facts").text
    assert "Took a message" in browser.page_source
    loaded = "const a = document.querySelector('#recording audio'); return a && a.readyState"
    wait(browser).until(lambda d: (d.execute_script(loaded) or 0) >= 1)
    duration = browser.execute_script("return document.querySelector('#recording audio').duration")
    assert abs(duration - RECORDING_SECONDS) < 0.1, duration
    shot(browser, "call", size)

    # Messages: caller names, the line's display name; mark handled in place.
    go(browser, console, "/messages")
    waiting = browser.find_element(By.ID, "waiting")
    assert "Bo Chen" in waiting.text and "Ann Lee" in waiting.text
    assert "receptionist" not in waiting.text  # the persona's display name is shown
    shot(browser, "messages", size)
    first = waiting.find_elements(By.CSS_SELECTOR, "button")[0]
    first_id = first.get_attribute("id")
    first.click()
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "waiting-count"), "2"))
    wait(browser).until(
        lambda d: d.switch_to.active_element.get_attribute("id") not in (None, "", first_id)
    )
    focused = browser.switch_to.active_element
    assert focused.tag_name == "button" and focused.text == "Mark handled", focused.text
    handled = browser.find_element(By.ID, "handled").text
    assert "Handled" in handled
    # Keyboard only: Enter on the focused button handles the next one.
    focused.send_keys("\n")
    wait(browser).until(ready.text_to_be_present_in_element((By.ID, "waiting-count"), "1"))
    # Search finds a message by the caller's name.
    go(browser, console, "/messages?q=chen")
    assert "Bo Chen" in browser.find_element(By.ID, "inbox").text
    assert "Ann Lee" not in browser.find_element(By.ID, "inbox").text

    # Find a call by its last digits.
    go(browser, console, "/calls")
    browser.find_element(By.NAME, "number").send_keys("0222\n")
    wait(browser).until(ready.url_contains("number=0222"))
    no_overflow(browser, "/calls?number=0222")
    assert "+15550100222" in browser.find_element(By.TAG_NAME, "table").text
    assert (
        browser.find_element(By.ID, "calls-export").get_attribute("href").endswith("number=0222&")
    )
    shot(browser, "calls", size)

    # A CSV with a bad row: spreadsheet row 3 (the header is row 1), and the page opens there.
    upload(browser, console, tmp_path, CSV_WITH_A_BAD_ROW, "Refused upload")
    errors = wait(browser).until(ready.presence_of_element_located((By.ID, "create-errors")))
    rows = errors.find_elements(By.CSS_SELECTOR, "tr.row-error")
    cells = [r.find_elements(By.TAG_NAME, "td") for r in rows]
    assert [(c[0].text, c[1].text) for c in cells] == [("3", "phone")], errors.text
    assert browser.switch_to.active_element.get_attribute("id") == "create-errors"
    top = browser.execute_script(
        "return document.getElementById('create-errors').getBoundingClientRect().top"
    )
    assert 0 <= top < SIZES[size][1], top  # on screen, not 1,100 px down
    no_overflow(browser, "upload errors")
    shot(browser, "campaign-upload-errors", size)

    # A good one: one contact is on the do-not-call list and is counted apart.
    upload(browser, console, tmp_path, GOOD_CSV, "June check-ups")
    wait(browser).until(ready.presence_of_element_located((By.ID, "campaign-status")))
    no_overflow(browser, "campaign")
    progress = browser.find_element(By.ID, "campaign-progress").text
    assert progress.startswith("0 of 2 contacts done; 1 skipped"), progress
    assert "Mon–Fri" in browser.find_element(By.ID, "campaign-window").text
    contacts = browser.find_element(By.ID, "contact-list").text
    assert (
        "Ann" in contacts
        and "Skipped: on do-not-call" in contacts
        and "Waiting for first call" in contacts
    )
    shot(browser, "campaign", size)
    pause = browser.find_element(By.XPATH, "//button[normalize-space()='Pause']")
    pause.click()
    wait(browser).until(ready.staleness_of(pause))  # the answer's page, not this one
    wait(browser).until(ready.presence_of_element_located((By.ID, "campaign-notice")))
    assert browser.find_element(By.ID, "campaign-status").get_attribute("data-status") == "paused"
    assert "No new calls start" in browser.find_element(By.ID, "campaign-notice").text

    # Do-not-call: add, remove after confirming, undo.
    go(browser, console, "/dnc")
    add = browser.find_element(By.CSS_SELECTOR, "form[aria-label='Add a number']")
    add.find_element(By.NAME, "phone").send_keys("+15550100999")
    add.find_element(By.NAME, "reason").send_keys("asked on the phone")
    add.find_element(By.TAG_NAME, "button").click()
    wait(browser).until(ready.presence_of_element_located((By.ID, "dnc-notice")))
    assert "+15550100999 will not be called." in browser.find_element(By.ID, "dnc-notice").text
    browser.find_element(By.CSS_SELECTOR, "a[aria-label='Remove +15550100999']").click()
    confirm = wait(browser).until(ready.presence_of_element_located((By.ID, "dnc-remove-confirm")))
    assert "asked on the phone" in browser.find_element(By.TAG_NAME, "main").text
    no_overflow(browser, "dnc confirm")
    confirm.click()
    undo = wait(browser).until(ready.presence_of_element_located((By.ID, "dnc-undo")))
    shot(browser, "dnc", size)
    undo.click()
    # The removal's notice already says "put … back on the list" (its undo button): wait for
    # the new page, or the next navigation races this form's answer.
    wait(browser).until(ready.staleness_of(undo))
    wait(browser).until(
        ready.text_to_be_present_in_element((By.ID, "dnc-notice"), "is back on the list.")
    )

    # The audit log says who did each change.
    go(browser, console, "/audit")
    audit = browser.find_element(By.ID, "audit").text
    for words in (
        "Paused a campaign",
        "Removed from do-not-call",
        "Undid a do-not-call removal",
        "Marked a message handled",
    ):
        assert words in audit
    shot(browser, "audit", size)

    # Phone: every page also fits a 360 px screen.
    if size == "phone":
        viewport(browser, 360, 800)
        go(browser, console, "/")
        assert browser.execute_script("return window.innerWidth") == 360
        for path in (
            "/",
            "/calls",
            f"/calls/{console.call_id}",
            "/messages",
            "/campaigns",
            "/dnc",
            "/audit",
        ):
            go(browser, console, path)

    assert console_errors(browser) == []

    # Sign out: the pages are refused again.
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait(browser).until(ready.url_contains("/login"))
    browser.get(f"{console.url}/messages")
    assert "/login" in browser.current_url


def _add_dnc(console: Console, phone: str) -> None:
    from datetime import UTC, datetime

    CampaignStore(console.engine).add_dnc([phone], "asked not to be called", datetime.now(UTC))
