"""The review queue surfaces the confident mistakes: what a citizen did next says an answer was wrong however sure the
model was. An admin sees each in its exchange; a removed example sends its message back to review; old model files
are deleted at night, never the live one nor the one a rollback needs."""

import re
import uuid
from datetime import datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from api.automation.schedule import JobContext
from api.conversations import service as conversations
from api.conversations.schemas import Reply
from api.training import data, registry
from api.training.models import TrainedModel
from api.training.scheduled import prune_models
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.api.training_fixtures import ADMIN, PASSWORD, bearer, training_environment, write_model

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=SEOUL)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HOME = "/console/admin/training"


@pytest.fixture
def training(database_url, tmp_path):
    with training_environment(database_url, tmp_path) as environment:
        yield environment


def _said(client, user: str, text: str | None = None, button: str | None = None, **parse) -> int:
    body = {"channel": "web", "channel_user_id": user, "channel_message_id": uuid.uuid4().hex, "text": text or ""}
    if button:
        body["payload"] = {"button": button}
    message_id = client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).json()["message_id"]
    report = {"message_id": message_id, "typed": button is None}
    if button is None:
        report |= {"text": text, "language": "ko", "intent": "tour_info", "confidence": 0.97} | parse
    assert client.post("/api/training/inbox", json=report, headers=SERVICE_HEADERS).status_code == 202
    return message_id


def _review(client, kind: str = "review") -> list[dict]:
    return client.get("/api/training/inbox", params={"kind": kind}, headers=bearer(client)).json()


def test_a_sure_answer_followed_by_a_message_the_assistant_did_not_understand_is_reviewed_first(training):
    client = training.client
    with time_machine.travel(NOON, tick=False) as clock:
        _said(client, "a", "투어 요금 얼마예요", intent="tour_price", confidence=0.55)  # only unsure
        clock.shift(timedelta(minutes=10))
        _said(client, "b", "쓰레기 버리는 날 알려줘", confidence=0.98)  # sure, and answered with the tour
        clock.shift(timedelta(seconds=20))
        _said(client, "b", "아니 그거 말고요", intent="nlu_fallback", confidence=0.2, fallback=True)
    review = _review(client)
    assert review[0]["text"] == "쓰레기 버리는 날 알려줘"
    assert review[0]["doubt_count"] == 1 and review[0]["confidence"] == pytest.approx(0.98)
    assert [item["text"] for item in _review(client, "doubted")] == ["쓰레기 버리는 날 알려줘"]


def test_asking_the_same_again_within_a_minute_doubts_the_first_answer_and_a_later_new_question_does_not(training):
    client = training.client
    with time_machine.travel(NOON, tick=False) as clock:
        _said(client, "a", "음식물 쓰레기 버리는 요일", confidence=0.95)
        clock.shift(timedelta(seconds=30))
        _said(client, "a", "음식물쓰레기 언제 버려요", confidence=0.95)  # the same question in other words
        clock.shift(timedelta(minutes=5))
        _said(client, "a", "주차장 어디 있어요", confidence=0.95)  # a new question, long after
        clock.shift(timedelta(seconds=20))
        _said(client, "a", "도서관 몇 시에 열어요", confidence=0.95)  # another topic at once: no sign
    assert [item["text"] for item in _review(client, "doubted")] == ["음식물 쓰레기 버리는 요일"]


def test_pressing_that_did_not_help_doubts_the_question_it_answered(training):
    client = training.client
    feedback = '/knowledge_feedback{"ask_id":"7","helpful":"no"}'
    with time_machine.travel(NOON, tick=False) as clock:
        asked = _said(client, "a", "여권 발급 시간", intent="city_question", confidence=0.99)
        with client.app.state.sessionmaker() as session:
            buttons = [{"title": "도움이 안 됐어요", "payload": feedback}]
            conversations.record_replies(session, asked, [Reply(text="여권은 …", buttons=buttons)])
            session.commit()
        clock.shift(timedelta(seconds=15))
        _said(client, "a", button=feedback)
    [item] = _review(client, "doubted")
    assert item["text"] == "여권 발급 시간"


def test_an_admin_reviews_a_doubted_message_in_its_exchange_and_the_read_is_audited(training):
    client = training.client
    with time_machine.travel(NOON, tick=False) as clock:
        asked = _said(client, "a", "쓰레기 버리는 날 010-1234-5678", confidence=0.98)
        with client.app.state.sessionmaker() as session:
            conversations.record_replies(session, asked, [Reply(text="DMZ 투어 요금은 …")])
            session.commit()
        clock.shift(timedelta(seconds=20))
        _said(client, "a", "아니 쓰레기요", intent="nlu_fallback", confidence=0.2, fallback=True)
    browser = TestClient(client.app)
    page = browser.get("/console/sign-in")
    signed_in = browser.post(
        "/console/sign-in",
        data={"csrf_token": CSRF.search(page.text).group(1), "email": ADMIN, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    inbox = browser.get(f"{HOME}/inbox").text
    exchange_link = re.search(r'href="(/console/admin/training/conversations/\d+)" data-testid="inbox-exchange"', inbox)
    assert 'data-testid="badge-doubt"' in inbox and exchange_link
    exchange = browser.get(exchange_link.group(1)).text
    turns = re.findall(r'data-testid="exchange-turn" data-direction="(in|out)"', exchange)
    assert turns == ["in", "out", "in"]
    assert "DMZ 투어 요금은" in exchange and "다음 메시지를 이해하지 못함" in exchange
    assert "1234" not in exchange and "010-****-5678" in exchange  # masked as the inbox keeps it
    audit = browser.get("/console/admin/audit").text
    assert "training_exchange_read" in audit


def test_removing_a_labelled_example_sends_its_message_back_to_review(training):
    client = training.client
    _said(client, "a", "반려견 놀이터 어디 있어요?", confidence=0.3)
    [item] = _review(client)
    headers = bearer(client)
    label = {"intent": "pet_park", "new_intent": True}
    assert client.post(f"/api/training/inbox/{item['id']}/label", json=label, headers=headers).status_code == 200
    assert _review(client) == []
    example = {"language": "ko", "intent": "pet_park", "text": "반려견 놀이터 어디 있어요?"}
    assert client.post("/api/training/examples/remove", json=example, headers=headers).status_code == 204
    [back] = _review(client)
    assert (back["id"], back["status"], back["label_intent"]) == (item["id"], "new", None)
    assert data.search(data.load(training.settings), intent="pet_park") == []


def test_housekeeping_deletes_old_model_files_but_keeps_the_live_the_previous_and_the_newest(training):
    settings = training.settings.model_copy(update={"training_keep_models": 2, "training_keep_model_days": 30})
    folder = settings.training_models_dir
    with training.client.app.state.sessionmaker() as session:
        registry.discover(session, settings)
        live = registry.live_model(session, settings)
        made = []
        for age in (90, 80, 70, 60, 1):
            path = folder / f"paju-old-{age}.tar.gz"
            write_model(path)
            trained = NOON - timedelta(days=age)
            made.append(registry.register(session, path, source="console", trained_at=trained))
        live.trained_at = NOON - timedelta(days=75)  # the live model is old too: it stays
        session.commit()
        context = JobContext(session=session, due_at=NOON, now=NOON, settings=settings)
        assert prune_models(context) == {"deleted": 3, "kept": 3}
        deleted = {model.file_name for model in session.query(TrainedModel) if model.file_deleted_at is not None}
    # The two newest (1 and 60 days) and the live one stay; the rest go, files and all.
    assert deleted == {"paju-old-90.tar.gz", "paju-old-80.tar.gz", "paju-old-70.tar.gz"}
    assert sorted(p.name for p in folder.glob("paju-old-*")) == ["paju-old-1.tar.gz", "paju-old-60.tar.gz"]
    assert live.path and (folder / live.file_name).exists()
