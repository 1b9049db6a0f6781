import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.kiwi_tokenizer import KiwiTokenizer

tokenizer = KiwiTokenizer(KiwiTokenizer.get_default_config())


def tokenize(text: str):
    return tokenizer.tokenize(Message.build(text=text), "text")


def test_mixed_korean_english_and_numbers_are_split_into_morphemes_with_exact_offsets():
    text = "다음주토요일 DMZ투어 어른2명 예약할게요"
    tokens = tokenize(text)
    surfaces = [t.text for t in tokens]
    assert {"토요일", "DMZ", "투어", "어른", "2", "명", "예약"} <= set(surfaces)
    for token in tokens:
        assert text[token.start : token.end] == token.text
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)


def test_lemmas_normalise_korean_endings_and_english_case():
    lemmas = [t.lemma for t in tokenize("예약했어요 Hello")]
    assert "예약" in lemmas
    assert "하" in lemmas
    assert "hello" in lemmas


def test_no_space_spelling_gives_the_same_morphemes_as_the_spaced_one():
    spaced = [t.lemma for t in tokenize("상담원 연결 해주세요")]
    unspaced = [t.lemma for t in tokenize("상담원연결해주세요")]
    assert spaced == unspaced


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_gives_one_empty_token_and_no_error(text):
    tokens = tokenize(text)
    assert len(tokens) == 1
    assert tokens[0].start == 0


def test_emoji_survive_as_tokens_with_valid_offsets():
    text = "안녕 😀👍🏻 hi"
    tokens = tokenize(text)
    assert tokens
    for token in tokens:
        assert text[token.start : token.end] == token.text
    assert any("😀" in t.text for t in tokens)


def test_the_component_sets_tokens_on_a_message_through_rasas_pipeline_api():
    message = Message.build(text="ㅎㅇ 반가워요")
    tokenizer.process([message])
    assert [t.text for t in message.get("text_tokens")]
