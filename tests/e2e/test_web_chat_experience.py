"""A citizen on a phone (headless Chromium at 390 px) uses the web chat as a first-time visitor would: the welcome
and its choices, rich answers, their location, the city's messages pushed to the open page, and a page that
a screen reader and a keyboard can use. Screenshots go to var/screenshots/."""

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from api.core.public_holidays import PublicHolidays
from api.tours.service import is_closed
from bot.gateway.channels.web import COOKIE
from common import clock
from tests.support.axe import summary, violations
from tests.support.browser import PHONE, chromium

pytestmark = pytest.mark.stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
GEUMCHON_STATION = {"latitude": 37.7595, "longitude": 126.7799, "accuracy": 20}
INTERNAL = re.compile(r"localhost|127\.0\.0\.1|://10\.|://192\.168\.", re.IGNORECASE)


@pytest.fixture
def site(telegram) -> str:
    """The gateway of a stack with tours, notices, open data and the knowledge base seeded."""
    _fake, stack = telegram
    return stack.url("gateway")


def _phone(profile: Path, language: str = "ko-KR"):
    driver = chromium(profile, PHONE)
    # Headless Chromium keeps a window at least 500 pixels wide: the page is told it is a phone's 390.
    width, height = (int(n) for n in PHONE.split(","))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
    )
    user_agent = driver.execute_script("return navigator.userAgent")
    driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": user_agent, "acceptLanguage": language})
    return driver


@pytest.fixture
def phone(tmp_path):
    driver = _phone(tmp_path / "profile")
    yield driver
    driver.quit()


def _shot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"web-chat-{name}.png"))


def _answers(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")


def _say(browser, words: str, wait: WebDriverWait) -> None:
    before = len(_answers(browser))
    box = browser.find_element(By.ID, "message")
    box.send_keys(words, Keys.ENTER)
    wait.until(lambda b: len(_answers(b)) > before and b.find_element(By.ID, "typing").get_attribute("hidden"))


def _fits_sideways(browser) -> bool:
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def _nothing_internal(browser) -> None:
    shown = browser.find_element(By.ID, "conversation").text
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#messages a")]
    assert not INTERNAL.search(shown), shown
    assert not [href for href in links if INTERNAL.search(href)], links
    assert "텔레그램" not in shown and "Telegram" not in shown, "the web chat never sends citizens elsewhere"


def _placeholder_fits(browser) -> bool:
    """Whether the message box shows its whole placeholder, measured with the box's own font."""
    return browser.execute_script(
        """
        const box = document.getElementById("message");
        const style = getComputedStyle(box, "::placeholder");
        const context = document.createElement("canvas").getContext("2d");
        context.font = `${style.fontSize} ${style.fontFamily}`;
        const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return context.measureText(box.placeholder).width <= room;
        """
    )


def test_a_first_visitor_is_welcomed_with_choices_that_send_and_the_notices_come_as_named_cards(phone, site):
    phone.get(site + "/")
    wait = WebDriverWait(phone, 60)
    welcome = wait.until(lambda b: b.find_element(By.ID, "welcome").is_displayed() and b.find_element(By.ID, "welcome"))
    chips = [chip.text for chip in welcome.find_elements(By.CSS_SELECTOR, "#quick-replies button")]
    assert chips == ["투어 예약", "공지", "내 알림", "데이터 질문", "주차장·화장실", "상담원"]
    assert "예:" in welcome.find_element(By.ID, "welcome-example").text
    assert (phone.title, phone.find_element(By.ID, "send").text) == ("파주시 시민 도우미", "보내기")
    assert _placeholder_fits(phone), phone.find_element(By.ID, "message").get_attribute("placeholder")
    assert _fits_sideways(phone)
    _shot(phone, "welcome-ko")

    welcome.find_element(By.XPATH, ".//button[.='공지']").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#messages .notice-card"))
    wait.until(lambda b: b.find_element(By.ID, "typing").get_attribute("hidden"))
    assert phone.find_element(By.CSS_SELECTOR, "#messages .bubble.in").text == "최근 공지 보여줘"
    cards = phone.find_elements(By.CSS_SELECTOR, "#messages .notice-card")
    for card in cards:
        title = card.find_element(By.CSS_SELECTOR, ".card-title").text
        more = card.find_element(By.XPATH, ".//button[contains(., '자세히 보기')]")
        assert title and title in more.get_attribute("aria-label"), "each read-more names its notice"
    # The newest answer is in view and has the focus, for a screen reader to read.
    assert phone.execute_script(
        "const c = document.getElementById('conversation'); return c.scrollTop + c.clientHeight >= c.scrollHeight - 4"
    )
    assert phone.execute_script("return document.activeElement.matches('#messages .bubble.out')")
    _nothing_internal(phone)
    _shot(phone, "notice-cards")

    cards[0].find_element(By.XPATH, ".//button[contains(., '자세히 보기')]").click()
    wait.until(lambda b: len(_answers(b)) > len(cards) + 1)
    _nothing_internal(phone)


def test_an_english_browser_is_welcomed_in_english_and_the_page_follows_the_conversations_language(tmp_path, site):
    browser = _phone(tmp_path / "profile", "en-US")
    try:
        browser.get(site + "/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_element(By.ID, "welcome").is_displayed())
        chips = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#quick-replies button")]
        assert chips[0] == "Book a tour" and "Talk to a person" in chips
        assert (browser.title, browser.find_element(By.ID, "send").text) == ("Paju Citizen Assistant", "Send")
        assert _placeholder_fits(browser)
        _shot(browser, "welcome-en")

        _say(browser, "안녕하세요", wait)
        assert (browser.title, browser.find_element(By.ID, "send").text) == ("파주시 시민 도우미", "보내기")
        assert browser.execute_script("return document.documentElement.lang") == "ko"
        _say(browser, "Hello, what can you do?", wait)
        assert (browser.title, browser.find_element(By.ID, "send").text) == ("Paju Citizen Assistant", "Send")
    finally:
        browser.quit()


def test_parking_links_are_named_and_a_chart_opens_large_with_its_words(phone, site):
    phone.get(site + "/")
    wait = WebDriverWait(phone, 60)
    wait.until(lambda b: b.find_element(By.ID, "welcome").is_displayed())
    _say(phone, "금촌역 근처 주차장 알려줘", wait)
    # Each place's map is a named link button, not an address in the text.
    links = phone.find_elements(By.CSS_SELECTOR, "#messages a.choice.link")
    assert links, _answers(phone)[-1].text
    assert all(link.text.startswith("지도 보기") for link in links), [link.text for link in links]
    assert all(link.get_attribute("href").startswith("https://") for link in links)
    assert "%" not in _answers(phone)[-1].text and "http" not in _answers(phone)[-1].text, "no address is shown"
    _shot(phone, "parking-links")

    _say(phone, "2024년 DMZ 관광객 월별 추이", wait)
    chart = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#messages .picture img"))
    wait.until(lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", chart))
    described = chart.get_attribute("alt")
    assert "DMZ" in described and re.search(r"\d", described), described
    chart.click()
    viewer = phone.find_element(By.ID, "viewer")
    wait.until(lambda b: viewer.get_attribute("open") is not None)
    assert phone.find_element(By.ID, "viewer-caption").text.strip() == described.strip()
    _shot(phone, "chart-large")
    phone.find_element(By.ID, "viewer-close").click()
    wait.until(lambda b: viewer.get_attribute("open") is None)
    _nothing_internal(phone)


def test_the_location_is_sent_after_the_page_asks_and_where_it_is_refused_a_place_name_is_asked_for(tmp_path, site):
    browser = _phone(tmp_path / "profile")
    try:
        # A first visit: the browser has not been asked about this site (headless Chromium would allow it at once).
        browser.execute_cdp_cmd(
            "Browser.setPermission", {"origin": site, "permission": {"name": "geolocation"}, "setting": "prompt"}
        )
        browser.get(site + "/")
        wait = WebDriverWait(browser, 60)
        _say(browser, "근처 주차장 찾아줘", wait)
        browser.find_element(By.ID, "locate").click()
        consent = browser.find_element(By.ID, "consent")
        wait.until(lambda b: consent.get_attribute("open") is not None)
        assert "위치" in consent.text and consent.find_element(By.ID, "consent-confirm").text == "위치 보내기"
        _shot(browser, "location-consent")
        # The citizen agrees, and so does their browser when it asks.
        browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": site, "permissions": ["geolocation"]})
        browser.execute_cdp_cmd("Emulation.setGeolocationOverride", GEUMCHON_STATION)
        before = len(_answers(browser))
        consent.find_element(By.ID, "consent-confirm").click()
        wait.until(lambda b: len(_answers(b)) > before)
        assert browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.in")[-1].text == "현재 위치를 보냈어요"
        assert "주차장" in _answers(browser)[-1].text, _answers(browser)[-1].text
        _nothing_internal(browser)
    finally:
        browser.quit()

    refused = _phone(tmp_path / "refused")
    try:
        refused.execute_cdp_cmd(
            "Browser.setPermission", {"origin": site, "permission": {"name": "geolocation"}, "setting": "denied"}
        )
        refused.get(site + "/")
        wait = WebDriverWait(refused, 60)
        _say(refused, "근처 화장실 어디 있어요?", wait)
        refused.find_element(By.ID, "locate").click()
        prompt = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#messages .bubble.error"))
        assert "장소 이름" in prompt.text and "금촌역 근처 주차장" in prompt.text
        box = refused.find_element(By.ID, "message")
        assert box.get_attribute("placeholder") == "예: 금촌역 근처 주차장"
        assert refused.execute_script("return document.activeElement.id") == "message"
        _shot(refused, "location-refused")
        _say(refused, "금촌역 근처 주차장", wait)
        assert "주차장" in _answers(refused)[-1].text
        _nothing_internal(refused)
    finally:
        refused.quit()


def _open_day():
    day = clock.today() + timedelta(days=4)
    while is_closed(day, PublicHolidays()):
        day += timedelta(days=1)
    return day


def test_a_booking_offers_its_departures_as_a_grid_and_ends_with_a_confirmation_card(phone, site):
    phone.get(site + "/")
    wait = WebDriverWait(phone, 60)
    tour = wait.until(lambda b: b.find_element(By.XPATH, "//*[@id='quick-replies']//button[.='투어 예약']"))
    tour.click()
    wait.until(lambda b: _answers(b) and b.find_element(By.ID, "typing").get_attribute("hidden"))
    assert "언제 방문하실" in _answers(phone)[-1].text
    day = _open_day()
    _say(phone, f"{day.month}월 {day.day}일", wait)
    departures = _answers(phone)[-1].find_element(By.CSS_SELECTOR, ".choices")
    buttons = departures.find_elements(By.TAG_NAME, "button")
    assert len(buttons) > 3 and "grid" in departures.get_attribute("class")
    rows = {button.location["y"] for button in buttons}
    assert len(rows) < len(buttons), "several departures share a row"
    assert _fits_sideways(phone)
    _shot(phone, "departures-grid")

    def press(title: str) -> None:
        before = len(_answers(phone))
        _answers(phone)[-1].find_element(By.XPATH, f".//button[contains(., '{title}')]").click()
        wait.until(lambda b: len(_answers(b)) > before and b.find_element(By.ID, "typing").get_attribute("hidden"))

    buttons[0].click()
    wait.until(lambda b: "어른" in _answers(b)[-1].text)
    _say(phone, "어른 2명", wait)
    press("동의")
    _say(phone, "김민수", wait)
    _say(phone, "010-1234-5678", wait)
    press("예약 확정")
    card = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#messages .facts-card")[-1])
    assert "예약번호" in card.find_element(By.CSS_SELECTOR, ".card-title").text, card.text
    facts = [fact.text for fact in card.find_elements(By.CSS_SELECTOR, ".card-facts li")]
    assert len(facts) >= 3 and any("원" in fact for fact in facts), facts
    _nothing_internal(phone)
    _shot(phone, "booking-card")


def _leave_staff_reply(telegram, browser, text: str) -> None:
    _fake, stack = telegram
    user_id = next(c["value"] for c in browser.get_cookies() if c["name"] == COOKIE).partition(".")[0]
    response = httpx.post(
        f"{stack.url('api')}/api/outbox",
        json={"channel": "web", "channel_user_id": user_id, "text": text, "kind": "staff_reply"},
        headers={"Authorization": f"Bearer {stack.service_token}"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("transport", ["push", "poll"])
def test_a_city_message_reaches_the_open_page_pushed_or_where_push_fails_polled(tmp_path, site, telegram, transport):
    browser = _phone(tmp_path / "profile")
    try:
        if transport == "poll":  # a browser or proxy without server-sent events
            browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"})
        browser.get(site + "/")
        wait = WebDriverWait(browser, 60)
        _say(browser, "안녕하세요", wait)
        assert browser.find_element(By.CSS_SELECTOR, "main.chat").get_attribute("data-updates") == transport
        words = f"담당자입니다. 문의하신 내용 확인했어요 ({transport})"
        _leave_staff_reply(telegram, browser, words)
        wait.until(lambda b: any(words in a.text for a in _answers(b)))
        _shot(browser, f"city-message-{transport}")
        browser.refresh()
        wait.until(lambda b: any(words in a.text for a in _answers(b)))
        assert sum(words in a.text for a in _answers(browser)) == 1, "shown once, also after a reload"
    finally:
        browser.quit()


def test_the_chat_page_has_no_serious_accessibility_violations_and_works_from_the_keyboard(phone, site):
    phone.get(site + "/")
    wait = WebDriverWait(phone, 60)
    wait.until(lambda b: b.find_element(By.ID, "welcome").is_displayed())
    found = violations(phone)
    assert not found, summary(found)

    # From the keyboard alone: the tab order reaches the quick choices, Enter sends one.
    body = phone.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(12):
        if phone.execute_script("return document.activeElement.closest('#quick-replies') !== null"):
            break
        phone.switch_to.active_element.send_keys(Keys.TAB)
    assert phone.switch_to.active_element.text == "투어 예약"
    phone.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda b: _answers(b) and b.find_element(By.ID, "typing").get_attribute("hidden"))
    assert phone.execute_script("return document.activeElement.matches('#messages .bubble.out')")
    # Typing on from the answer goes into the message box.
    phone.switch_to.active_element.send_keys("오")
    assert phone.execute_script("return document.activeElement.id") == "message"
    phone.find_element(By.ID, "message").clear()
    _say(phone, "최근 공지 보여줘", wait)
    found = violations(phone)
    assert not found, summary(found)
    unlabelled = phone.execute_script(
        """return [...document.querySelectorAll('button, textarea, input:not([type=file]), a')]
             .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.labels?.length))
             .map((e) => e.outerHTML.slice(0, 80));"""
    )
    assert unlabelled == []
    _shot(phone, "accessibility")
