"""Finding the rows a question names, in full, in part, misspelt or romanised, and the closest names otherwise."""

import pytest

from api.opendata.names import Mention, NameIndex, RowName
from api.opendata.parsing import normalise

FACILITIES = NameIndex(
    [
        RowName("금촌역 공영주차장", ("Geumchon Station Public Parking",)),
        RowName("금촌전통시장 공영주차장", ("Geumchon Traditional Market Public Parking",)),
        RowName("운정역 공영주차장", ("Unjeong Station Public Parking",)),
        RowName("문산역 공영주차장", ("Munsan Station Public Parking",)),
        RowName("금촌도서관"),
        RowName("교하도서관"),
        RowName("운정도서관", ("Unjeong Library",)),
        RowName("한울도서관", ("Hanul Library",)),
        RowName("운정행복센터"),
        RowName("탄현 청소년센터"),
        RowName("운정호수공원", ("Unjeong Lake Park",)),
        RowName("심학산 근린공원"),
        RowName("임진각 평화누리", ("Imjingak Nuri Peace Park",)),
    ]
)
DISTRICT_NAMES = [
    "문산읍", "파주읍", "법원읍", "조리읍", "교하동", "운정1동",
    "운정2동", "운정3동", "금촌1동", "금촌2동", "광탄면", "월롱면",
]  # fmt: skip
DISTRICTS = NameIndex([RowName(name) for name in DISTRICT_NAMES])


def mentions(index: NameIndex, question: str) -> list[Mention]:
    return index.find(normalise(question))


def only(index: NameIndex, question: str) -> Mention:
    found = mentions(index, question)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    "question", ["금촌역공영주차장 몇 면이야?", "금촌역 공영 주차장 몇 면이야?", "금촌역 공영주차장은?"]
)
def test_a_full_korean_name_matches_whatever_the_spacing(question):
    mention = only(FACILITIES, question)
    assert (mention.rows, mention.how) == (("금촌역 공영주차장",), "full")


@pytest.mark.parametrize(
    ("question", "written", "row"),
    [
        ("금촌도서관은 몇 시에 열어?", "금촌도서관", "금촌도서관"),
        ("금촌도서관의 장서 수", "금촌도서관", "금촌도서관"),
        ("교하도서관에서 빌린 책", "교하도서관", "교하도서관"),
    ],
)
def test_a_full_name_with_a_particle_attached_matches_without_the_particle(question, written, row):
    mention = only(FACILITIES, question)
    assert (mention.written, mention.rows, mention.how) == (written, (row,), "full")


def test_the_span_of_a_mention_points_into_the_text_given():
    text = normalise("올해 교하도서관 이용자 수")
    mention = only(FACILITIES, text)
    assert text[mention.start : mention.end] == mention.written == "교하도서관"


def test_two_names_in_one_question_are_two_mentions_in_text_order():
    found = mentions(FACILITIES, "교하도서관과 금촌도서관 비교해줘")
    assert [mention.rows for mention in found] == [("교하도서관",), ("금촌도서관",)]


@pytest.mark.parametrize(
    "question",
    [
        "How many spaces does Geumchon Station Public Parking have?",
        "geumchon station public parking's fee",
        "GEUMCHON STATION PUBLIC PARKINGS",
    ],
)
def test_an_english_alias_matches_as_whole_words_in_any_case_plural_or_possessive(question):
    mention = only(FACILITIES, question)
    assert (mention.rows, mention.how) == (("금촌역 공영주차장",), "alias")


def test_an_english_alias_does_not_match_inside_a_longer_word():
    mention = only(FACILITIES, "geumchon station public parkingspace")
    assert (mention.written, mention.how) == ("geumchon station public", "partial")


def test_a_distinctive_part_shared_by_several_names_is_one_ambiguous_mention():
    mention = only(FACILITIES, "금촌 쪽 요금은?")
    assert mention.how == "partial"
    assert set(mention.rows) == {"금촌역 공영주차장", "금촌전통시장 공영주차장", "금촌도서관"}


def test_a_generic_word_after_a_distinctive_part_narrows_the_rows():
    mention = only(FACILITIES, "금촌 주차장 요금은?")
    assert mention.written == "금촌 주차장"
    assert set(mention.rows) == {"금촌역 공영주차장", "금촌전통시장 공영주차장"}


def test_a_part_found_in_one_name_only_names_that_row():
    mention = only(FACILITIES, "교하는 몇 권이야")
    assert (mention.written, mention.rows, mention.how) == ("교하", ("교하도서관",), "partial")


def test_a_part_followed_by_a_particle_is_not_read_as_a_longer_part():
    mention = only(FACILITIES, "금촌도 알려줘")
    assert mention.written == "금촌"
    assert len(mention.rows) == 3


def test_the_name_a_part_covers_most_of_comes_first():
    assert only(FACILITIES, "금촌").rows[0] == "금촌도서관"


@pytest.mark.parametrize(
    "question",
    [
        "도서관 몇 곳이야?",
        "공영주차장 요금",
        "주차장은 어디",
        "공원이랑 센터",
        "Which station has the most public parking?",
        "library and park",
    ],
)
def test_generic_words_shared_by_many_names_never_name_a_row_on_their_own(question):
    assert mentions(FACILITIES, question) == []


@pytest.mark.parametrize("question", ["금촌 도서관 몇 시에 열어?", "금촌도서관 몇 시에 열어?"])
def test_a_distinctive_and_a_generic_word_that_spell_a_whole_name_are_a_full_match(question):
    mention = only(FACILITIES, question)
    assert (mention.rows, mention.how) == (("금촌도서관",), "full")


@pytest.mark.parametrize(
    ("question", "written", "row"),
    [
        ("금촌도서간 몇 시에 열어?", "금촌도서간", "금촌도서관"),
        ("금천도서관은 어디야", "금천도서관", "금촌도서관"),
        ("김촌도서관", "김촌도서관", "금촌도서관"),
        ("운정행복센타 운영시간", "운정행복센타", "운정행복센터"),
        ("운정 행복센타 운영시간", "운정 행복센타", "운정행복센터"),
        ("금촌전퉁시장 주차 요금", "금촌전퉁시장", "금촌전통시장 공영주차장"),
    ],
)
def test_one_slip_of_a_letter_or_syllable_in_a_long_name_is_a_typo(question, written, row):
    mention = only(FACILITIES, question)
    assert (mention.written, mention.rows, mention.how) == (written, (row,), "typo")


def test_a_typo_must_open_like_the_name():
    assert mentions(FACILITIES, "문촌도서관") == []


def test_a_typo_does_not_swallow_a_short_word_after_the_name():
    mention = only(FACILITIES, "교하도서 몇 권")
    assert (mention.written, mention.rows) == ("교하도서", ("교하도서관",))


def test_question_words_never_pass_for_a_misspelt_name():
    index = NameIndex([RowName("관광지"), RowName("인근수"), RowName("가창리 공원"), RowName("얼미루")])
    question = "관광객 인구 몇 명이 가장 많은 곳은 얼마 있어?"
    assert mentions(index, question) == []


def test_a_three_syllable_name_allows_one_letter_not_a_whole_syllable():
    index = NameIndex([RowName("관광지"), RowName("심학산")])
    assert only(index, "심핚산 높이").how == "typo"
    assert mentions(index, "심학강 높이") == []


@pytest.mark.parametrize(
    ("question", "rows"),
    [
        ("Gyoha-dong population", ("교하동",)),
        ("gyohadong population", ("교하동",)),
        ("Gyoha dong population", ("교하동",)),
        ("Munsan-eup population", ("문산읍",)),
        ("Munsaneup", ("문산읍",)),
        ("Wollong-myeon", ("월롱면",)),
        ("Unjeong 1-dong", ("운정1동",)),
    ],
)
def test_a_romanised_name_in_an_english_question_names_its_row_spaced_or_not(question, rows):
    mention = only(DISTRICTS, question)
    assert (mention.rows, mention.how) == (rows, "romanised")


def test_a_romanised_part_names_every_row_it_opens():
    mention = only(DISTRICTS, "What is the population of Unjeong?")
    assert mention.how == "romanised"
    assert set(mention.rows) == {"운정1동", "운정2동", "운정3동"}


def test_a_romanised_name_with_an_english_generic_word_learnt_from_other_rows_names_one_row():
    # No English name for 금촌도서관, but "Unjeong Library" teaches that library is 도서관.
    mention = only(FACILITIES, "When does Geumchon library open?")
    assert (mention.written, mention.rows, mention.how) == ("geumchon library", ("금촌도서관",), "romanised")


def test_a_romanised_part_alone_names_the_one_row_it_opens():
    mention = only(FACILITIES, "How many books are there in Gyoha?")
    assert (mention.written, mention.rows, mention.how) == ("gyoha", ("교하도서관",), "romanised")


def test_english_words_narrow_a_romanised_part():
    assert only(FACILITIES, "Unjeong station parking fee").rows == ("운정역 공영주차장",)


@pytest.mark.parametrize("question", ["the dong with most people", "how many eup are there", "park is big"])
def test_short_or_generic_latin_words_never_name_a_row(question):
    assert mentions(DISTRICTS, question) == []
    assert mentions(FACILITIES, question) == []


def test_closest_names_are_the_most_similar_best_first_and_at_most_the_limit():
    closest = FACILITIES.closest("문산도서관")
    assert 0 < len(closest) <= 3
    assert all(name.endswith("도서관") for name in closest)
    assert FACILITIES.closest("문산도서관", limit=1) == closest[:1]


def test_closest_puts_the_names_that_differ_least_first():
    assert DISTRICTS.closest("금촌3동")[:2] == ["금촌1동", "금촌2동"]


def test_closest_compares_romanised_names_for_english_words():
    assert DISTRICTS.closest("Munsan-myeon")[0] == "문산읍"


@pytest.mark.parametrize("words", ["날씨 어때", "xyzzy", ""])
def test_closest_is_empty_when_nothing_is_remotely_similar(words):
    assert FACILITIES.closest(words) == []


def test_an_empty_table_names_nothing():
    assert NameIndex([]).find("금촌도서관") == []
    assert NameIndex([]).closest("금촌도서관") == []


def test_an_index_of_hundreds_of_rows_still_finds_each_row_by_its_full_name():
    places = [
        "금촌", "교하", "운정", "문산", "파주", "법원", "조리", "광탄", "탄현", "월롱",
        "적성", "파평", "장단", "진동", "군내", "심학", "가람", "한울", "해솔", "산내",
    ]  # fmt: skip
    kinds = [
        "역공영주차장", "도서관", "근린공원", "행복센터", "체육관",
        "시장", "호수공원", "청소년센터", "보건소", "주민센터",
    ]  # fmt: skip
    rows = [RowName(f"{place}{kind}") for place in places for kind in kinds]
    index = NameIndex(rows)
    for row in rows[::37]:
        assert only(index, f"{row.name}은 어디야?").rows == (row.name,)
