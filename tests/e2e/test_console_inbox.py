"""The staff inbox in real Chromium against a running api (issue 21, inbox items 1–3): a queue that says who and what
and updates itself, a conversation that opens at its newest message, "/" for canned replies, confirmations that keep
staff where they were, notes, labels, assigning, search; and axe-core on the main console pages.
Screenshots go to var/screenshots/."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.conversations.seed import seed_canned_replies
from api.core.database import make_engine, make_sessionmaker
from api.identity.models import PhoneLink
from api.staff.permissions import TRANSCRIPTS_READ
from api.staff.service import create_user
from tests.support.axe import summary, violations
from tests.support.browser import LAPTOP, chromium
from tests.support.stack import Stack

pytestmark = pytest.mark.stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
STAFF_EMAIL, COLLEAGUE_EMAIL = "lee.inbox@paju.example", "park.inbox@paju.example"
PASSWORD = "dmz-peace-2026!"


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Stack]:
    """The api alone, as a real process on its own database: the inbox needs no Rasa or gateway."""
    stack = Stack(tmp_path_factory.mktemp("inbox"), extra_env={"KNOWLEDGE_WARM_UP": "false"})
    try:
        stack.start(only=("api",))
        engine = make_engine(stack.database_url)
        with make_sessionmaker(engine)() as session:
            create_user(session, STAFF_EMAIL, "이상담", PASSWORD, permissions=[TRANSCRIPTS_READ])
            create_user(session, COLLEAGUE_EMAIL, "박동료", PASSWORD)
            seed_canned_replies(session)
            session.commit()
        engine.dispose()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture
def browser(tmp_path, api):
    driver = chromium(tmp_path / "profile", LAPTOP)
    yield driver
    driver.quit()


def _service(api: Stack, path: str, body: dict) -> dict:
    headers = {"Authorization": f"Bearer {api.service_token}"}
    response = httpx.post(f"{api.url('api')}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _citizen_says(api: Stack, user: str, text: str, number: int) -> dict:
    body = {"channel": "telegram", "channel_user_id": user, "channel_message_id": f"{user}-{number}", "text": text}
    return _service(api, "/api/conversations/messages", body | {"language": "ko"})


def _asks_for_a_person(api: Stack, user: str, department: str) -> dict:
    body = {"channel": "telegram", "channel_user_id": user, "department": department}
    return _service(api, "/api/conversations/handoffs", body)


def _by(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def _shot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"console-inbox-{name}.png"))


def _no_serious_violations(browser, page: str) -> None:
    found = violations(browser)
    assert not found, f"{page}:\n{summary(found)}"


def _sign_in(browser, api: Stack, email: str, path: str = "/console/queue") -> WebDriverWait:
    wait = WebDriverWait(browser, 30)
    browser.get(f"{api.url('api')}{path}")
    wait.until(ec.element_to_be_clickable(_by("signin-email"))).send_keys(email)
    browser.find_element(*_by("signin-password")).send_keys(PASSWORD)
    browser.find_element(*_by("signin-submit")).click()
    return wait


def _at_bottom(browser) -> bool:
    return browser.execute_script(
        "const t = document.getElementById('transcript');"
        "return t.scrollHeight > t.clientHeight && t.scrollTop + t.clientHeight >= t.scrollHeight - 2;"
    )


def test_staff_work_the_inbox_live_with_canned_replies_notes_labels_and_search(api, browser):
    # A citizen with a long talk behind them, a phone the city knows, and a request for the tourism team.
    for number in range(1, 31):
        _citizen_says(api, "8101", f"질문 {number}번: DMZ 투어 버스는 몇 시에 떠나요?", number)
    first_id = _citizen_says(api, "8101", "스무 명 단체로 예약하고 싶어요", 31)["conversation_id"]
    first = _asks_for_a_person(api, "8101", "tourism")
    engine = make_engine(api.database_url)
    with make_sessionmaker(engine)() as session:
        session.add(PhoneLink(phone="01044448888", conversation_id=first_id))
        session.commit()
    engine.dispose()

    wait = _sign_in(browser, api, STAFF_EMAIL)
    row = wait.until(ec.presence_of_element_located(_by("queue-row")))
    # Who and what: the masked number, the last words, channel and language; never the whole number.
    assert "010-****-8888" in row.text and "스무 명 단체로 예약하고 싶어요" in row.text
    assert "텔레그램" in row.text and "한국어" in row.text and "01044448888" not in browser.page_source
    wait.until(lambda b: b.title.startswith("(1) "))
    assert browser.find_element(*_by("nav-queue")).get_attribute("aria-current") == "page"
    _no_serious_violations(browser, "queue")

    # A second citizen asks while the page is open: the row and the badge come without a reload.
    browser.execute_script("window.stillTheSamePage = true;")
    second_id = _citizen_says(api, "8102", "주차장 위치를 사람에게 묻고 싶어요", 1)["conversation_id"]
    second = _asks_for_a_person(api, "8102", "civil_affairs")
    started = time.monotonic()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f'[data-handoff-id="{second["id"]}"]'))
    wait.until(lambda b: b.title.startswith("(2) "))
    assert time.monotonic() - started < 15
    assert browser.execute_script("return window.stillTheSamePage === true;")
    _shot(browser, "queue-live")

    # The conversation opens at its newest message.
    row = browser.find_element(By.CSS_SELECTOR, f'[data-handoff-id="{first["id"]}"]')
    row.find_element(*_by("claim-button")).click()
    wait.until(ec.presence_of_element_located(_by("flash")))
    assert "맡았어요" in browser.find_element(*_by("flash")).text
    wait.until(lambda b: _at_bottom(b))
    newest = browser.find_elements(*_by("transcript-message"))[-1]
    assert browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(), t = document.getElementById('transcript')"
        ".getBoundingClientRect(); return r.bottom <= t.bottom + 1 && r.top >= t.top - 1;",
        newest,
    )
    _shot(browser, "conversation-opened")
    _no_serious_violations(browser, "conversation")

    # "/" lists the canned replies; the words after it narrow the list; Enter puts the chosen text in the box.
    box = browser.find_element(*_by("reply-box"))
    box.send_keys("/")
    menu = browser.find_element(*_by("canned-menu"))
    wait.until(lambda b: menu.is_displayed())
    shown = [o for o in browser.find_elements(*_by("canned-option")) if o.is_displayed()]
    assert len(shown) >= 5
    box.send_keys("단체")
    wait.until(
        lambda b: [o.text for o in b.find_elements(*_by("canned-option")) if o.is_displayed()] == ["DMZ 단체 예약"]
    )
    _shot(browser, "canned-slash")
    box.send_keys(Keys.ENTER)
    assert box.get_attribute("value").startswith("DMZ 평화관광 단체 예약(20명 이상)")
    assert not menu.is_displayed()
    browser.find_element(*_by("send-button")).click()
    flash = wait.until(ec.visibility_of_element_located(_by("flash")))
    assert "메시지를 보냈어요" in flash.text
    assert browser.current_url.endswith("#reply-form")
    assert "DMZ 평화관광 단체 예약" in browser.find_elements(*_by("transcript-message"))[-1].text
    wait.until(lambda b: _at_bottom(b))

    # A private note and a label.
    browser.find_element(*_by("note-text")).send_keys("관광과 단체 담당에게 좌석 확인 요청함")
    browser.find_element(*_by("note-button")).click()
    wait.until(ec.text_to_be_present_in_element(_by("flash"), "메모를 남겼어요"))
    assert "관광과 단체 담당에게 좌석 확인 요청함" in browser.find_element(*_by("notes")).text
    browser.find_element(*_by("label-input")).send_keys("단체예약")
    browser.find_element(*_by("label-button")).click()
    wait.until(ec.text_to_be_present_in_element(_by("flash"), "라벨을 붙였어요"))
    _shot(browser, "conversation")

    # Closing keeps the staff member on the conversation, with a confirmation.
    conversation_url = browser.current_url.split("?")[0]
    browser.find_element(*_by("close-outcome")).send_keys("단체 예약 안내 완료")
    browser.find_element(*_by("close-button")).click()
    wait.until(ec.text_to_be_present_in_element(_by("flash"), "상담을 끝냈어요"))
    assert browser.current_url.split("?")[0] == conversation_url

    # The other request goes to a colleague.
    browser.get(f"{api.url('api')}/console/conversations/{second_id}")
    Select(wait.until(ec.presence_of_element_located(_by("assign-colleague")))).select_by_visible_text("박동료")
    browser.find_element(*_by("assign-button")).click()
    wait.until(ec.text_to_be_present_in_element(_by("flash"), "담당자를 바꿨어요"))
    assert "박동료" in browser.find_element(*_by("handoff-status")).text

    # Search by a phone's last digits, then by label with a filter.
    browser.get(f"{api.url('api')}/console/conversations")
    wait.until(ec.presence_of_element_located(_by("search-phone"))).send_keys("8888")
    browser.find_element(*_by("search-button")).click()
    wait.until(ec.url_contains("phone=8888"))
    rows = wait.until(lambda b: b.find_elements(*_by("conversation-row")))
    assert [r.get_attribute("data-conversation-id") for r in rows] == [str(first_id)]
    assert "010-****-8888" in rows[0].text and "단체예약" in rows[0].text
    browser.get(f"{api.url('api')}/console/conversations?label=단체예약&status=closed")
    rows = wait.until(lambda b: b.find_elements(*_by("conversation-row")))
    assert [r.get_attribute("data-conversation-id") for r in rows] == [str(first_id)]
    assert "종료" in rows[0].text
    _shot(browser, "search")

    browser.get(f"{api.url('api')}/console/dashboard")
    wait.until(ec.presence_of_element_located(_by("nav-dashboard")))
    assert browser.find_element(*_by("nav-dashboard")).get_attribute("aria-current") == "page"
    _no_serious_violations(browser, "dashboard")
