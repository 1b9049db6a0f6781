"""The intent classifier (bot/nlu/linear_intent_classifier.py) learns from examples, is stored with the model and read
back, and ranks intents with confidences the fallback threshold can read."""

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.kiwi_tokenizer import KiwiTokenizer
from bot.nlu.linear_intent_classifier import LinearIntentClassifier
from bot.nlu.sentence_encoder import SentenceEncoderFeaturizer

EXAMPLES = {
    "greet": ["안녕하세요", "안녕", "하이", "hello", "hi there", "반갑습니다"],
    "book_tour": [
        "투어 예약할래요",
        "DMZ 투어 예약하고 싶어요",
        "예약해줘",
        "book a tour",
        "I want to book the DMZ tour",
    ],
    "thank": ["감사합니다", "고마워요", "thanks", "thank you so much", "ㄳ"],
}


def _prepared(texts_and_intents: list[tuple[str, str | None]]) -> list[Message]:
    messages = [Message(data={"text": t, **({"intent": i} if i else {})}) for t, i in texts_and_intents]
    tokenizer = KiwiTokenizer(KiwiTokenizer.get_default_config())
    tokenizer.process_training_data(TrainingData(training_examples=messages))
    SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(), "encoder").process(messages)
    return messages


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def test_a_trained_classifier_is_read_back_and_places_new_wordings(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intents")
    config = LinearIntentClassifier.get_default_config()
    classifier = LinearIntentClassifier.create(config, storage, resource, _context())
    examples = _prepared([(text, intent) for intent, texts in EXAMPLES.items() for text in texts])
    classifier.train(TrainingData(training_examples=examples))

    loaded = LinearIntentClassifier.load(config, storage, resource, _context())
    asked = _prepared([("투어 예약 가능해요?", None), ("안녕하세용", None), ("감사해용", None)])
    loaded.process(asked)
    assert [m.get("intent")["name"] for m in asked] == ["book_tour", "greet", "thank"]
    for message in asked:
        ranking = message.get("intent_ranking")
        confidences = [r["confidence"] for r in ranking]
        assert confidences == sorted(confidences, reverse=True)
        assert abs(sum(confidences) - 1.0) < 1e-6
        assert ranking[0] == message.get("intent")


def test_an_untrained_classifier_leaves_messages_without_an_intent(tmp_path):
    storage = LocalModelStorage(tmp_path)
    config = LinearIntentClassifier.get_default_config()
    loaded = LinearIntentClassifier.load(config, storage, Resource("never-trained"), _context())
    asked = _prepared([("안녕하세요", None)])
    loaded.process(asked)
    assert asked[0].get("intent") is None


def test_a_typo_on_the_word_that_names_the_request_is_read_as_that_word(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intents")
    config = LinearIntentClassifier.get_default_config()
    classifier = LinearIntentClassifier.create(config, storage, resource, _context())
    examples = {
        **EXAMPLES,
        "book_tour": [*EXAMPLES["book_tour"], "예약할게요", "예약 신청할게요", "투어 예약 신청합니다"],
        "cancel_booking": ["예약 취소할게요", "취소해 주세요", "cancel my booking"],
    }
    prepared = _prepared([(text, intent) for intent, texts in examples.items() for text in texts])
    classifier.train(TrainingData(training_examples=prepared))

    loaded = LinearIntentClassifier.load(config, storage, resource, _context())
    asked = _prepared([("예약 츼소할게요", None), ("예얙 취소", None)])
    loaded.process(asked)
    assert [m.get("intent")["name"] for m in asked] == ["cancel_booking", "cancel_booking"]
