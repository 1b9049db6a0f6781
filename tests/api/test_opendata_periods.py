"""Periods in questions resolve to month spans in Asia/Seoul against a fixed clock."""

from datetime import UTC, datetime

import pytest

from api.opendata.periods import find_periods, label
from common.clock import SEOUL

NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("2024년 4월", [("2024-04", "2024-04")]),
        ("2024-04 방문객", [("2024-04", "2024-04")]),
        ("작년", [("2024-01", "2024-12")]),
        ("지난해 관광객", [("2024-01", "2024-12")]),
        ("재작년", [("2023-01", "2023-12")]),
        ("올해 3월", [("2025-03", "2025-03")]),
        ("올 3월", [("2025-03", "2025-03")]),
        ("지난달", [("2025-10", "2025-10")]),
        ("이번 달", [("2025-11", "2025-11")]),
        ("last month", [("2025-10", "2025-10")]),
        ("this year", [("2025-01", "2025-12")]),
        ("2025 1분기", [("2025-01", "2025-03")]),
        ("2025년 3분기", [("2025-07", "2025-09")]),
        ("작년 2분기", [("2024-04", "2024-06")]),
        ("q1 2025", [("2025-01", "2025-03")]),
        ("2025 q2", [("2025-04", "2025-06")]),
        ("first quarter of 2025", [("2025-01", "2025-03")]),
        ("지난 분기", [("2025-07", "2025-09")]),
        ("2024년 상반기", [("2024-01", "2024-06")]),
        ("second half of last year", [("2024-07", "2024-12")]),
        ("april 2025", [("2025-04", "2025-04")]),
        ("in may", [("2025-05", "2025-05")]),
        ("may i ask something", []),
        ("12월", [("2024-12", "2024-12")]),
        ("4월", [("2025-04", "2025-04")]),
        ("최근 3개월", [("2025-08", "2025-10")]),
        ("last 6 months", [("2025-05", "2025-10")]),
        ("2024년 3월부터 6월까지", [("2024-03", "2024-06")]),
        ("2024년 3월~2025년 2월", [("2024-03", "2025-02")]),
        ("from march to june 2024", [("2024-03", "2024-06")]),
        ("between 2024 and 2025", [("2024-01", "2025-12")]),
        ("2024년과 2025년", [("2024-01", "2024-12"), ("2025-01", "2025-12")]),
        ("작년 4월 대비 올해 4월", [("2024-04", "2024-04"), ("2025-04", "2025-04")]),
        ("2024년 3월과 4월", [("2024-03", "2024-03"), ("2024-04", "2024-04")]),
    ],
)
def test_a_period_expression_resolves_to_months(text, spans):
    found = find_periods(text, NOW)
    assert [(span.start_key, span.end_key) for span in found.spans] == spans


def test_relative_periods_resolve_in_seoul_not_utc():
    # 2025-12-31 16:00 UTC is already 2026-01-01 in Seoul: "last month" is December 2025, "this year" 2026.
    late = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert [(s.start_key, s.end_key) for s in find_periods("지난달", late).spans] == [("2025-12", "2025-12")]
    assert [(s.start_key, s.end_key) for s in find_periods("올해", late).spans] == [("2026-01", "2026-12")]


@pytest.mark.parametrize(
    ("text", "on_new_years_eve", "on_new_years_day"),
    [
        ("작년", ("2025-01", "2025-12"), ("2026-01", "2026-12")),
        ("올해", ("2026-01", "2026-12"), ("2027-01", "2027-12")),
        ("지난달", ("2026-11", "2026-11"), ("2026-12", "2026-12")),
        ("다음달", ("2027-01", "2027-01"), ("2027-02", "2027-02")),
        ("next month", ("2027-01", "2027-01"), ("2027-02", "2027-02")),
        ("내년 1월", ("2027-01", "2027-01"), ("2028-01", "2028-01")),
    ],
)
def test_relative_periods_turn_over_at_midnight_on_new_years_eve_in_seoul(text, on_new_years_eve, on_new_years_day):
    eve, day = datetime(2026, 12, 31, 23, 59, tzinfo=SEOUL), datetime(2027, 1, 1, 0, 0, tzinfo=SEOUL)
    assert [(s.start_key, s.end_key) for s in find_periods(text, eve).spans] == [on_new_years_eve]
    assert [(s.start_key, s.end_key) for s in find_periods(text, day).spans] == [on_new_years_day]


def test_comparisons_with_the_previous_year_or_month_are_flags_not_periods():
    yearly = find_periods("2025년 4월 전년 대비", NOW)
    assert yearly.year_over_year and [(s.start_key, s.end_key) for s in yearly.spans] == [("2025-04", "2025-04")]
    monthly = find_periods("compared to the previous month", NOW)
    assert monthly.month_over_month and monthly.spans == []


def test_a_month_without_a_year_is_marked_as_assumed():
    assert find_periods("4월", NOW).spans[0].assumed_year
    assert not find_periods("2025년 4월", NOW).spans[0].assumed_year


@pytest.mark.parametrize(
    ("keys", "korean", "english"),
    [
        (("2025-04", "2025-04"), "2025년 4월", "April 2025"),
        (("2024-01", "2024-12"), "2024년", "2024"),
        (("2025-01", "2025-03"), "2025년 1분기", "Q1 2025"),
        (("2024-07", "2024-12"), "2024년 하반기", "second half of 2024"),
        (("2024-03", "2024-06"), "2024년 3월~6월", "March–June 2024"),
        (("2024-01", "2025-12"), "2024~2025년", "2024–2025"),
        (("2024-11", "2025-02"), "2024년 11월~2025년 2월", "November 2024 – February 2025"),
    ],
)
def test_periods_are_labelled_as_people_write_them(keys, korean, english):
    assert label(keys, "ko") == korean and label(keys, "en") == english
