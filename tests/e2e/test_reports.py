"""Citizen reports end to end: a citizen files one on Telegram (photo and shared location) or on the web in English
(a typed place), a staff member takes it in the console in real Chromium, writes and closes it, and the citizen
sees every status change in the same chat and rates the handling."""

import io
import re
from datetime import datetime

import httpx
import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import text

from api.core.database import make_engine, make_sessionmaker
from api.staff.service import create_user
from common.clock import SEOUL
from tests.support.browser import LAPTOP, PHONE, chromium
from tests.support.telegram_chat import Chat

pytestmark = pytest.mark.stack

STAFF_EMAIL = "park.traffic@paju.example"
STAFF_PASSWORD = "parking-enforce-2026!"
RECEIPT = re.compile(r"PJ-\d{4}-\d{6}")
# In front of Geumchon Station: inside Paju, far from every other test's point.
GEUMCHON = (37.7660, 126.7745)


def _jpeg(colour: tuple[int, int, int] = (90, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "JPEG")
    return out.getvalue()


def _buttons(citizen: Chat) -> list[tuple[dict, dict]]:
    return [
        (message, button)
        for message in citizen.replies
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
    ]


def _press(citizen: Chat, title: str) -> str:
    """Presses the newest button whose title contains `title`, as the citizen would tap it."""
    message, button = [(m, b) for m, b in _buttons(citizen) if title in b["text"]][-1]
    before = len(citizen.fake.sent(citizen.chat_id))
    citizen.fake.press_button(citizen.chat_id, message["message_id"], button["callback_data"])
    citizen.replies = citizen._wait_new(before)
    return " ".join(m.get("text") or "" for m in citizen.replies)


def _act(citizen: Chat, send) -> str:
    before = len(citizen.fake.sent(citizen.chat_id))
    send()
    citizen.replies = citizen._wait_new(before)
    return " ".join(m.get("text") or "" for m in citizen.replies)


def _file_parking_report(fake, chat_id: int, photo: bytes) -> str:
    """An illegal-parking report with a photo and a shared location, up to its receipt; returns the receipt reply."""
    citizen = Chat(fake, chat_id)
    asked = citizen.say("불법주차 신고하고 싶어요")
    assert "위치" in asked or "어디" in asked, asked
    # "Here" is no place name: Telegram offers its own location button instead.
    asked = citizen.say("여기요")
    assert "찾은" not in asked and "몰라요" not in asked, asked
    keyboards = [m["reply_markup"]["keyboard"] for m in citizen.replies if "keyboard" in (m.get("reply_markup") or {})]
    assert keyboards and keyboards[-1][0][0].get("request_location") is True, citizen.replies
    asked = _act(citizen, lambda: fake.send_location(chat_id, *GEUMCHON))
    assert "상황" in asked, asked
    asked = citizen.say("소화전 앞에 흰색 트럭이 아침부터 서 있어요")
    assert "사진" in asked, asked
    got = _act(citizen, lambda: fake.send_photo(chat_id, photo))
    assert "사진 1장 받았어요" in got, got
    asked = _press(citizen, "계속")
    assert "전화" in asked, asked
    summary = _press(citizen, "아니요")
    assert "불법 주정차" in summary and "소화전" in summary, summary
    return _press(citizen, "접수하기")


def _report(stack, receipt_no: str) -> dict:
    response = httpx.get(
        f"{stack.url('api')}/api/reports/{receipt_no}",
        headers={"Authorization": f"Bearer {stack.service_token}", "Accept-Language": "ko"},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def console(tmp_path, telegram):
    _fake, stack = telegram
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        create_user(session, STAFF_EMAIL, "박교통", STAFF_PASSWORD, role="staff")
        session.commit()
    engine.dispose()
    driver = chromium(tmp_path / "profile", LAPTOP)
    yield driver
    driver.quit()


def _by(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def _wait_for_text(fake, chat_id: int, words: str, after: int) -> dict:
    fake.wait_for(lambda f: any(words in (m.get("text") or "") for m in f.sent(chat_id)[after:]))
    return next(m for m in fake.sent(chat_id)[after:] if words in (m.get("text") or ""))


def test_a_parking_report_from_telegram_is_taken_answered_and_closed_by_staff_and_rated(telegram, console, tmp_path):
    fake, stack = telegram
    chat_id = 7301
    filed = _file_parking_report(fake, chat_id, _jpeg())
    receipt_no = RECEIPT.search(filed).group(0)
    assert receipt_no.startswith(f"PJ-{datetime.now(SEOUL).year}-")
    assert "교통행정과" in filed, filed
    assert "첫 답변" in filed or "답변" in filed, filed
    case = _report(stack, receipt_no)
    assert case["kind"] == "illegal_parking" and case["status"] == "received" and case["photos"] == 1

    browser, wait = console, WebDriverWait(console, 30)
    browser.get(f"{stack.url('api')}/console/cases?department=traffic")
    wait.until(ec.element_to_be_clickable(_by("signin-email"))).send_keys(STAFF_EMAIL)
    browser.find_element(*_by("signin-password")).send_keys(STAFF_PASSWORD)
    browser.find_element(*_by("signin-submit")).click()
    wait.until(ec.presence_of_element_located((By.LINK_TEXT, receipt_no))).click()
    wait.until(ec.presence_of_element_located(_by("case-photo")))
    assert "소화전 앞에 흰색 트럭" in browser.find_element(*_by("case-description")).text
    browser.save_screenshot(str(tmp_path / "case.png"))

    before = len(fake.sent(chat_id))
    browser.find_element(*_by("take-button")).click()
    assigned = _wait_for_text(fake, chat_id, receipt_no, before)
    assert "담당자" in assigned["text"], assigned

    before = len(fake.sent(chat_id))
    Select(wait.until(ec.presence_of_element_located(_by("status-select")))).select_by_value("in_progress")
    message = browser.find_element(*_by("status-message"))
    message.clear()
    message.send_keys("단속반이 현장으로 출발했어요.")
    browser.find_element(*_by("status-button")).click()
    working = _wait_for_text(fake, chat_id, "단속반이 현장으로 출발했어요", before)
    assert receipt_no in working["text"] and "처리 중" in working["text"]

    before = len(fake.sent(chat_id))
    Select(wait.until(ec.presence_of_element_located(_by("status-select")))).select_by_value("done")
    message = browser.find_element(*_by("status-message"))
    message.clear()
    message.send_keys("과태료를 부과하고 차량을 이동시켰어요.")
    browser.find_element(*_by("status-button")).click()
    done = _wait_for_text(fake, chat_id, "과태료를 부과하고", before)
    assert "완료" in done["text"]
    stars = [b for row in done["reply_markup"]["inline_keyboard"] for b in row]
    assert len(stars) == 5

    citizen = Chat(fake, chat_id)
    citizen.replies = [done]
    thanks = _press(citizen, stars[3]["text"])
    assert "감사" in thanks and "의견" in thanks, thanks
    # The score is kept from the tap; the comment joins it.
    assert _report(stack, receipt_no)["rating"] == 4
    assert "전달" in citizen.say("빨리 처리해 주셔서 좋았어요")
    case = _report(stack, receipt_no)
    assert case["status"] == "done" and case["rating"] == 4
    engine = make_engine(stack.database_url)
    with engine.connect() as connection:
        comment = connection.execute(
            text("SELECT rating_comment FROM report_cases WHERE receipt_no = :no"), {"no": receipt_no}
        ).scalar()
    engine.dispose()
    assert comment == "빨리 처리해 주셔서 좋았어요"
    assert [step["status"] for step in case["history"]][:1] == ["received"]
    assert {"assigned", "in_progress", "done"} <= {step["status"] for step in case["history"]}

    status = citizen.say("내 신고 어떻게 됐어요?")
    assert receipt_no in status and "처리 완료" in status, status


def test_the_same_parking_problem_reported_twice_nearby_is_merged_into_one_case(telegram):
    fake, stack = telegram
    first = RECEIPT.search(_file_parking_report(fake, 7311, _jpeg((10, 200, 10)))).group(0)
    second_reply = _file_parking_report(fake, 7312, _jpeg((200, 10, 10)))
    assert first in second_reply and "묶" in second_reply, second_reply
    case = _report(stack, first)
    assert case["photos"] == 2


def test_a_file_that_is_not_an_image_or_too_large_is_refused_and_nothing_is_stored(telegram):
    fake, stack = telegram
    chat_id = 7321
    citizen = Chat(fake, chat_id)
    refused = _act(citizen, lambda: fake.send_document(chat_id, b"%PDF-1.4 not a photo", "application/pdf", "a.pdf"))
    assert "사진" in refused, refused
    refused = _act(citizen, lambda: fake.send_document(chat_id, b"not really a jpeg", "image/jpeg", "fake.jpg"))
    assert "사진" in refused and "받았어요" not in refused, refused
    huge = _jpeg() + b"\0" * (11 * 1024 * 1024)
    refused = _act(citizen, lambda: fake.send_document(chat_id, huge, "image/jpeg", "huge.jpg"))
    assert "MiB" in refused or "MB" in refused or "커요" in refused, refused
    engine = make_engine(stack.database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text(
                "SELECT count(*) FROM report_photos p JOIN conversations c ON c.id = p.conversation_id "
                "WHERE c.channel = 'telegram' AND c.channel_user_id = :user"
            ),
            {"user": str(chat_id)},
        ).scalar()
    engine.dispose()
    assert stored == 0


def test_a_broken_streetlight_reported_in_english_on_the_web_with_a_typed_place(chat, stack):
    def say(text: str = "", payload: str | None = None) -> tuple[str, list[dict]]:
        replies = chat(text, payload)
        words = " ".join(r.get("text") or "" for r in replies)
        buttons = [b for r in replies for b in (r.get("buttons") or [])]
        return words, buttons

    def press(buttons: list[dict], title: str) -> tuple[str, list[dict]]:
        button = [b for b in buttons if title in b["title"]][-1]
        return say(payload=button["payload"])

    asked, _ = say("the streetlight on my street is broken")
    assert "Where" in asked or "place" in asked, asked
    asked, _ = say("Munsan Station")
    assert "describe" in asked.lower() or "problem" in asked.lower(), asked
    asked, buttons = say("The lamp at the bus stop exit has been dark for three nights")
    assert "photo" in asked.lower(), asked
    asked, buttons = press(buttons, "without photos")
    assert "call" in asked.lower(), asked
    summary, buttons = press(buttons, "No")
    assert "streetlight" in summary.lower() and "Munsan" in summary, summary
    filed, _ = press(buttons, "File the report")
    receipt_no = RECEIPT.search(filed).group(0)
    assert "Road Management" in filed, filed
    assert not re.search(r"[가-힣]", filed), filed

    case = _report(stack, receipt_no)
    assert case["kind"] == "streetlight" and case["place_name"] and case["district"]
    listed, _ = say("what is the status of my report?")
    assert receipt_no in listed and "received" in listed.lower(), listed


def test_a_report_can_be_dropped_halfway_and_nothing_is_filed(chat, stack):
    chat("가로등이 고장났어요")
    chat("금촌역 앞")
    dropped = " ".join(r.get("text") or "" for r in chat("그만"))
    assert "취소" in dropped and "접수되지 않았어요" in dropped, dropped
    listed = " ".join(r.get("text") or "" for r in chat("내 신고 어떻게 됐어요?"))
    assert "없어요" in listed, listed
    assert not RECEIPT.search(listed)


def test_a_citizen_reports_from_the_phone_web_chat_with_the_photo_and_location_buttons(stack, tmp_path):
    browser = chromium(tmp_path / "profile", PHONE)
    try:
        gateway = stack.url("gateway")
        browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": gateway, "permissions": ["geolocation"]})
        browser.execute_cdp_cmd(
            "Emulation.setGeolocationOverride", {"latitude": 37.7250, "longitude": 126.7670, "accuracy": 20}
        )
        browser.get(gateway + "/")
        wait = WebDriverWait(browser, 40)

        def bot_bubbles():
            return browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")

        def say(words: str) -> None:
            before = len(bot_bubbles())
            wait.until(ec.element_to_be_clickable((By.ID, "message"))).send_keys(words, Keys.ENTER)
            wait.until(lambda b: len(bot_bubbles()) > before)

        say("쓰레기 무단투기 신고할게요")
        assert "어디" in bot_bubbles()[-1].text or "장소" in bot_bubbles()[-1].text
        before = len(bot_bubbles())
        browser.find_element(By.ID, "locate").click()
        wait.until(lambda b: len(bot_bubbles()) > before)
        assert "상황" in bot_bubbles()[-1].text, bot_bubbles()[-1].text
        say("공원 입구에 가구와 비닐봉지가 잔뜩 버려져 있어요")

        photo = tmp_path / "dumping.jpg"
        photo.write_bytes(_jpeg((120, 100, 60)))
        before = len(bot_bubbles())
        browser.find_element(By.ID, "photo-file").send_keys(str(photo))
        wait.until(lambda b: any("사진 1장 받았어요" in bubble.text for bubble in bot_bubbles()[before:]))
        thumbnail = browser.find_element(By.CSS_SELECTOR, "#messages .bubble.in img")
        assert thumbnail.get_attribute("src").startswith("blob:")
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.save_screenshot(str(tmp_path / "report-photo.png"))

        def press(title: str) -> None:
            before = len(bot_bubbles())
            button = bot_bubbles()[-1].find_element(By.XPATH, f".//button[contains(., '{title}')]")
            button.click()
            wait.until(lambda b: len(bot_bubbles()) > before)

        press("계속")
        press("아니요")
        summary = bot_bubbles()[-1].text
        assert "쓰레기 무단투기" in summary and "1장" in summary, summary
        press("접수하기")
        filed = bot_bubbles()[-1].text
        assert RECEIPT.search(filed) and "자원순환과" in filed, filed
        browser.save_screenshot(str(tmp_path / "report-filed.png"))
        assert not re.search(r"https?://|localhost|127\.0\.0\.1", filed)
        case = _report(stack, RECEIPT.search(filed).group(0))
        assert case["photos"] == 1 and case["district"]
    finally:
        browser.quit()
