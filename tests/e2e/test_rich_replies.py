"""Rich replies through the web chat, end to end (real NLU, dialogue, actions, api): named links instead of
addresses, a data answer's source once and its readable page, the next open days as chips, cards with the text.

The stack's public address is https, as in production, so that its links are links; the test opens them on the
api's own local address, the one the public address leads to.
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.core.database import make_engine, make_sessionmaker
from api.notices.seed import seed_notices
from api.opendata.seed import seed_opendata
from api.tours.seed import seed_tours
from common import clock
from tests.support.browser import PHONE, chromium
from tests.support.stack import Stack
from tests.support.web_chat import WebChat

pytestmark = pytest.mark.stack

PUBLIC_URL = "https://chat.paju.example"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
ADDRESS = re.compile(r"https?://|www\.|localhost|127\.0\.0\.1|/api/", re.IGNORECASE)
CHIP = {
    "ko": re.compile(r"^\d{1,2}월 \d{1,2}일\([월화수목금토일]\)$"),
    "en": re.compile(r"^[A-Z][a-z]{2} \d{1,2} \(\w{3}\)$"),
}


@pytest.fixture(scope="module")
def public_stack(tmp_path_factory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("rich-replies"), extra_env={"PUBLIC_URL": PUBLIC_URL})
    try:
        stack.start()
        engine = make_engine(stack.database_url)
        with make_sessionmaker(engine)() as session:
            seed_tours(session)
            seed_opendata(session)
            seed_notices(session)
            session.commit()
        engine.dispose()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture
def citizen(public_stack) -> Iterator[WebChat]:
    chat = WebChat(public_stack.url("gateway"))
    yield chat
    chat.close()


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text") or "" for reply in replies)


def buttons(replies: list[dict]) -> list[dict]:
    return [button for reply in replies for button in reply.get("buttons") or []]


def local(stack: Stack, link: str) -> str:
    """The api's own address for a link on the public address."""
    assert link.startswith(PUBLIC_URL + "/"), link
    parts = urlsplit(link)
    return stack.url("api") + parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize(
    ("language", "said", "title"),
    [("ko", "금촌역 근처 주차장 알려줘", "지도 보기: "), ("en", "parking lots near Geumchon Station", "Map: ")],
)
def test_a_facility_answer_opens_each_place_on_the_map_from_a_named_button(citizen, language, said, title):
    replies = citizen.send(said)
    assert re.search(r"\d+(\.\d)? ?(m|km)", texts(replies)), texts(replies)
    assert not ADDRESS.search(texts(replies)) and "%" not in texts(replies)
    links = [button for button in buttons(replies) if button.get("url")]
    assert links, replies
    assert all(link["title"].startswith(title) and len(link["title"]) > len(title) for link in links)
    assert all(link["url"].startswith("https://map.kakao.com/link/map/") for link in links)


@pytest.mark.parametrize(
    ("language", "asked", "page_words"),
    [
        (
            "ko",
            "2025년 4월 DMZ 외국인 관광객 몇 명이야?",
            ("파주시 DMZ 평화관광 월별 관광객 현황", "출처", "미리 보기"),
        ),
        (
            "en",
            "How many foreign visitors came to the DMZ in April 2025?",
            ("Paju DMZ peace tourism, visitors by month", "Source", "Preview"),
        ),
    ],
)
def test_a_data_answer_names_its_source_once_and_its_link_opens_a_readable_page(
    citizen, public_stack, language, asked, page_words
):
    replies = citizen.send(asked)
    said = texts(replies)
    assert said.count("출처" if language == "ko" else "Source") == 1, said
    assert not ADDRESS.search(said), said
    [page] = [button["url"] for button in buttons(replies) if (button.get("url") or "").startswith(PUBLIC_URL)]
    opened = httpx.get(local(public_stack, page), timeout=10)
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in opened.text
    assert all(words in opened.text for words in page_words)
    assert "<table>" in opened.text and '"rows"' not in opened.text  # a page, not the api's JSON


def open_days(stack: Stack, limit: int = 5) -> list[str]:
    """The next days with seats, as the api lists them now."""
    runs = httpx.get(
        f"{stack.url('api')}/api/tours/dmz-peace/runs/available",
        params={"from": clock.today().isoformat(), "seats": 1, "limit": 20},
        timeout=10,
    ).json()
    return list(dict.fromkeys(run["date"] for run in runs))[:limit]


@pytest.mark.parametrize(
    ("language", "said"), [("ko", "DMZ 투어 예약하고 싶어요"), ("en", "I want to book a DMZ tour")]
)
def test_the_date_question_offers_the_next_open_days_as_chips_and_a_chip_picks_the_day(
    citizen, public_stack, language, said
):
    asked = citizen.send(said)
    chips = buttons(asked)
    days = open_days(public_stack)
    assert days, "the seed has open days"
    assert [re.search(r'"tour_date":"([\d-]+)"', chip["payload"]).group(1) for chip in chips] == days
    assert all(CHIP[language].match(chip["title"]) for chip in chips), chips
    # Typing stays possible: the question still gives examples of what to type.
    assert ("예: 내일" if language == "ko" else "e.g. tomorrow") in texts(asked)
    departures = citizen.send(chips[0]["title"], payload=chips[0]["payload"])
    times = [button for button in buttons(departures) if re.match(r"^\d{2}:\d{2}", button["title"])]
    assert times, departures  # the departures of the chosen day, each a button


def test_a_notice_comes_with_its_card_beside_its_whole_text(citizen):
    replies = citizen.send("최신 공지 보여줘")
    cards = [reply for reply in replies if (reply.get("custom") or {}).get("card")]
    assert cards, replies
    for reply in cards:
        card = reply["custom"]["card"]
        assert card["kind"] == "notice" and card["title"] in reply["text"]
        assert all(value in reply["text"] for _label, value in card["fields"])
        assert [b["title"] for b in reply["buttons"]] == ["자세히 보기"]


def test_the_dataset_page_and_the_answers_read_on_a_phone(public_stack):
    """Screenshots for people to look at: the chat's facility and data answers, and the dataset page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser = chromium(Path(public_stack.workdir) / "phone", PHONE)
    try:
        wait = WebDriverWait(browser, 60)
        browser.get(public_stack.url("gateway") + "/")
        box = wait.until(ec.element_to_be_clickable((By.ID, "message")))
        for said in ("금촌역 근처 주차장 알려줘", "2025년 4월 DMZ 외국인 관광객 몇 명이야?"):
            before = len(browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out"))
            box.send_keys(said, Keys.ENTER)
            wait.until(lambda b, n=before: len(b.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")) > n)
            time.sleep(1)
        browser.save_screenshot(str(SCREENSHOTS / "rich-replies-chat.png"))
        shown = browser.find_element(By.ID, "messages").text
        assert not ADDRESS.search(shown), shown
        for language in ("ko", "en"):
            browser.get(f"{public_stack.url('api')}/data/dmz-peace-tourism-monthly?lang={language}")
            wait.until(lambda b: b.find_element(By.TAG_NAME, "table"))
            assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            browser.save_screenshot(str(SCREENSHOTS / f"dataset-page-{language}.png"))
    finally:
        browser.quit()
