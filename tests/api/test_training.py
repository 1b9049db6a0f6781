"""The NLU inbox and the training data over the REST api: capture, masking, labels, examples, warnings."""

import uuid

import pytest
import sqlalchemy
import yaml

from api.training import data
from tests.api.conftest import SERVICE_HEADERS
from tests.api.training_fixtures import bearer, training_environment


@pytest.fixture
def training(database_url, tmp_path):
    with training_environment(database_url, tmp_path) as environment:
        yield environment


@pytest.fixture
def training_client(training):
    return training.client


@pytest.fixture
def training_settings(training):
    return training.settings


def _record(client, user: str, text: str, payload: dict | None = None) -> dict:
    body = {"channel": "web", "channel_user_id": user, "channel_message_id": uuid.uuid4().hex, "text": text}
    if payload:
        body["payload"] = payload
    return client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).json()


def _report(client, message_id: int, text: str | None, intent: str = "greet", confidence: float = 0.3, **extra):
    body = {"message_id": message_id, "text": text, "language": "ko", "intent": intent, "confidence": confidence}
    response = client.post("/api/training/inbox", json=body | extra, headers=SERVICE_HEADERS)
    assert response.status_code == 202, response.text
    return response.json()


def _said(client, user: str, text: str, **parse) -> dict:
    recorded = _record(client, user, text)
    return _report(client, recorded["message_id"], text, **parse)


def _inbox(client, **params) -> list[dict]:
    response = client.get("/api/training/inbox", params=params, headers=bearer(client))
    assert response.status_code == 200, response.text
    return response.json()


# --- capture ---------------------------------------------------------------------------------------------


def test_the_same_message_from_several_citizens_is_one_item_with_a_count(training_client):
    _said(training_client, "a", "반려견  놀이터 어디 있어요?", intent="facility_nearby", confidence=0.31)
    _said(training_client, "b", "반려견 놀이터 어디 있어요?", intent="facility_nearby", confidence=0.35)
    _said(training_client, "c", "반려견 놀이터 어디 있어요?", intent="facility_nearby", confidence=0.33)
    [item] = _inbox(training_client)
    assert item["text"] == "반려견 놀이터 어디 있어요?"
    assert item["count"] == 3
    assert item["confidence"] == pytest.approx(0.33)  # the latest parse


def test_a_retried_report_of_one_message_counts_once(training_client):
    recorded = _record(training_client, "a", "주차 요금 얼마예요")
    for _ in range(2):
        _report(training_client, recorded["message_id"], "주차 요금 얼마예요")
    assert [item["count"] for item in _inbox(training_client)] == [1]


def test_the_inbox_never_stores_an_unmasked_phone_number(training_client):
    text = "제 번호는 010-1234-5678 이고 01098765432 로도 돼요, 메일 kim@example.com"
    entities = [{"entity": "phone", "value": "01012345678", "extractor": "BookingEntityExtractor"}]
    _said(training_client, "a", text, entities=entities)
    [item] = _inbox(training_client)
    assert item["text"] == "제 번호는 010-****-5678 이고 010-****-5432 로도 돼요, 메일 ***@***"
    assert item["entities"] == [{"entity": "phone", "value": "010-****-5678", "extractor": "BookingEntityExtractor"}]
    with training_client.app.state.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT text, entities FROM nlu_inbox")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    for digits in ("1234", "98765432", "01012345678", "kim@"):
        assert digits not in stored


def test_a_message_below_the_fallback_threshold_is_listed_with_its_best_real_intent(training_client):
    _said(training_client, "a", "드론 날려도 돼요?", intent="tour_info", confidence=0.21, fallback=True)
    _said(training_client, "b", "안녕하세요", intent="greet", confidence=0.99)
    [item] = _inbox(training_client, kind="fallback")
    assert (item["intent"], item["fallback_count"]) == ("tour_info", 1)
    # A confident, understood message waits in "all", not among those to review.
    assert [i["text"] for i in _inbox(training_client)] == ["드론 날려도 돼요?"]
    assert {i["text"] for i in _inbox(training_client, kind="all")} == {"드론 날려도 돼요?", "안녕하세요"}


def test_a_handoff_after_a_message_marks_it_as_ended_in_a_handoff(training_client):
    first = _record(training_client, "a", "세금 고지서가 이상해요")
    _report(training_client, first["message_id"], "세금 고지서가 이상해요", confidence=0.9)
    # The citizen presses "talk to a person": a button, no parse; the handoff follows it.
    pressed = _record(training_client, "a", "상담원 연결", payload={"button": "/request_human"})
    body = {"channel": "web", "channel_user_id": "a", "reason": "button"}
    assert training_client.post("/api/conversations/handoffs", json=body, headers=SERVICE_HEADERS).status_code == 201
    _report(training_client, pressed["message_id"], None, typed=False)
    [item] = _inbox(training_client, kind="handoff")
    assert (item["text"], item["handoff_count"]) == ("세금 고지서가 이상해요", 1)
    # Listed for review although the model was sure of itself.
    assert [i["text"] for i in _inbox(training_client)] == ["세금 고지서가 이상해요"]


def test_the_inbox_filters_by_language_and_intent_and_sorts_by_frequency(training_client):
    _said(training_client, "a", "where can I fish", intent="facility_nearby", language="en")
    for user in "bc":
        _said(training_client, user, "낚시터 어디예요", intent="facility_nearby")
    _said(training_client, "d", "캠핑장 예약", intent="book_tour")
    assert [i["text"] for i in _inbox(training_client, language="en")] == ["where can I fish"]
    assert [i["text"] for i in _inbox(training_client, intent="book_tour")] == ["캠핑장 예약"]
    assert _inbox(training_client, order="frequent")[0]["text"] == "낚시터 어디예요"
    assert _inbox(training_client, order="recent")[0]["text"] == "캠핑장 예약"


def test_a_report_needs_the_service_token(training_client):
    response = training_client.post("/api/training/inbox", json={"message_id": 1, "typed": False})
    assert response.status_code == 401


# --- labels ----------------------------------------------------------------------------------------------


def test_labelling_a_message_with_a_new_intent_makes_it_an_example_in_the_admin_file(
    training_client, training_settings
):
    _said(training_client, "a", "반려견 놀이터 어디 있어요?", intent="facility_nearby")
    [item] = _inbox(training_client)
    response = training_client.post(
        f"/api/training/inbox/{item['id']}/label",
        json={"intent": "pet_park", "text": "[반려견 놀이터](place) 어디 있어요?", "new_intent": True},
        headers=bearer(training_client),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["label_intent"]) == ("labelled", "pet_park")
    admin_file = training_settings.training_project_dir / "data" / "nlu" / "ko" / "admin.yml"
    content = yaml.safe_load(admin_file.read_text())
    assert content["nlu"] == [{"intent": "pet_park", "examples": "- [반려견 놀이터](place) 어디 있어요?\n"}]
    assert _inbox(training_client) == []  # done
    assert [i["status"] for i in _inbox(training_client, status="labelled")] == ["labelled"]


def test_a_label_may_mark_entities_but_not_change_the_words(training_client):
    _said(training_client, "a", "반려견 놀이터 어디 있어요?")
    [item] = _inbox(training_client)
    response = training_client.post(
        f"/api/training/inbox/{item['id']}/label",
        json={"intent": "pet_park", "text": "강아지 놀이터 어디 있어요?"},
        headers=bearer(training_client) | {"Accept-Language": "ko"},
    )
    assert response.status_code == 422
    assert "문장은 바꾸지" in response.json()["detail"]


def test_out_of_scope_and_ignore_take_a_message_off_the_list(training_client, training_settings):
    _said(training_client, "a", "로또 번호 알려줘")
    _said(training_client, "b", "ㅋㅋㅋㅋ 아무거나")
    first, second = _inbox(training_client, order="recent")
    headers = bearer(training_client)
    assert training_client.post(f"/api/training/inbox/{first['id']}/ignore", headers=headers).status_code == 200
    response = training_client.post(f"/api/training/inbox/{second['id']}/out-of-scope", headers=headers)
    assert response.json()["status"] == "out_of_scope"
    assert _inbox(training_client) == []
    examples = data.search(data.load(training_settings), "로또 번호 알려줘")
    assert [(e.intent, e.file) for e in examples] == [("out_of_scope", "data/nlu/ko/admin.yml")]


# --- examples --------------------------------------------------------------------------------------------


def test_examples_are_added_counted_searched_and_removed_from_the_admin_file(training_client, training_settings):
    headers = bearer(training_client)
    added = training_client.post(
        "/api/training/examples",
        json={"language": "ko", "intent": "pet_park", "text": "강아지 운동장 있나요", "new_intent": True},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    assert any("pet_park" in warning and "1개뿐" in warning for warning in added.json()["warnings"])
    intents = {i["intent"]: i for i in training_client.get("/api/training/intents", headers=headers).json()["intents"]}
    assert intents["pet_park"]["counts"] == {"ko": 1, "en": 0}
    assert intents["greet"]["counts"]["ko"] > 10
    found = training_client.get("/api/training/examples", params={"q": "강아지 운동장"}, headers=headers).json()
    assert found == [
        {
            "language": "ko",
            "intent": "pet_park",
            "text": "강아지 운동장 있나요",
            "file": "data/nlu/ko/admin.yml",
            "removable": True,
        }
    ]
    removed = training_client.post(
        "/api/training/examples/remove",
        json={"language": "ko", "intent": "pet_park", "text": "강아지 운동장 있나요"},
        headers=headers,
    )
    assert removed.status_code == 204
    assert not (training_settings.training_project_dir / "data" / "nlu" / "ko" / "admin.yml").exists()


def test_an_example_of_another_file_cannot_be_removed_from_the_console(training_client):
    headers = bearer(training_client) | {"Accept-Language": "ko"}
    [greeting] = training_client.get(
        "/api/training/examples", params={"q": "Hi there", "language": "en", "intent": "greet"}, headers=headers
    ).json()
    assert not greeting["removable"]
    response = training_client.post(
        "/api/training/examples/remove",
        json={"language": "en", "intent": "greet", "text": greeting["text"]},
        headers=headers,
    )
    assert response.status_code == 409
    assert "admin.yml" in response.json()["detail"]


def test_the_same_text_twice_in_one_intent_is_refused_and_in_two_intents_warned_about(training_client):
    headers = bearer(training_client) | {"Accept-Language": "ko"}
    body = {"language": "en", "intent": "greet", "text": "hi"}
    assert training_client.post("/api/training/examples", json=body, headers=headers).status_code == 409
    added = training_client.post("/api/training/examples", json=body | {"intent": "thank"}, headers=headers)
    assert added.status_code == 201
    assert any("'hi'" in w and "greet" in w and "thank" in w for w in added.json()["warnings"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"language": "ko", "intent": "Pet Park", "text": "강아지"}, 422),
        ({"language": "ko", "intent": "nlu_fallback", "text": "강아지"}, 422),
        ({"language": "ko", "intent": "pet_park", "text": "   "}, 422),
        ({"language": "ko", "intent": "pet_park", "text": "[강아지 놀이터"}, 422),
        ({"language": "fr", "intent": "pet_park", "text": "chien"}, 422),
    ],
)
def test_bad_examples_are_refused_and_change_nothing(training_client, training_settings, body, status):
    response = training_client.post("/api/training/examples", json=body, headers=bearer(training_client))
    assert response.status_code == status
    assert not list((training_settings.training_project_dir / "data").rglob("admin.yml"))


def test_the_admin_file_is_rasa_yaml_that_reads_back_the_same(training_settings):
    for sentence in ("주차장 #1 어디?", "- 대시로 시작", "따옴표 \"와\" '도'", "[파주](place) 맛집"):
        data.add_example(training_settings, "ko", "odd_texts", sentence)
    examples = data.search(data.load(training_settings), intent="odd_texts")
    assert [e.text for e in examples] == [
        "주차장 #1 어디?",
        "- 대시로 시작",
        "따옴표 \"와\" '도'",
        "[파주](place) 맛집",
    ]
    assert [e.plain for e in examples][-1] == "파주 맛집"
