"""A citizen on Telegram asks for a person; a staff member answers from the console in real Chromium."""

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.core.database import make_engine, make_sessionmaker
from api.staff.service import create_user
from tests.support.browser import LAPTOP, chromium
from tests.support.telegram_chat import Chat

pytestmark = pytest.mark.stack

STAFF_EMAIL = "kim.tour@paju.example"
STAFF_PASSWORD = "dmz-peace-2026!"


@pytest.fixture
def console(tmp_path, telegram):
    _fake, stack = telegram
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        create_user(session, STAFF_EMAIL, "김관광", STAFF_PASSWORD, role="staff")
        session.commit()
    engine.dispose()
    driver = chromium(tmp_path / "profile", LAPTOP)
    yield driver
    driver.quit()


def _by(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def _tracker_events(stack, sender: str) -> list[str]:
    response = httpx.get(
        f"{stack.url('rasa')}/conversations/{sender}/tracker",
        params={"token": stack.rasa_token, "include_events": "ALL"},
    )
    return [event["event"] for event in response.json()["events"]]


def test_staff_take_over_a_telegram_conversation_answer_live_and_hand_it_back(telegram, console):
    fake, stack = telegram
    citizen = Chat(fake, 7101)
    citizen.say("안녕하세요")
    asked = citizen.say("상담원 연결해주세요")
    # Inside office hours the place in the queue, outside them when someone will answer.
    assert "연결을 요청했어요" in asked or "상담 시간이 아니에요" in asked
    before = len(fake.sent(7101))
    fake.send_text(7101, "12월 5일 예약을 6일로 바꿀 수 있나요?")
    fake.wait_for(lambda f: len(f.sent(7101)) > before)

    browser, wait = console, WebDriverWait(console, 30)
    browser.get(f"{stack.url('api')}/console/queue")
    wait.until(ec.element_to_be_clickable(_by("signin-email"))).send_keys(STAFF_EMAIL)
    browser.find_element(*_by("signin-password")).send_keys(STAFF_PASSWORD)
    browser.find_element(*_by("signin-submit")).click()

    row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="queue-row"]')))
    row.find_element(*_by("claim-button")).click()
    transcript = wait.until(ec.presence_of_element_located(_by("transcript")))
    # The whole conversation, the assistant's turns included, and the message left while waiting.
    assert "상담원 연결해주세요" in transcript.text
    assert "파주시 시민 도우미" in transcript.text
    assert "12월 5일 예약을 6일로" in transcript.text
    # Nothing the citizen wrote after asking was answered by the bot: they were told it reached staff, and (as soon
    # as the claim's message is delivered) who joined.
    told = [m.get("text") or "" for m in fake.sent(7101)[before:]]
    assert told[0].startswith("접수됐어요, 담당자에게 전달했어요")
    assert all(text == told[0] or "상담원이 연결됐어요" in text for text in told)

    browser.find_element(*_by("reply-box")).send_keys("안녕하세요, 파주시 관광과 김관광입니다. 네, 변경 가능해요.")
    browser.find_element(*_by("send-button")).click()
    fake.wait_for(lambda f: any("관광과 김관광입니다" in (m.get("text") or "") for m in f.sent(7101)))

    wait.until(ec.presence_of_element_located(_by("transcript")))
    browser.execute_script("window.stillTheSamePage = true;")
    fake.send_text(7101, "감사합니다! 오전 10시로 부탁드려요")
    wait.until(lambda b: "오전 10시로 부탁드려요" in b.find_element(*_by("transcript")).text)
    assert browser.execute_script("return window.stillTheSamePage === true;"), "the page was reloaded"

    browser.find_element(*_by("close-outcome")).send_keys("12월 6일 10시로 변경 안내 완료")
    browser.find_element(*_by("close-button")).click()
    # The "assistant is back" message, then the satisfaction question.
    fake.wait_for(lambda f: "만족스러우셨나요" in (f.sent(7101)[-1].get("text") or ""))
    back = fake.sent(7101)[-2]["text"]
    assert "챗봇" in back or "상담봇" in back or "도우미" in back

    greeting = citizen.say("안녕하세요")
    assert "파주시 시민 도우미" in greeting
    events = _tracker_events(stack, "telegram:7101")
    assert "pause" in events and "resume" in events and "restart" in events
    assert events.index("pause") < events.index("resume") < events.index("restart")
