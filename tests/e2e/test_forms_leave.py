"""A form never complains about what the citizen has not been asked yet, and a new topic in the middle of a form
leaves it for that topic, in the web chat with the real api, Rasa model and action server (issue 21, item 1)."""

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import PHONE, chromium

pytestmark = pytest.mark.stack
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def _hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_my_certified_notices_ask_for_the_phone_without_an_error_then_a_booking_leaves_the_form(chat):
    start = _texts(chat("내 공인알림 보여줘"))
    # The explanation and the one question: no complaint about a number or a code nobody has typed yet.
    assert any("휴대폰 번호" in t for t in start), start
    assert not any("인증번호는" in t or "확인해 주세요" in t for t in start), start
    assert len(start) == 2, start

    booking = _texts(chat("DMZ 투어 예약하고 싶어요"))
    assert not any("번호" in t and ("형식" in t or "확인" in t) for t in booking), booking
    # The booking's first question, not the phone form's question again.
    assert any("날짜" in t or "언제" in t for t in booking), booking
    assert any("연결은 그만둘게요" in t for t in booking), booking
    assert not any("휴대폰 번호를 알려" in t for t in booking), booking

    # The booking form is the one open now: a day is its answer.
    day = _texts(chat("모레"))
    assert not any("휴대폰" in t for t in day), day


def test_in_english_the_phone_form_asks_without_errors_and_a_booking_request_leaves_it(chat):
    start = _texts(chat("show my certified notices"))
    assert any("mobile number" in t.lower() or "phone" in t.lower() for t in start), start
    assert not any("6 digits" in t or "check the" in t.lower() for t in start), start
    assert len(start) == 2, start

    booking = _texts(chat("I want to book a DMZ tour"))
    assert booking and not any(_hangul(t) for t in booking), booking
    assert any("date" in t.lower() or "day" in t.lower() or "when" in t.lower() for t in booking), booking
    assert any("stopped linking" in t for t in booking), booking
    assert not any("number, please" in t for t in booking), booking


def test_a_new_topic_in_the_middle_of_a_booking_leaves_the_booking(chat):
    chat("DMZ 투어 예약하고 싶어요")
    notices = _texts(chat("최신 공지 보여줘"))
    assert any("투어 예약은 여기서 그만둘게요" in t for t in notices), notices
    # The notices' answer (this stack has none published) and no booking question after it.
    assert any("공지" in t for t in notices[1:]), notices
    assert not any("언제 방문" in t for t in notices), notices


def test_in_english_a_new_topic_in_the_middle_of_a_booking_leaves_the_booking(chat):
    chat("I want to book a DMZ tour")
    notices = _texts(chat("show me the latest notices"))
    assert any("stopped the tour booking" in t for t in notices), notices
    assert any("notices" in t.lower() for t in notices[1:]), notices
    assert not any(_hangul(t) or "Which day" in t for t in notices), notices


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "profile", PHONE)
    yield driver
    driver.quit()


def _say(browser, text: str, until: str) -> list[str]:
    """Types `text` on the phone-sized page and returns the bot's new bubbles once one of them contains `until`."""
    wait = WebDriverWait(browser, 30)
    before = len(browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out"))
    wait.until(ec.element_to_be_clickable((By.ID, "message"))).send_keys(text, Keys.ENTER)

    def answered(b) -> list[str] | None:
        new = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")[before:]]
        return new if any(until in t for t in new) else None

    return wait.until(answered)


def test_on_a_phone_the_certified_notices_ask_once_and_a_tour_booking_takes_over(browser, stack):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(stack.url("gateway") + "/")
    asked = _say(browser, "내 공인알림 보여줘", until="휴대폰 번호를 알려")
    assert not any("인증번호는" in t or "입력을 확인" in t for t in asked), asked
    browser.save_screenshot(str(SCREENSHOTS / "forms-1-phone-asked-without-errors.png"))

    booking = _say(browser, "DMZ 투어 예약하고 싶어요", until="언제 방문")
    assert any("연결은 그만둘게요" in t for t in booking), booking
    assert not any("휴대폰 번호를 알려" in t or "형식" in t for t in booking), booking
    browser.save_screenshot(str(SCREENSHOTS / "forms-2-booking-takes-over.png"))
