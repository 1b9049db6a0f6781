import datetime
import itertools

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.booking_entities import BookingEntityExtractor
from common.clock import SEOUL

TUESDAY = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SEOUL)
extractor = BookingEntityExtractor(clock=lambda: TUESDAY)


def entities_of(text: str) -> list[dict]:
    message = Message.build(text=text)
    extractor.process([message])
    return message.get("entities", [])


def by_name(entities: list[dict]) -> dict[str, dict]:
    return {entity["entity"]: entity for entity in entities}


def assert_no_overlap(entities: list[dict]) -> None:
    spans = sorted((entity["start"], entity["end"]) for entity in entities)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


def test_one_korean_message_fills_date_part_of_day_party_and_tour_option():
    text = "다음주 토요일 오후에 어른 2명 아이 1명 모노레일로 예약"
    entities = entities_of(text)
    found = by_name(entities)
    assert set(found) == {"date", "party", "tour_option"}
    assert found["date"] == {
        "entity": "date",
        "start": 0,
        "end": 11,
        "value": "다음주 토요일 오후에",
        "resolved": "2026-12-05",
        "resolved_part_of_day": "afternoon",
        "extractor": "BookingEntityExtractor",
    }
    assert (found["party"]["start"], found["party"]["end"]) == (12, 23)
    assert found["party"]["value"] == "어른 2명 아이 1명"
    assert found["party"]["resolved"] == {"adult": 2, "child": 1}
    assert (found["tour_option"]["value"], found["tour_option"]["resolved"]) == ("모노레일", "monorail")
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["value"]


def test_one_english_message_gives_a_date_with_its_time_and_the_party():
    text = "Book this Saturday at 2pm for 2 adults and 1 child"
    found = by_name(entities_of(text))
    assert set(found) == {"date", "party"}
    assert found["date"]["value"] == "this Saturday at 2pm"
    assert (found["date"]["resolved"], found["date"]["resolved_time"]) == ("2026-11-28", "14:00")
    assert found["party"]["value"] == "2 adults and 1 child"
    assert found["party"]["resolved"] == {"adult": 2, "child": 1}


def test_a_time_or_part_of_day_alone_is_its_own_entity():
    assert by_name(entities_of("오후 2시요"))["time"]["resolved"] == "14:00"
    assert by_name(entities_of("오전에 갈게요"))["part_of_day"]["resolved"] == "morning"


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("모노레일 탈래요", "monorail"),
        ("도보로 할게요", "walk"),
        ("걸어서 갈래요", "walk"),
        ("walking tour please", "walk"),
    ],
)
def test_tour_options_are_resolved(text, option):
    assert by_name(entities_of(text))["tour_option"]["resolved"] == option


def test_a_booking_code_and_phone_number_are_found_and_nothing_else():
    text = "예약번호 k7m2qx 전화번호 010-1234-5678"
    entities = entities_of(text)
    assert [(e["entity"], e["value"], e["resolved"]) for e in entities] == [
        ("booking_code", "k7m2qx", "K7M2QX"),
        ("phone", "010-1234-5678", "01012345678"),
    ]


@pytest.mark.parametrize(
    ("text", "digits"),
    [("01012345678", "01012345678"), ("010 9876 5432", "01098765432"), ("+82 10 1234 5678", "01012345678")],
)
def test_phone_numbers_in_any_spelling_resolve_to_digits(text, digits):
    assert [(e["entity"], e["resolved"]) for e in entities_of(text)] == [("phone", digits)]


@pytest.mark.parametrize("text", ["MONDAY", "234567", "AB12CD", "K7M2QX9", "code XK7M2QX"])
def test_only_six_character_codes_from_the_code_alphabet_with_letters_and_digits_are_codes(text):
    # "AB12CD" has a 1, which codes leave out.
    assert "booking_code" not in by_name(entities_of(text))


def test_a_code_that_looks_like_a_date_is_only_a_code():
    assert [e["entity"] for e in entities_of("MAY23X")] == ["booking_code"]


def test_a_phone_number_next_to_a_party_gives_no_date_time_or_extra_people():
    entities = entities_of("010-1234-5678 어른 2명 내일")
    assert [e["entity"] for e in entities] == ["phone", "party", "date"]
    assert by_name(entities)["party"]["resolved"] == {"adult": 2}
    assert_no_overlap(entities)


def test_entities_already_on_the_message_are_kept():
    message = Message.build(text="내일 갈게요")
    message.set("entities", [{"entity": "tour", "start": 0, "end": 0, "value": "dmz"}])
    extractor.process([message])
    assert [e["entity"] for e in message.get("entities")] == ["tour", "date"]


@pytest.mark.parametrize("text", ['/book_tour{"date": "2026-12-05"}', "", "   ", "😀👍🏻"])
def test_button_payloads_empty_text_and_emoji_give_nothing(text):
    assert entities_of(text) == []


def test_the_clock_defaults_to_now_in_seoul():
    message = Message.build(text="today")
    before = datetime.datetime.now(SEOUL).date().isoformat()
    BookingEntityExtractor().process([message])
    after = datetime.datetime.now(SEOUL).date().isoformat()
    assert message.get("entities")[0]["resolved"] in {before, after}
