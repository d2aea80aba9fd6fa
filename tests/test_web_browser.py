"""The web help center in a real browser: Debian's headless Chromium, driven by selenium through
/usr/bin/chromedriver (`make test` installs both). A 360 px phone: search with suggestions, an
entry, language and market, the deadline calculator, no page wider than the screen (a
screenshot of each is kept), and the page as a Telegram Mini App posting back with its initData.
Nothing here reaches the network: the server runs on 127.0.0.1 in a thread of this process."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from helpcenter.core import HelpCenter
from web import initdata
from web.server import listen
from web.site import Site

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# On CI (CI=true) a missing browser is a failure, not a skip: make test installs it there.
pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and DRIVER.exists()) and not os.environ.get("CI"),
                                reason="Debian's chromium and chromium-driver are missing (make test installs them)")
TOKEN = "123456:TEST-token"
PHONE = {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True}
SHOTS = Path(__file__).resolve().parent.parent / ".cache" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=360,780")


@pytest.fixture(scope="module")
def web(center: HelpCenter) -> Iterator[tuple[str, list]]:
    """The web server on its own event loop in a thread; what the Mini App posted is collected."""
    posted: list = []
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    holder: dict = {}

    async def post(user, action) -> None:
        posted.append((user.id, action))

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            holder["site"] = Site(lambda: center, bot_username="helpcenter_bot", can_post=True)
            holder["server"] = listen(holder["site"], 0, token=TOKEN, post=post)
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield f"http://127.0.0.1:{holder['server'].port}", posted
    loop.call_soon_threadsafe(holder["server"].stop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(20)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _fits(driver, name: str) -> None:
    """No horizontal scrolling on a 360 px phone; the screenshot is kept for a person to look at."""
    width, inner = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    assert inner == 360 and width <= inner, (name, width, inner)


def _wait(condition, seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_search_with_suggestions_then_the_entry(web, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, _ = web
    browser.get(base + "/zh/")
    _fits(browser, "home-zh")
    box = browser.find_element(By.ID, "q")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=q]").text  # labelled
    box.send_keys("退款退到哪里")
    _wait(lambda: browser.find_element(By.ID, "q-list").is_displayed())
    options = browser.find_elements(By.CSS_SELECTOR, "#q-list [role=option]")
    assert "退款" in options[0].text and "best" in options[0].get_attribute("class")
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == "q-opt-0"
    box.send_keys(Keys.ENTER)
    _wait(lambda: "/zh/e/refund-arrival" in browser.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text
    _fits(browser, "entry-zh")
    browser.get(base + "/zh/search?q=" + quote("发错货了怎么办"))
    assert browser.find_element(By.CSS_SELECTOR, ".found").text
    _fits(browser, "search-zh")


def test_language_and_market_switch(web, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, _ = web
    browser.get(base + "/zh/e/return-policy")
    browser.find_element(By.CSS_SELECTOR, "a.lang").click()
    _wait(lambda: "/en/e/return-policy" in browser.current_url)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    Select(browser.find_element(By.ID, "pref-m")).select_by_value("US")
    browser.find_element(By.CSS_SELECTOR, ".prefs button[type=submit]").click()
    _wait(lambda: "m=US" in browser.current_url)
    mine = browser.find_element(By.CSS_SELECTOR, ".mine").text
    assert "Limits in United States" in mine and "United Kingdom" not in mine
    _fits(browser, "entry-en-us")
    browser.get(base + "/en/e/return-overview")  # remembered without the query
    assert "m=US" in browser.find_element(By.CSS_SELECTOR, ".crumbs a").get_attribute("href")
    browser.get(base + "/en/e/no-such-entry")
    _fits(browser, "not-found-en")


def test_the_deadline_calculator(web, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, _ = web
    browser.get(base + "/en/deadline")
    Select(browser.find_element(By.ID, "market")).select_by_value("ID")
    Select(browser.find_element(By.ID, "case")).select_by_value("quality_safety")
    variant = browser.find_element(By.ID, "variant")
    assert variant.is_displayed()
    shown = [o.get_attribute("value") for o in Select(variant).options if o.is_enabled() and o.get_attribute("value")]
    assert shown == ["durable", "non_durable"]  # Indonesia's windows for this case
    Select(browser.find_element(By.ID, "market")).select_by_value("TH")
    shown = [o.get_attribute("value") for o in Select(variant).options if o.is_enabled() and o.get_attribute("value")]
    assert shown == ["mall", "non_mall"]  # Thailand's
    Select(browser.find_element(By.ID, "market")).select_by_value("ID")
    Select(browser.find_element(By.ID, "case")).select_by_value("mismatch")
    assert not variant.is_displayed()  # this case has one window there
    day = (date.today() - timedelta(days=2)).isoformat()
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "day"), day)
    browser.find_element(By.CSS_SELECTOR, ".calc button[type=submit]").click()
    _wait(lambda: "day=" in browser.current_url)
    result = browser.find_element(By.CSS_SELECTOR, ".result .tg").text
    assert "Item not as ordered · Indonesia" in result and "At the latest by" in result  # up to 6 days: a ceiling
    assert "Asia/Jakarta" in browser.find_element(By.CSS_SELECTOR, ".result").text
    assert not browser.find_element(By.CSS_SELECTOR, "[data-action=remind]").is_displayed()  # not in Telegram
    _fits(browser, "deadline-en")


def test_as_a_mini_app_it_takes_telegrams_theme_and_posts_back(web, browser) -> None:
    from selenium.webdriver.common.by import By

    base, posted = web
    init = initdata.sign({"user": {"id": 77, "first_name": "Ann"}, "auth_date": str(int(time.time()))}, TOKEN)
    theme = '{"bg_color":"#112233","text_color":"#eeeeee","button_color":"#336699","button_text_color":"#ffffff"}'
    browser.get(f"{base}/zh/e/dispute-mismatch#tgWebAppData={quote(init)}&tgWebAppVersion=8.0"
                f"&tgWebAppThemeParams={quote(theme)}")
    assert "in-tg" in browser.find_element(By.TAG_NAME, "body").get_attribute("class")
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 34, 51)"
    assert not browser.find_element(By.CSS_SELECTOR, "a.web-only").is_displayed()  # no t.me link inside Telegram
    button = browser.find_element(By.CSS_SELECTOR, "[data-action=human]")
    assert button.is_displayed()
    _fits(browser, "mini-app-entry")
    button.click()
    _wait(lambda: posted)
    assert posted[-1] == (77, {"action": "human", "entry": "dispute-mismatch", "lang": "zh"})
    _wait(lambda: "请回到聊天" in browser.find_element(By.CSS_SELECTOR, ".status").text)
    # The next page in the same web view still knows it is in Telegram (no fragment there).
    browser.get(f"{base}/zh/deadline?case=mismatch&market=ID&day={(date.today() - timedelta(days=1)).isoformat()}")
    browser.find_element(By.CSS_SELECTOR, "[data-action=remind]").click()
    _wait(lambda: len(posted) == 2)
    assert posted[-1][1]["action"] == "remind" and posted[-1][1]["market"] == "ID"
    # A forged initData: the page says so, nothing was posted.
    browser.execute_script("sessionStorage.setItem('hc.tg', JSON.stringify({initData: 'user=%7B%7D&hash=00'}))")
    browser.get(f"{base}/zh/e/dispute-mismatch")
    browser.find_element(By.CSS_SELECTOR, "[data-action=human]").click()
    _wait(lambda: "什么也没有保存" in browser.find_element(By.CSS_SELECTOR, ".status").text)
    assert len(posted) == 2
