import pytest

from bot.nlu.party import find_party


@pytest.mark.parametrize(
    ("text", "party"),
    [
        ("어른 2명", {"adult": 2}),
        ("어른 2 명", {"adult": 2}),
        ("성인 2인", {"adult": 2}),
        ("대인 1명", {"adult": 1}),
        ("어른 둘", {"adult": 2}),
        ("어른2", {"adult": 2}),
        ("성인 2명이랑 아이 하나", {"adult": 2, "child": 1}),
        ("어른2명아이1명", {"adult": 2, "child": 1}),
        ("어른 세 명 어린이 두 명", {"adult": 3, "child": 2}),
        ("청소년 1명", {"youth": 1}),
        ("중학생 2명", {"youth": 2}),
        ("아동 1명", {"child": 1}),
        ("애 둘", {"child": 2}),
        ("애기 하나", {"child": 1}),
        ("아이들 3명", {"child": 3}),
        ("노인 1명", {"senior": 1}),
        ("경로 2명", {"senior": 2}),
        ("어르신 한 분", {"senior": 1}),
        ("65세 이상 1명", {"senior": 1}),
        ("파주시민 2명", {"resident": 2}),
        ("파주 시민 1명", {"resident": 1}),
        ("주민 3명", {"resident": 3}),
    ],
)
def test_korean_fare_types_and_counts_are_read(text, party):
    mention = find_party(text)
    assert mention is not None
    assert mention.party == party
    assert (mention.start, mention.end, mention.text) == (0, len(text), text)


@pytest.mark.parametrize(
    ("text", "party"),
    [
        ("2 adults", {"adult": 2}),
        ("one child", {"child": 1}),
        ("two kids", {"child": 2}),
        ("1 senior", {"senior": 1}),
        ("adult x2", {"adult": 2}),
        ("2 adults and 1 child", {"adult": 2, "child": 1}),
        ("3 teenagers", {"youth": 3}),
        ("2 residents", {"resident": 2}),
    ],
)
def test_english_fare_types_and_counts_are_read(text, party):
    mention = find_party(text)
    assert mention is not None
    assert mention.party == party
    assert mention.text == text


@pytest.mark.parametrize(
    ("text", "count"),
    [("2명", 2), ("두 명", 2), ("세명", 3), ("2인", 2), ("3 people", 3), ("for 2", 2), ("book 4 seats", 4)],
)
def test_a_count_without_a_fare_type_is_adults(text, count):
    mention = find_party(text)
    assert mention is not None
    assert mention.party == {"adult": count}


@pytest.mark.parametrize(
    "text",
    [
        "12월 13일",
        "13일",
        "오후 2시",
        "2시 30분",
        "2pm",
        "010-1234-5678",
        "for 2 days",
        "for 2:30",
        "1인당 얼마예요?",
        "장애인 주차장",
        "아이 열심히 놀아요",
        "안녕하세요",
        "",
    ],
)
def test_numbers_of_dates_times_and_phones_are_not_counted(text):
    assert find_party(text) is None


def test_a_fare_type_given_twice_is_summed():
    assert find_party("어른 1명이요, 아 어른 2명 더").party == {"adult": 3}


def test_a_count_of_zero_is_dropped_and_left_out_of_the_span():
    mention = find_party("아이 0명 어른 2명")
    assert mention is not None
    assert mention.party == {"adult": 2}
    assert mention.text == "어른 2명"


def test_the_span_runs_from_the_first_to_the_last_group_inside_a_sentence():
    text = "다음주 토요일 오후 2시에 어른 2명 아이 1명 모노레일로 예약"
    mention = find_party(text)
    assert mention is not None
    assert mention.text == "어른 2명 아이 1명"
    assert text[mention.start : mention.end] == mention.text
    assert mention.party == {"adult": 2, "child": 1}


def test_times_and_phone_numbers_beside_a_party_do_not_change_it():
    mention = find_party("Book this Saturday at 2pm for 2 adults and 1 child, 010-1234-5678")
    assert mention is not None
    assert mention.party == {"adult": 2, "child": 1}
    assert mention.text == "2 adults and 1 child"
