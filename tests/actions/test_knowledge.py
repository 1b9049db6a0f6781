"""The knowledge-base actions with a hand-built tracker and the api mocked by respx: an answer with whom to contact,
its notes and buttons, "did you mean", the honest decline, the silent step back for a flow, a person after a second
miss, and the feedback buttons."""

import json
import re
from pathlib import Path

import httpx
import pytest
import respx
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiClient
from actions.conversation import ActionNotUnderstood
from actions.knowledge import ActionAnswerFromKnowledge, ActionKnowledgeFeedback, ActionKnowledgeShow

API = "http://api.test"
DOMAIN = Domain.load(Path(__file__).parents[2] / "domain").as_dict()
PASSPORT = {"kind": "entry", "id": 7, "title": "여권 접수·교부 시간과 장소", "sample": True}
LUNCH = {"kind": "notice", "id": 5, "title": "시청 민원실 점심시간 운영", "sample": False}
FEES = {"kind": "entry", "id": 8, "title": "여권 발급 수수료", "sample": True}
CITY = {"department": "파주시청 대표전화", "phone": "031-940-4114"}


def answered(source: dict = PASSPORT, **answer) -> dict:
    """An AskOut that answers, as POST /api/knowledge/ask returns it."""
    return {
        "answered": True,
        "ask_id": 12,
        "confidence": 0.93,
        "answer": {
            "text": "여권은 시청 민원여권과에서 평일 9시부터 18시까지 신청할 수 있어요.",
            "language": "ko",
            "korean_only": False,
            "title": source["title"],
            "department": "민원여권과",
            "phone": "031-940-4242",
            "link": "https://www.paju.go.kr/passport",
            "sample": True,
            "source": source,
            **answer,
        },
        "sources": [source],
        "alternatives": [],
        "fallback": None,
    }


def unanswered(fallback: dict | None = CITY, alternatives: list | None = None, ask_id: int | None = 13) -> dict:
    return {
        "answered": False,
        "ask_id": ask_id,
        "confidence": 0.3,
        "answer": None,
        "sources": [],
        "alternatives": alternatives or [],
        "fallback": fallback,
    }


def _user(text: str, intent: str, confidence: float = 0.45) -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": confidence}}}


def _turn(text: str, intent: str, reply: str | None) -> list[dict]:
    """An earlier message that the knowledge action answered (reply None) or declined."""
    events = [_user(text, intent), {"event": "action", "name": "action_answer_from_knowledge"}]
    said = {"event": "bot", "text": "...", "metadata": {"utter_action": reply} if reply else {}}
    return [*events, said, {"event": "action", "name": "action_listen"}]


def tracker(
    text: str,
    intent: str = "nlu_fallback",
    language: str = "ko",
    before: list[dict] | None = None,
    entities: list[dict] | None = None,
    sender_id: str = "telegram:42",
) -> Tracker:
    return Tracker(
        sender_id=sender_id,
        slots={"language": language},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.45}, "entities": entities or []},
        events=[*(before or []), _user(text, intent)],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def button(intent: str, **entities: str) -> Tracker:
    text = f"/{intent}{json.dumps(entities)}"
    found = [{"entity": name, "value": value} for name, value in entities.items()]
    return tracker(text, intent, entities=found)


async def run(action_class, current: Tracker) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action_class(ApiClient(API, "svc")).run(dispatcher, current, DOMAIN)
    return events, dispatcher.messages


def payloads(message: dict) -> list[str]:
    return [b["payload"] for b in message.get("buttons") or []]


def titles(message: dict) -> list[str]:
    return [b["title"] for b in message.get("buttons") or []]


def sent(route: respx.Route) -> dict:
    return json.loads(route.calls.last.request.content)


# --- answers ---------------------------------------------------------------------------------------------------


@respx.mock
async def test_an_answer_shows_its_text_whom_to_contact_the_sample_note_its_link_and_feedback_buttons():
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=answered())
    events, [message] = await run(ActionAnswerFromKnowledge, tracker("여권 발급 시간"))

    assert sent(route) == {"question": "여권 발급 시간", "language": "ko", "strict": False, "channel": "telegram"}
    assert route.calls.last.request.headers["Authorization"] == "Bearer svc"
    assert message["text"] == (
        "여권은 시청 민원여권과에서 평일 9시부터 18시까지 신청할 수 있어요.\n\n"
        "문의: 민원여권과 031-940-4242\n시범 운영용 예시 정보예요."
    )
    assert titles(message) == ["자세히 보기 (누리집)", "도움이 됐어요", "도움이 안 됐어요"]
    assert payloads(message) == [
        "https://www.paju.go.kr/passport",
        '/knowledge_feedback{"ask_id":"12","helpful":"yes"}',
        '/knowledge_feedback{"ask_id":"12","helpful":"no"}',
    ]
    assert events == []


@respx.mock
async def test_an_english_citizen_gets_a_korean_only_entry_in_korean_with_one_english_note():
    reply = answered(korean_only=True, department="Civil Affairs and Passports", sample=False)
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=reply)
    _events, [message] = await run(ActionAnswerFromKnowledge, tracker("passport office hours", language="en"))

    assert sent(route)["language"] == "en"
    korean, notes = message["text"].split("\n\n")
    assert korean.startswith("여권은")
    assert notes == "Contact: Civil Affairs and Passports 031-940-4242\nThis information is available in Korean only."
    assert titles(message) == ["Open website", "That helped", "That didn't help"]


@respx.mock
async def test_a_notice_answers_with_a_button_to_read_it_and_no_link_nor_contact_it_lacks():
    reply = answered(LUNCH, department=None, phone=None, link=None, sample=False, text="점심시간에도 민원실을 열어요.")
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=reply)
    _events, [message] = await run(ActionAnswerFromKnowledge, tracker("점심시간에 민원 돼요?"))

    assert message["text"] == "점심시간에도 민원실을 열어요."
    assert payloads(message)[0] == '/notice_read{"notice_id":"5"}'
    assert titles(message)[0] == "공지 전문 보기"


@respx.mock
async def test_a_current_notice_on_the_same_subject_comes_as_a_button_beside_the_answer():
    reply = answered() | {"sources": [PASSPORT, LUNCH]}
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=reply)
    _events, [message] = await run(ActionAnswerFromKnowledge, tracker("여권 발급 시간"))
    assert titles(message) == ["자세히 보기 (누리집)", "시청 민원실 점심시간 운영", "도움이 됐어요", "도움이 안 됐어요"]
    assert payloads(message)[1] == '/notice_read{"notice_id":"5"}'


@respx.mock
async def test_a_city_question_is_the_knowledge_bases_own_and_is_declined_rather_than_stepped_back():
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=unanswered())
    events, messages = await run(ActionAnswerFromKnowledge, tracker("여권 영문 이름 바꾸는 법", "city_question"))
    assert sent(route)["strict"] is False
    assert events == []
    assert messages[0]["response"] == "utter_knowledge_no_answer" and messages[0]["phone"] == "031-940-4114"


@respx.mock
async def test_a_link_that_is_not_https_gets_no_button():
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=answered(link="http://paju.go.kr"))
    _events, [message] = await run(ActionAnswerFromKnowledge, tracker("여권 발급 시간"))
    assert not [p for p in payloads(message) if "paju.go.kr" in p]


@respx.mock
async def test_close_alternatives_follow_the_answer_as_did_you_mean_buttons():
    reply = answered() | {"alternatives": [FEES, LUNCH]}
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=reply)
    _events, [_answer, alternatives] = await run(ActionAnswerFromKnowledge, tracker("여권"))

    assert alternatives["response"] == "utter_knowledge_alternatives"
    assert titles(alternatives) == ["여권 발급 수수료", "시청 민원실 점심시간 운영"]
    assert payloads(alternatives) == ['/knowledge_show{"entry_id":"8"}', '/notice_read{"notice_id":"5"}']


@respx.mock
async def test_a_long_message_is_asked_by_its_first_500_characters():
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=answered())
    await run(ActionAnswerFromKnowledge, tracker("여권 " * 400))
    assert len(sent(route)["question"]) == 500


@respx.mock
async def test_a_sender_without_a_channel_prefix_is_asked_with_no_channel():
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=answered())
    await run(ActionAnswerFromKnowledge, tracker("여권 발급 시간", sender_id="default"))
    assert sent(route)["channel"] is None


# --- no answer -------------------------------------------------------------------------------------------------


@respx.mock
async def test_a_flow_intent_without_a_strong_match_steps_back_silently_so_the_flow_runs():
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=unanswered(fallback=None, ask_id=None))
    events, messages = await run(ActionAnswerFromKnowledge, tracker("투어 요금 얼마예요", "tour_info"))

    assert sent(route)["strict"] is True
    assert messages == []
    assert events == [{"event": "undo", "timestamp": None}]


@respx.mock
async def test_a_flow_intent_with_a_strong_match_is_answered_from_the_knowledge_base():
    route = respx.post(f"{API}/api/knowledge/ask").respond(200, json=answered())
    events, [message] = await run(ActionAnswerFromKnowledge, tracker("여권 발급 시간", "inform"))
    assert sent(route)["strict"] is True
    assert message["text"].startswith("여권은") and events == []


@respx.mock
async def test_no_answer_is_declined_honestly_with_whom_to_call_and_a_person_to_talk_to():
    hint = {"department": "자원순환과", "phone": "031-940-4567"}
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=unanswered(hint, alternatives=[FEES]))
    events, [decline, alternatives] = await run(ActionAnswerFromKnowledge, tracker("주식 추천해줘", "out_of_scope"))

    assert (decline["response"], decline["department"], decline["phone"]) == (
        "utter_knowledge_no_answer",
        "자원순환과",
        "031-940-4567",
    )
    assert payloads(alternatives) == ['/knowledge_show{"entry_id":"8"}']
    assert events == []


def test_the_decline_names_the_department_and_phone_and_offers_a_person_in_both_languages():
    variations = DOMAIN["responses"]["utter_knowledge_no_answer"]
    assert len(variations) == 2
    for variation in variations:
        assert "{department}" in variation["text"] and "{phone}" in variation["text"]
        assert [b["payload"] for b in variation["buttons"]] == ["/request_human"]


@respx.mock
async def test_a_second_message_in_a_row_neither_understood_nor_answered_brings_in_a_person():
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=unanswered())
    handoff = respx.post(f"{API}/api/conversations/handoffs").respond(
        201,
        json={
            "id": 3,
            "status": "waiting",
            "department": "civil_affairs",
            "waiting_ahead": 0,
            "expected_wait_minutes": 5,
            "office_open": True,
            "next_opening": None,
        },
    )
    missed = _turn("ㅁㄴㅇㄹ ㅁㄴㅇㄹ", "nlu_fallback", "utter_knowledge_no_answer")
    events, messages = await run(ActionAnswerFromKnowledge, tracker("ㅋㅋㅋ 뭐지", before=missed))

    assert [m["response"] for m in messages] == ["utter_still_not_understood", "utter_handoff_queued"]
    assert sent(handoff)["reason"] == "two_fallbacks"
    assert events == [{"event": "pause", "timestamp": None}]


@respx.mock
@pytest.mark.parametrize(
    "before",
    [
        _turn("보건소 운영시간", "nlu_fallback", None),  # not understood, but answered from the knowledge base
        _turn("주식 추천해줘", "out_of_scope", "utter_knowledge_no_answer"),  # declined, but understood
    ],
)
async def test_a_miss_after_an_answer_or_after_an_off_topic_question_is_only_declined(before):
    respx.post(f"{API}/api/knowledge/ask").respond(200, json=unanswered())
    handoff = respx.post(f"{API}/api/conversations/handoffs")
    _events, messages = await run(ActionAnswerFromKnowledge, tracker("ㅁㄴㅇㄹ", before=before))
    assert [m["response"] for m in messages] == ["utter_knowledge_no_answer"]
    assert not handoff.called


@respx.mock
async def test_the_not_understood_action_does_not_count_a_message_the_knowledge_base_answered():
    handoff = respx.post(f"{API}/api/conversations/handoffs")
    current = tracker("ㅁㄴㅇㄹ", before=_turn("보건소 운영시간", "nlu_fallback", None))
    _events, messages = await run(ActionNotUnderstood, current)
    assert [m["response"] for m in messages] == ["utter_default"]
    assert not handoff.called


@respx.mock
@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.Response(503)])
async def test_when_the_api_is_down_the_citizen_hears_so_and_nothing_breaks(failure):
    route = respx.post(f"{API}/api/knowledge/ask")
    route.side_effect = [failure, failure]
    events, messages = await run(ActionAnswerFromKnowledge, tracker("여권 발급 시간"))
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


# --- "did you mean" and feedback buttons -------------------------------------------------------------------------


@respx.mock
async def test_a_did_you_mean_button_shows_that_entry_without_feedback_buttons():
    reply = answered(FEES) | {"ask_id": None}
    route = respx.get(f"{API}/api/knowledge/entries/8/answer").respond(200, json=reply)
    _events, [message] = await run(ActionKnowledgeShow, button("knowledge_show", entry_id="8"))

    assert route.calls.last.request.url.params["language"] == "ko"
    assert message["text"].startswith("여권은")
    assert payloads(message) == ["https://www.paju.go.kr/passport"]


@respx.mock
async def test_a_withdrawn_entry_is_explained_in_the_apis_words():
    respx.get(f"{API}/api/knowledge/entries/8/answer").respond(
        404, json={"detail": "게시 중인 안내가 아니에요.", "code": "knowledge_entry_not_found"}
    )
    _events, [message] = await run(ActionKnowledgeShow, button("knowledge_show", entry_id="8"))
    assert message["text"] == "게시 중인 안내가 아니에요."


@respx.mock
@pytest.mark.parametrize(
    ("helpful", "response"), [("yes", "utter_knowledge_thanks"), ("no", "utter_knowledge_not_helpful")]
)
async def test_feedback_is_recorded_and_thanked_for(helpful, response):
    route = respx.post(f"{API}/api/knowledge/feedback").respond(204)
    events, [message] = await run(ActionKnowledgeFeedback, button("knowledge_feedback", ask_id="12", helpful=helpful))
    assert sent(route) == {"ask_id": 12, "helpful": helpful == "yes"}
    assert message["response"] == response and events == []


def test_not_helpful_offers_a_person_in_both_languages():
    for variation in DOMAIN["responses"]["utter_knowledge_not_helpful"]:
        assert [b["payload"] for b in variation["buttons"]] == ["/request_human"]


@respx.mock
@pytest.mark.parametrize("entities", [{"ask_id": "12"}, {"ask_id": "x", "helpful": "yes"}, {"helpful": "no"}])
async def test_a_broken_feedback_button_says_so_and_records_nothing(entities):
    route = respx.post(f"{API}/api/knowledge/feedback")
    _events, [message] = await run(ActionKnowledgeFeedback, button("knowledge_feedback", **entities))
    assert message["response"] == "utter_knowledge_button_invalid"
    assert not route.called


def test_every_knowledge_reply_exists_in_both_languages_and_the_korean_one_has_no_english_words():
    for name, variations in DOMAIN["responses"].items():
        if not name.startswith("utter_knowledge"):
            continue
        english = [v for v in variations if v.get("condition")]
        [korean] = [v for v in variations if not v.get("condition")]
        assert [c["value"] for v in english for c in v["condition"]] == ["en"], name
        words = re.sub(r"\{\w+\}", "", korean["text"] + " ".join(b["title"] for b in korean.get("buttons", [])))
        assert not re.search(r"[A-Za-z]", words), name
