import datetime

import pytest

from bot.nlu.dates import DateMention, find_dates
from common.clock import SEOUL

TUESDAY = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=SEOUL)
SATURDAY = datetime.datetime(2026, 11, 28, 10, 0, tzinfo=SEOUL)
SUNDAY = datetime.datetime(2026, 11, 29, 10, 0, tzinfo=SEOUL)
NEW_YEARS_EVE = datetime.datetime(2026, 12, 31, 15, 0, tzinfo=SEOUL)


def only(text: str, now: datetime.datetime = TUESDAY) -> DateMention:
    mentions = find_dates(text, now)
    assert len(mentions) == 1, mentions
    return mentions[0]


def day(month: int, day_of_month: int, year: int = 2026) -> datetime.date:
    return datetime.date(year, month, day_of_month)


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("오늘", day(11, 24)),
        ("내일", day(11, 25)),
        ("낼", day(11, 25)),
        ("모레", day(11, 26)),
        ("내일모레", day(11, 26)),
        ("글피", day(11, 27)),
        ("13일", day(12, 13)),
        ("13일에", day(12, 13)),
        ("토요일", day(11, 28)),
        ("토욜", day(11, 28)),
        ("이번 주 토요일", day(11, 28)),
        ("이번주 토요일", day(11, 28)),
        ("이번주토요일", day(11, 28)),
        ("다음주 일요일", day(12, 6)),
        ("다음 주 일요일", day(12, 6)),
        ("다음주토요일", day(12, 5)),
        ("담주 토요일", day(12, 5)),
        ("다다음주 토요일", day(12, 12)),
        ("12월 13일", day(12, 13)),
        ("12월13일", day(12, 13)),
        ("12/13", day(12, 13)),
        ("2026-12-13", day(12, 13)),
        ("2026년 12월 13일", day(12, 13)),
        ("1월 5일", day(1, 5, 2027)),
        ("다음달 5일", day(12, 5)),
    ],
)
def test_korean_date_expressions_resolve_to_a_calendar_day(text, date):
    mention = only(text)
    assert (mention.date, mention.time, mention.part_of_day) == (date, None, None)
    assert mention.text == text


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("today", day(11, 24)),
        ("tomorrow", day(11, 25)),
        ("the day after tomorrow", day(11, 26)),
        ("Saturday", day(11, 28)),
        ("this Saturday", day(11, 28)),
        ("next Sunday", day(12, 6)),
        ("Dec 13", day(12, 13)),
        ("December 13", day(12, 13)),
        ("13 December", day(12, 13)),
        ("the 13th", day(12, 13)),
        ("Dec 13th", day(12, 13)),
    ],
)
def test_english_date_expressions_resolve_to_a_calendar_day(text, date):
    mention = only(text)
    assert (mention.date, mention.time, mention.part_of_day) == (date, None, None)
    assert mention.text == text


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("오후 2시", 14, 0),
        ("오후 1시 반", 13, 30),
        ("오후 두시", 14, 0),
        ("2시 반", 14, 30),
        ("2시30분", 14, 30),
        ("10시", 10, 0),
        ("14:00", 14, 0),
        ("2pm", 14, 0),
        ("2:30 pm", 14, 30),
        ("at 2", 14, 0),
    ],
)
def test_clock_times_resolve_to_a_time_without_a_date(text, hour, minute):
    mention = only(text)
    assert (mention.date, mention.time, mention.part_of_day) == (None, datetime.time(hour, minute), None)


@pytest.mark.parametrize(
    ("text", "part_of_day"),
    [
        ("오전", "morning"),
        ("오전에", "morning"),
        ("오후", "afternoon"),
        ("오후에", "afternoon"),
        ("in the afternoon", "afternoon"),
        ("morning", "morning"),
        ("afternoon", "afternoon"),
    ],
)
def test_a_part_of_day_alone_gives_only_the_part_of_day(text, part_of_day):
    mention = only(text)
    assert (mention.date, mention.time, mention.part_of_day) == (None, None, part_of_day)


@pytest.mark.parametrize(
    ("text", "date", "time", "part_of_day"),
    [
        ("다음주 토요일 오후 2시", day(12, 5), datetime.time(14, 0), None),
        ("다음주 토요일 오후에", day(12, 5), None, "afternoon"),
        ("내일 오전", day(11, 25), None, "morning"),
        ("토요일 오전", day(11, 28), None, "morning"),
        ("내일 2시", day(11, 25), datetime.time(14, 0), None),
        ("12월 13일 2시 반", day(12, 13), datetime.time(14, 30), None),
        ("this Saturday at 2pm", day(11, 28), datetime.time(14, 0), None),
        ("on Saturday at 2:30", day(11, 28), datetime.time(14, 30), None),
        ("tomorrow morning", day(11, 25), None, "morning"),
        ("12/13 2pm", day(12, 13), datetime.time(14, 0), None),
    ],
)
def test_a_date_with_a_time_or_part_of_day_is_one_mention(text, date, time, part_of_day):
    mention = only(text)
    assert (mention.start, mention.end, mention.text) == (0, len(text), text)
    assert (mention.date, mention.time, mention.part_of_day) == (date, time, part_of_day)


@pytest.mark.parametrize(
    "text",
    [
        "어른 2명",
        "2명",
        "3 adults",
        "2 people",
        "for 2",
        "010-1234-5678",
        "010 1234 5678",
        "+82 10 1234 5678",
        "031-940-4114",
        "good morning",
        "다음주",
        "지금",
        "안녕하세요",
        "",
        "😀👍",
    ],
)
def test_party_sizes_phone_numbers_and_chat_give_no_mention(text):
    assert find_dates(text, TUESDAY) == []


def test_glpi_is_three_days_after_today():
    assert only("글피에 갈게요").date == day(11, 27)
    assert only("글피", NEW_YEARS_EVE).date == day(1, 3, 2027)


def test_a_bare_weekday_said_on_that_weekday_means_today():
    assert only("토요일", SATURDAY).date == day(11, 28)
    assert only("Saturday", SATURDAY).date == day(11, 28)
    assert only("this Saturday", SATURDAY).date == day(11, 28)
    assert only("다음주 토요일", SATURDAY).date == day(12, 5)
    assert only("next Saturday", SATURDAY).date == day(12, 5)


def test_this_weeks_saturday_is_in_the_monday_to_sunday_week_even_when_said_on_sunday():
    assert only("이번 주 토요일", SUNDAY).date == day(11, 28)
    assert only("토요일", SUNDAY).date == day(12, 5)
    assert only("다음주 일요일", SUNDAY).date == day(12, 6)


def test_a_day_of_month_already_past_is_next_months():
    assert only("13일", NEW_YEARS_EVE).date == day(1, 13, 2027)
    assert only("31일", NEW_YEARS_EVE).date == day(12, 31)


def test_a_month_and_day_already_past_this_year_means_next_year():
    assert only("11월 20일").date == day(11, 20, 2027)
    assert only("Nov 20").date == day(11, 20, 2027)
    assert only("12월 13일", NEW_YEARS_EVE).date == day(12, 13, 2027)
    assert only("12/13", NEW_YEARS_EVE).date == day(12, 13, 2027)


def test_a_past_date_with_its_year_stays_in_the_past():
    assert only("2026-12-13", NEW_YEARS_EVE).date == day(12, 13)


def test_next_week_crosses_the_year_boundary():
    assert only("다음주 토요일", NEW_YEARS_EVE).date == day(1, 9, 2027)
    assert only("이번 주 토요일", NEW_YEARS_EVE).date == day(1, 2, 2027)


def test_an_hour_without_am_or_pm_is_within_tour_hours_whatever_the_time_now():
    assert only("2시", NEW_YEARS_EVE).time == datetime.time(14, 0)
    assert only("9시").time == datetime.time(9, 0)
    assert only("오전 2시").time == datetime.time(2, 0)


def test_now_in_another_time_zone_is_read_in_seoul():
    # 16:00 UTC on the 24th is already 01:00 on the 25th in Seoul.
    now = datetime.datetime(2026, 11, 24, 16, 0, tzinfo=datetime.timezone.utc)
    assert only("내일", now).date == day(11, 26)


def test_a_weekday_that_contradicts_the_date_gives_no_date_years_away():
    assert find_dates("12월 13일 토요일", TUESDAY) == []


def test_mentions_in_a_sentence_are_sliced_from_the_original_text_and_sorted():
    text = "다음주 토요일 오후에 어른 2명, 아니면 글피 오전"
    mentions = find_dates(text, TUESDAY)
    assert [m.text for m in mentions] == ["다음주 토요일 오후에", "글피 오전"]
    assert all(text[m.start : m.end] == m.text for m in mentions)
    assert mentions[1].date == day(11, 27)
    assert mentions[1].part_of_day == "morning"


def test_a_party_size_before_a_date_is_not_read_as_a_clock_time():
    mention = only("Book for 2 on Saturday")
    assert (mention.text, mention.date, mention.time) == ("on Saturday", day(11, 28), None)


@pytest.mark.parametrize(
    ("text", "on_new_years_eve", "on_new_years_day"),
    [
        ("내일", day(1, 1, 2027), day(1, 2, 2027)),
        ("다음달 5일", day(1, 5, 2027), day(2, 5, 2027)),
        ("내년 1월 3일", day(1, 3, 2027), day(1, 3, 2028)),
        ("the 5th of next month", day(1, 5, 2027), day(2, 5, 2027)),
    ],
)
def test_relative_dates_turn_over_at_midnight_on_new_years_eve_in_seoul(text, on_new_years_eve, on_new_years_day):
    eve = datetime.datetime(2026, 12, 31, 23, 59, tzinfo=SEOUL)
    assert only(text, eve).date == on_new_years_eve
    assert only(text, eve + datetime.timedelta(minutes=1)).date == on_new_years_day


def test_the_twenty_ninth_of_february_is_a_day_only_in_a_leap_year():
    assert only("2월 29일", datetime.datetime(2028, 2, 1, 10, 0, tzinfo=SEOUL)).date == day(2, 29, 2028)
    assert only("내일", datetime.datetime(2028, 2, 28, 10, 0, tzinfo=SEOUL)).date == day(2, 29, 2028)
    assert only("내일", datetime.datetime(2028, 2, 29, 10, 0, tzinfo=SEOUL)).date == day(3, 1, 2028)
    # 29 February said in 2027 is not 28 February or 1 March of any year.
    for said_on in (datetime.datetime(2027, 1, 10, 10, 0, tzinfo=SEOUL), datetime.datetime(2028, 3, 5, tzinfo=SEOUL)):
        dates = {mention.date for mention in find_dates("2월 29일", said_on)} - {None}
        assert all((d.month, d.day) == (2, 29) for d in dates), dates
