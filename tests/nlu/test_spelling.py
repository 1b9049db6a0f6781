"""Typos read as the word the training data knows (bot/nlu/spelling.py), and only typos."""

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.kiwi_tokenizer import POS, UNKNOWN, KiwiTokenizer
from bot.nlu.spelling import Vocabulary

VOCABULARY = Vocabulary({"취소": 12, "변경": 9, "신청": 7, "예약": 40, "문서": 1, "구독": 5, "구역": 1})


def _tokens(text: str) -> list:
    return KiwiTokenizer(KiwiTokenizer.get_default_config()).tokenize(Message(data={"text": text}), "text")


def test_a_word_one_letter_off_a_known_word_is_read_as_it():
    assert VOCABULARY.correction("츼소", "NNG") == "취소"  # a wrong vowel
    assert VOCABULARY.correction("변겅", "NNG") == "변경"
    assert VOCABULARY.correction("예얙", "NNG") == "예약"  # a wrong final consonant


def test_among_equally_near_words_the_more_frequent_is_chosen():
    # 구덕 is one letter from 구독 (5 examples) and from 구역 (1).
    assert VOCABULARY.correction("구덕", "NNG") == "구독"


def test_known_far_short_and_non_content_words_are_left_alone():
    assert VOCABULARY.correction("취소", "NNG") is None  # known
    assert VOCABULARY.correction("환불", "NNG") is None  # nothing near
    assert VOCABULARY.correction("츼", "NNG") is None  # one syllable: too many neighbours
    assert VOCABULARY.correction("츼소", "EF") is None  # an ending, not a content word
    assert Vocabulary({}).correction("츼소", "NNG") is None


def test_the_tokenizer_marks_words_its_dictionary_does_not_know():
    tokens = {t.text: t for t in _tokens("예약 츼소할게요 순서")}
    assert tokens["츼소"].get(UNKNOWN) and tokens["츼소"].get(POS).startswith("NN")
    assert not tokens["예약"].get(UNKNOWN)
    # 순서 is a word Kiwi knows, so it is never taken for a typo of 문서, however near.
    assert not tokens["순서"].get(UNKNOWN)


def test_the_vocabulary_keeps_only_content_words():
    vocabulary = Vocabulary.of([("예약", "NNG"), ("예약", "NNG"), ("하", "XSV"), ("어요", "EF"), ("tour", "SL")])
    assert vocabulary.counts == {"예약": 2}
