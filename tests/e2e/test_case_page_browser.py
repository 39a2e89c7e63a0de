"""The case page in a real browser: headless Chromium from Debian's packages (/usr/bin/chromium with
/usr/bin/chromedriver; no browser is downloaded). Asks for the key, loads a seeded order's case,
moves `as_of` to a moment in the middle and back, follows a policy step's link to its cause, and
saves screenshots (the test's tmp dir and /tmp/case_page.png). Under CI=true a missing browser fails."""
from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path

import pytest
import uvicorn

from ledgerdesk.interfaces.http.app import create_app
from tests.case_story import HOSTILE, Story, tell_story
from tests.conftest import IN_CI, Keys, runtime_of

pytestmark = pytest.mark.e2e

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOWN = Path("/tmp/case_page.png")


@pytest.fixture
def browser() -> Iterator[object]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists() and shutil.which(Path(p).name) is None]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver"
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser test must run)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def server(settings, ledger, read_store, keys: Keys) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(runtime_of(settings, ledger, keys, read_store))
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.started, "the test server did not start"
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(10)


@pytest.fixture
def story(ledger, read_store, projector, clock, keys: Keys) -> Story:  # type: ignore[no-untyped-def]
    return tell_story(ledger, read_store, projector, clock, tenant=keys.tenant)


def test_the_case_page_in_headless_chromium(browser, server: str, story: Story, keys: Keys, tmp_path: Path,
                                            database_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    if database_url.startswith("postgresql"):
        pytest.skip("one browser run is enough; the page reads the same API on either backend")
    driver = browser
    wait = WebDriverWait(driver, 20)

    def loaded() -> int:
        wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "Loaded"))
        return len(driver.find_elements(By.CSS_SELECTOR, "tr.entry"))

    driver.get(f"{server}/cases/view?order_id={story.order_id}")
    key_box = wait.until(EC.visibility_of_element_located((By.ID, "api-key")))  # no key yet: it asks
    key_box.send_keys(keys.auditor)
    driver.find_element(By.ID, "key-save").click()
    everything = loaded()
    page = driver.find_element(By.CSS_SELECTOR, "main.case").text
    assert HOSTILE in page  # shown as text, never run
    assert {"taobao", "email"} <= {td.text for td in driver.find_elements(By.CSS_SELECTOR, "tr.entry td:nth-child(2)")}
    assert driver.find_elements(By.CSS_SELECTOR, "tr.entry[data-type='Ticket.ReplySent']")
    assert "missed" in driver.find_element(By.CSS_SELECTOR, "table.sla").text

    # as of a moment in the middle: the datetime-local control and its offset, then Load
    middle = story.middle.astimezone(timezone.utc)
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, "as-of"), middle.strftime("%Y-%m-%dT%H:%M:%S"))
    offset = driver.find_element(By.ID, "as-of-offset")
    offset.clear()
    offset.send_keys("+00:00")
    driver.find_element(By.ID, "status").get_attribute("textContent")
    driver.execute_script("document.getElementById('status').textContent = ''")
    driver.find_element(By.ID, "load").click()
    in_the_middle = loaded()
    assert 0 < in_the_middle < everything
    assert driver.find_element(By.CSS_SELECTOR, "main.case").get_attribute("data-as-of") == middle.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert not driver.find_elements(By.CSS_SELECTOR, "tr.entry[data-type='Ticket.ReplySent']")
    assert "as_of=" in driver.current_url  # the address says which moment is shown
    driver.save_screenshot(str(tmp_path / "case_page_middle.png"))

    driver.execute_script("document.getElementById('status').textContent = ''")
    driver.find_element(By.ID, "now").click()
    assert loaded() == everything

    # a policy step's link leads to the entry of the event that caused it
    step = driver.find_element(By.CSS_SELECTOR, "tr.entry.automatic[data-type='Ticket.PriorityChanged']")
    link = step.find_element(By.CSS_SELECTOR, "a.cause")
    cause_id = link.get_attribute("href").rpartition("#")[2]
    link.click()
    wait.until(lambda d: d.execute_script("return location.hash") == f"#{cause_id}")
    target = driver.find_element(By.ID, cause_id)
    assert target.get_attribute("data-type") == "Ticket.Escalated"
    assert driver.execute_script("return document.querySelector(':target') === arguments[0]", target)
    driver.save_screenshot(str(tmp_path / "case_page.png"))
    shutil.copyfile(tmp_path / "case_page.png", SHOWN)
    assert SHOWN.stat().st_size > 10_000
