"""Citizens ask about the city's open data on Telegram; every figure is checked against the CSV with pandas."""

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.support.telegram_chat import Chat

pytestmark = pytest.mark.stack

DMZ = pd.read_csv(Path(__file__).resolve().parents[2] / "api/opendata/seed/dmz_peace_tourism_monthly.csv")


def _visitors(first: str, last: str, column: str = "총관광객수") -> int:
    return int(DMZ.loc[DMZ["통계연월"].between(first, last), column].sum())


def test_a_korean_question_is_answered_with_the_figure_from_the_data_and_its_source(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 8101)
    answer = chat.say("2024년 DMZ 외국인 관광객 수 알려줘")
    assert f"{_visitors('2024-01', '2024-12', '외국인수'):,}" in answer
    assert "출처" in answer and "DMZ" in answer

    explained = chat.say("이거 어떻게 계산했어?")
    assert "외국인" in explained and "2024" in explained


def test_an_english_question_gets_an_english_answer(telegram):
    fake, _stack = telegram
    answer = Chat(fake, 8102, language="en").say("How many foreign visitors came to the DMZ in April 2025?")
    assert f"{_visitors('2025-04', '2025-04', '외국인수'):,}" in answer
    assert "Source" in answer


def test_a_trend_question_comes_with_a_chart_photo(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 8103)
    chat.say("2024년 DMZ 관광객 월별 추이")
    photos = [m for m in chat.replies if m.get("photo")]
    assert photos, chat.replies
    [call] = [p for name, p in fake.calls if name == "sendPhoto" and str(p.get("chat_id")) == "8103"]
    assert call["photo"]["content"].startswith(b"\x89PNG")


def test_the_catalogue_lists_topics_as_buttons(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 8104)
    chat.say("어떤 공공데이터가 있어?")
    buttons = [
        b["text"] for m in chat.replies for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
    ]
    assert any(re.match(r"관광 \(\d+\)", title) for title in buttons), buttons
    listed = chat.press(0)
    assert "DMZ" in listed or "•" in listed


def test_parking_near_a_station_named_in_the_message(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 8105)
    answer = chat.say("금촌역 근처 주차장 알려줘")
    # Each place opens on the map from a button named after it; its address is never in the text.
    links = [b for m in chat.replies for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
    assert any(
        b["text"].startswith("지도 보기") and b.get("url", "").startswith("https://map.kakao.com/") for b in links
    )
    assert "map.kakao.com" not in answer
    assert re.search(r"\d+(\.\d)? ?(m|km)", answer)


PARKING = pd.read_csv(Path(__file__).resolve().parents[2] / "api/opendata/seed/parking_lots.csv").set_index("name")


def _buttons(chat: Chat) -> list[str]:
    return [
        b["text"] for m in chat.replies for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
    ]


def test_a_follow_up_reuses_the_last_question_and_no_reply_shows_an_internal_address(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 8106)
    first = chat.say("2025년 4월 DMZ 관광객 수")
    assert f"{_visitors('2025-04', '2025-04'):,}" in first
    foreign = chat.say("그럼 외국인은?")
    assert f"{_visitors('2025-04', '2025-04', '외국인수'):,}" in foreign and "2025년 4월" in foreign
    earlier = chat.say("2024년은?")
    assert f"{_visitors('2024-04', '2024-04', '외국인수'):,}" in earlier and "2024년 4월" in earlier
    for reply in (first, foreign, earlier):
        assert "127.0.0.1" not in reply and "localhost" not in reply and "/api/" not in reply
        assert reply.count("출처") == 1


def test_an_ambiguous_row_is_asked_back_with_buttons_and_a_button_gets_the_figure(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 8107)
    asked = chat.say("금촌 주차장 몇 면이야?")
    assert not re.search(r"\d", asked.replace("금촌", "")), asked
    assert _buttons(chat)[:2] == ["금촌역 공영주차장", "금촌전통시장 공영주차장"]
    answer = chat.press(0)
    assert f"{PARKING.loc['금촌역 공영주차장', 'spaces']:,}면" in answer
