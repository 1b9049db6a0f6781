"""A citizen on a phone waits for a person in the web chat while a staff member works in the console, both in real
Chromium: the wait acknowledged, an old button explained, the department's staff announced, their bubbles drawn apart,
and the satisfaction question answered and kept. Screenshots go to var/screenshots/."""

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from api.conversations.models import Conversation, Handoff
from api.core.database import make_engine, make_sessionmaker
from api.staff.service import create_user
from tests.support.browser import LAPTOP, PHONE, chromium

pytestmark = pytest.mark.stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
STAFF_EMAIL = "lee.tour@paju.example"
STAFF_PASSWORD = "imjingak-2026!"


@pytest.fixture
def citizen(tmp_path):
    driver = chromium(tmp_path / "citizen", PHONE)
    yield driver
    driver.quit()


@pytest.fixture
def console(tmp_path, stack):
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        create_user(session, STAFF_EMAIL, "이관광", STAFF_PASSWORD, role="staff")
    engine.dispose()
    driver = chromium(tmp_path / "console", LAPTOP)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"handoff-{name}.png"))


def _bot_bubbles(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")


def _say(browser, wait, text: str) -> None:
    before = len(_bot_bubbles(browser))
    box = wait.until(ec.element_to_be_clickable((By.ID, "message")))
    box.send_keys(text, Keys.ENTER)
    wait.until(lambda b: len(_bot_bubbles(b)) > before)


def _wait_for_bubble(wait, text: str):
    return wait.until(lambda b: next((e for e in _bot_bubbles(b) if text in e.text), None))


def _by(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def _handoff_of(stack, browser) -> tuple[int, int]:
    """The citizen's open handoff and conversation, found by the web chat's id in their cookie."""
    user_id = browser.get_cookie("paju_chat")["value"].partition(".")[0]
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        conversation = session.scalar(
            select(Conversation).where(Conversation.channel == "web", Conversation.channel_user_id == user_id)
        )
        handoff = session.scalar(
            select(Handoff).where(Handoff.conversation_id == conversation.id).order_by(Handoff.id.desc()).limit(1)
        )
        found = handoff.id, conversation.id
    engine.dispose()
    return found


def _satisfaction(stack, handoff_id: int) -> int | None:
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        score = session.get(Handoff, handoff_id).satisfaction
    engine.dispose()
    return score


def test_a_citizen_waits_for_a_person_talks_with_tourism_staff_and_rates_the_conversation(stack, citizen, console):
    phone, wait = citizen, WebDriverWait(citizen, 40)
    phone.get(stack.url("gateway") + "/")

    # Before the handoff the assistant offers a button (its greeting's); the citizen asks about the DMZ tour, then
    # for a person.
    _say(phone, wait, "안녕하세요")
    offered = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#messages .bubble.out button.choice"))
    old_button = offered[0]
    _say(phone, wait, "DMZ 투어 소개해 주세요")
    _say(phone, wait, "상담원 연결해주세요")
    asked = _bot_bubbles(phone)[-1].text
    assert "연결을 요청했어요" in asked or "상담 시간이 아니에요" in asked, asked

    # A message while waiting is acknowledged once; a second one goes quietly to staff.
    _say(phone, wait, "언제쯤 연결되나요?")
    assert "접수됐어요, 담당자에게 전달했어요" in _bot_bubbles(phone)[-1].text
    # The old button says why it does nothing now, instead of nothing.
    assert old_button.is_enabled()
    before = len(_bot_bubbles(phone))
    old_button.click()
    wait.until(lambda b: len(_bot_bubbles(b)) > before)
    assert "지금은 상담원과 대화 중이에요. 상담이 끝나면 다시 쓸 수 있어요." in _bot_bubbles(phone)[-1].text
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    _shot(phone, "1-waiting-ack-and-old-button")

    # The staff member signs in, finds the conversation in tourism's queue and claims it.
    handoff_id, conversation_id = _handoff_of(stack, phone)
    desk, desk_wait = console, WebDriverWait(console, 40)
    desk.get(f"{stack.url('api')}/console/conversations/{conversation_id}")
    desk_wait.until(ec.element_to_be_clickable(_by("signin-email"))).send_keys(STAFF_EMAIL)
    desk.find_element(*_by("signin-password")).send_keys(STAFF_PASSWORD)
    desk.find_element(*_by("signin-submit")).click()
    desk.get(f"{stack.url('api')}/console/conversations/{conversation_id}")
    assert desk_wait.until(ec.presence_of_element_located(_by("handoff-department"))).text == "관광"
    correction = desk.find_element(*_by("department-correction"))
    assert {b.get_attribute("data-department") for b in correction.find_elements(*_by("correct-department"))} == {
        "civil_affairs",
        "open_data",
    }
    desk.find_element(*_by("claim-button")).click()
    desk_wait.until(ec.presence_of_element_located(_by("reply-box")))
    _shot(desk, "2-console-claimed")

    # The citizen sees who joined, pushed to the open page.
    _wait_for_bubble(wait, "관광과 상담원이 연결됐어요")

    desk.find_element(*_by("reply-box")).send_keys("안녕하세요, 관광과입니다. 단체 예약은 30명까지 가능해요.")
    desk.find_element(*_by("send-button")).click()
    staff_bubble = _wait_for_bubble(wait, "단체 예약은 30명까지 가능해요")
    assert "staff" in staff_bubble.get_attribute("class").split()
    assert staff_bubble.find_element(By.CSS_SELECTOR, ".author").text == "관광과 상담원"
    bot_bubble = _bot_bubbles(phone)[0]
    assert staff_bubble.value_of_css_property("background-color") != bot_bubble.value_of_css_property(
        "background-color"
    )
    _shot(phone, "3-connected-and-staff-bubble")

    # The staff member closes; the citizen is asked how it went and answers with one tap.
    desk.get(f"{stack.url('api')}/console/conversations/{conversation_id}")
    desk_wait.until(ec.presence_of_element_located(_by("close-outcome"))).send_keys("단체 예약 안내 완료")
    desk.find_element(*_by("close-button")).click()
    question = _wait_for_bubble(wait, "상담은 만족스러우셨나요?")
    scores = question.find_elements(By.CSS_SELECTOR, "button.choice")
    assert [b.text for b in scores] == ["1점", "2점", "3점", "4점", "5점"]
    _shot(phone, "4-satisfaction-question")
    scores[4].click()
    _wait_for_bubble(wait, "5점, 소중한 의견 고마워요")
    _shot(phone, "5-satisfaction-thanks")
    assert _satisfaction(stack, handoff_id) == 5

    # The dashboard counts it.
    desk.get(f"{stack.url('api')}/console/dashboard")
    figures = desk_wait.until(ec.presence_of_element_located(_by("dashboard-satisfaction")))
    assert int(figures.get_attribute("data-count")) >= 1
    assert "상담 만족도" in figures.text
