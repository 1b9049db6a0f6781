"""Questions no flow fits, answered from the city's knowledge base through the whole stack: the web chat in Korean
and English, Telegram's link button, the honest decline with a number, and the feedback that leaves a candidate
for staff."""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from api.core.database import make_engine, make_sessionmaker
from api.knowledge.models import KnowledgeAsk, KnowledgeEntry
from api.knowledge.seed import seed_knowledge
from api.notices.seed import seed_notices
from tests.support.browser import PHONE, chromium
from tests.support.kakao_chat import KakaoChat
from tests.support.telegram_chat import Chat

pytestmark = pytest.mark.stack

PHONE_NUMBER = re.compile(r"\d{2,4}-\d{3,4}-\d{4}")


@pytest.fixture(scope="module", autouse=True)
def seeded(stack) -> None:
    """The web-chat stack starts empty: the sample notices and entries, as `make run` seeds them."""
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        seed_notices(session)
        seed_knowledge(session)
        session.commit()
    engine.dispose()


def _texts(replies: list[dict]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def _buttons(replies: list[dict]) -> list[dict]:
    return [b for r in replies for b in r.get("buttons") or []]


def _entry(stack, slug: str) -> KnowledgeEntry:
    engine = make_engine(stack.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            entry = session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.slug == slug))
            session.expunge(entry)
            return entry
    finally:
        engine.dispose()


def _asks(stack) -> list[KnowledgeAsk]:
    engine = make_engine(stack.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            asks = list(session.scalars(select(KnowledgeAsk).order_by(KnowledgeAsk.id)))
            session.expunge_all()
            return asks
    finally:
        engine.dispose()


def test_the_passport_hours_question_is_answered_from_passport_content_not_the_tour_fares(chat, stack):
    replies = chat("여권 발급 시간")
    text = _texts(replies)
    entry = _entry(stack, "passport_hours")
    assert entry.answer_ko.split(".")[0] in text, text
    assert entry.department_ko in text and entry.phone in text
    assert "예약" not in text and "요금" not in text
    titles = [b["title"] for b in _buttons(replies)]
    assert "도움이 됐어요" in titles and "도움이 안 됐어요" in titles, titles
    links = [b for b in _buttons(replies) if b["payload"].startswith("https://")]
    assert links and links[0]["payload"] == entry.link


def test_the_waste_day_question_is_answered_in_korean_and_in_english(chat, stack):
    entry = _entry(stack, "household_waste")
    korean = _texts(chat("쓰레기 배출 요일 알려줘"))
    assert entry.answer_ko.split(".")[0] in korean and entry.department_ko in korean, korean
    english = _texts(chat("Which days can I put out my household rubbish?"))
    assert entry.answer_en.split(".")[0] in english, english
    assert not re.search("[가-힣]", english)


def test_an_english_question_about_a_korean_only_entry_gets_the_korean_answer_with_a_note(chat, stack):
    entry = _entry(stack, "seal_certificate")
    text = _texts(chat("How do I get a certificate of my personal seal?"))
    assert entry.answer_ko.split(".")[0] in text
    assert "available in Korean only" in text


def test_an_unanswerable_question_is_declined_with_a_number_and_a_person_offered(chat, stack):
    replies = chat("비트코인 시세 알려줘")
    text = _texts(replies)
    assert "확실한 답을 드리기 어려워요" in text and PHONE_NUMBER.search(text), text
    assert "/request_human" in [b["payload"] for b in _buttons(replies)]
    english = chat("What is the Bitcoin price today?")
    assert "Sorry" in _texts(english) and PHONE_NUMBER.search(_texts(english))


def test_not_helpful_feedback_thanks_offers_a_person_and_leaves_a_candidate(chat, stack):
    replies = chat("보건증 어디서 떼요")
    [unhelpful] = [b for b in _buttons(replies) if b["title"] == "도움이 안 됐어요"]
    after = chat(payload=unhelpful["payload"])
    assert "도움이 되지 못해" in _texts(after)
    assert "/request_human" in [b["payload"] for b in _buttons(after)]
    asked = [a for a in _asks(stack) if a.question == "보건증 어디서 떼요"]
    assert asked and asked[-1].answered and asked[-1].helpful is False


def test_a_real_booking_request_still_books(chat):
    text = _texts(chat("DMZ 투어 예약하고 싶어요"))
    assert "날짜" in text or "언제" in text or "date" in text.lower(), text


def test_on_telegram_the_answers_link_is_a_url_button(telegram):
    fake, stack = telegram
    citizen = Chat(fake, 9301)
    text = citizen.say("여권 발급 수수료 얼마예요?")
    entry = _entry(stack, "passport_fee")
    assert entry.answer_ko.split(".")[0] in text, text
    buttons = [
        b for m in citizen.replies for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
    ]
    assert any(b.get("url") == entry.link for b in buttons), buttons
    assert any(b["text"] == "도움이 됐어요" for b in buttons)


def test_on_a_phone_the_answer_reads_whole_and_its_link_opens_the_website_in_a_new_tab(stack, tmp_path):
    browser = chromium(tmp_path / "profile", PHONE)
    try:
        browser.get(stack.url("gateway") + "/")
        wait = WebDriverWait(browser, 30)
        box = wait.until(ec.element_to_be_clickable((By.ID, "message")))
        box.send_keys("여권 발급 시간", Keys.ENTER)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#messages .bubble.out a[target=_blank]"))
        entry = _entry(stack, "passport_hours")
        [link] = browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out a[target=_blank]")
        assert link.get_attribute("href").rstrip("/") == entry.link.rstrip("/")
        assert "noopener" in link.get_attribute("rel")
        answers = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")]
        assert any(entry.department_ko in answer and entry.phone in answer for answer in answers), answers
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.save_screenshot(str(tmp_path / "knowledge-answer-ko.png"))
        box.send_keys("How do I get a certificate of my personal seal?", Keys.ENTER)
        wait.until(lambda b: "Korean only" in b.find_element(By.ID, "messages").text)
        browser.save_screenshot(str(tmp_path / "knowledge-answer-en.png"))
    finally:
        browser.quit()


def test_on_kakaotalk_the_answer_keeps_its_link_as_a_web_link_and_its_feedback_as_quick_replies(kakao):
    fake, stack = kakao
    chat = KakaoChat(fake, "knowledge-ko")
    chat.say("여권 발급 시간")
    entry = _entry(stack, "passport_hours")
    assert entry.department_ko in chat.text and entry.phone in chat.text, chat.text
    cards = [card for output in chat.outputs for kind, card in output.items() if kind != "carousel"]
    web_links = [b["webLinkUrl"] for card in cards for b in card.get("buttons", []) if b.get("action") == "webLink"]
    assert web_links == [entry.link], chat.outputs
    assert "도움이 됐어요" in [q["label"] for q in chat.quick_replies]
