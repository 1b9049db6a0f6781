import json

import httpx
import pytest
import respx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.opendata import ActionOpendataAnswer, ActionOpendataCatalog, ActionOpendataExplain

API = "http://api.test"


def tracker(text: str, language: str = "ko", slots: dict | None = None, entities: list | None = None) -> Tracker:
    return Tracker(
        sender_id="telegram:42",
        slots={"language": language, **(slots or {})},
        latest_message={"text": text, "intent": {"name": "opendata_question"}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


DATASET = {
    "id": "dmz-peace-tourism-monthly",
    "title": "파주시 DMZ 평화관광 월별 관광객 현황",
    "source": "data.go.kr",
    "source_url": "https://www.data.go.kr/data/15153986/fileData.do",
    "licence": "공공누리",
    "link": "http://api.test/api/datasets/dmz-peace-tourism-monthly",
    "is_sample": False,
}


SOURCE_LINE = "출처: 파주시 DMZ 평화관광 월별 관광객 현황 — 파주시 (https://www.data.go.kr/data/15153986/fileData.do)"
QUERY = {"dataset": "dmz-peace-tourism-monthly", "measure": "외국인수", "period": {"from": "2024-01", "to": "2024-12"}}


def answered(answer: str, query: dict | None = None, **fields) -> dict:
    """An AskOut that gives a figure; its text already carries the source line, as the api writes it."""
    return {
        "answered": True,
        "language": "ko",
        "answer": answer,
        "numbers": [],
        "dataset": DATASET,
        "query": query or QUERY,
        "explanation": "외국인수 열을 2024-01~2024-12 합계",
        "chart_url": None,
        "suggestions": [],
        "choices": [],
        "reason": None,
        **fields,
    }


def refused(answer: str, reason: str, choices: list | None = None) -> dict:
    return {
        "answered": False,
        "language": "ko",
        "answer": answer,
        "numbers": [],
        "dataset": None,
        "query": None,
        "explanation": "",
        "chart_url": None,
        "suggestions": [DATASET] if reason == "no_dataset" else [],
        "choices": choices or [],
        "reason": reason,
    }


def slots_set(events: list) -> dict:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


@respx.mock
async def test_the_citizens_own_words_go_to_the_api_and_its_answer_is_shown_as_it_is(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    text = f"2024년 외국인 관광객은 152,000명이에요.\n{SOURCE_LINE}"
    route = respx.post(f"{API}/api/opendata/ask").respond(200, json=answered(text))
    dispatcher = CollectingDispatcher()
    events = await ActionOpendataAnswer().run(dispatcher, tracker("작년 외국인 관광객 몇 명?"), {})
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"question": "작년 외국인 관광객 몇 명?", "language": "ko"}, "no context before a first answer"
    [message] = dispatcher.messages
    assert message["text"] == text
    assert slots_set(events) == {
        "opendata_explanation": "외국인수 열을 2024-01~2024-12 합계",
        "opendata_context": QUERY,
    }


@respx.mock
async def test_the_citizen_sees_the_source_once_and_never_an_internal_address(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    text = f"2024년 외국인 관광객은 152,000명이에요.\n{SOURCE_LINE}"
    respx.post(f"{API}/api/opendata/ask").respond(
        200, json=answered(text, chart_url="http://api.test/api/opendata/charts/abc.png")
    )
    dispatcher = CollectingDispatcher()
    await ActionOpendataAnswer().run(dispatcher, tracker("작년 외국인 관광객 몇 명?"), {})
    shown = "\n".join(message["text"] or "" for message in dispatcher.messages)
    assert shown.count("출처") == 1
    assert DATASET["link"] not in shown
    assert "api.test" not in shown, "the chart is an image, not an address in the text"


@respx.mock
async def test_a_follow_up_is_asked_in_the_context_of_the_last_answer_and_its_query_becomes_the_new_context(
    monkeypatch,
):
    monkeypatch.setenv("API_URL", API)
    last_year = {**QUERY, "period": {"from": "2023-01", "to": "2023-12"}}
    route = respx.post(f"{API}/api/opendata/ask").respond(
        200, json=answered(f"2023년 외국인 관광객은 98,000명이에요.\n{SOURCE_LINE}", last_year)
    )
    dispatcher = CollectingDispatcher()
    events = await ActionOpendataAnswer().run(dispatcher, tracker("작년은?", slots={"opendata_context": QUERY}), {})
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"question": "작년은?", "language": "ko", "context": QUERY}
    assert slots_set(events)["opendata_context"] == last_year


@respx.mock
async def test_a_choice_button_asks_its_complete_question_without_the_old_context(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    question = "2024년 금촌역 공영주차장 주차면 수는?"
    route = respx.post(f"{API}/api/opendata/ask").respond(200, json=answered(f"…\n{SOURCE_LINE}"))
    pressed = tracker(
        "/opendata_question" + json.dumps({"opendata_choice": question}, ensure_ascii=False),
        slots={"opendata_context": QUERY},
        entities=[{"entity": "opendata_choice", "value": question}],
    )
    await ActionOpendataAnswer().run(CollectingDispatcher(), pressed, {})
    assert json.loads(route.calls.last.request.content) == {"question": question, "language": "ko"}


@respx.mock
async def test_choices_become_buttons_whose_payloads_survive_quotes_and_braces(monkeypatch):
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
    from rasa.shared.core.domain import Domain
    from rasa.shared.nlu.training_data.message import Message

    monkeypatch.setenv("API_URL", API)
    choices = [
        {"title": "금촌역 공영주차장", "question": '"금촌역 공영주차장"의 주차면 수는?'},
        {"title": "금촌 {제2} 주차장", "question": "금촌 {제2} 주차장의 주차면 수는?"},
    ]
    answer = "'금촌'이라는 주차장이 여러 곳이에요. 어느 곳인가요?"
    respx.post(f"{API}/api/opendata/ask").respond(200, json=refused(answer, "ambiguous_row", choices))
    dispatcher = CollectingDispatcher()
    await ActionOpendataAnswer().run(dispatcher, tracker("금촌 주차장 주차면 수"), {})
    [message] = dispatcher.messages
    assert message["text"] == answer
    assert [button["title"] for button in message["buttons"]] == ["금촌역 공영주차장", "금촌 {제2} 주차장"]
    domain = Domain.load("domain")
    for button, choice in zip(message["buttons"], choices, strict=True):
        [parsed] = RegexMessageHandler().process([Message(data={"text": button["payload"]})], domain)
        assert parsed.get("intent")["name"] == "opendata_question"
        assert [(e["entity"], e["value"]) for e in parsed.get("entities")] == [("opendata_choice", choice["question"])]


@pytest.mark.parametrize(
    ("reason", "context_after"),
    [("ambiguous_measure", "kept"), ("no_period", "kept"), ("no_dataset", None)],
)
@respx.mock
async def test_a_refusal_keeps_the_context_to_rephrase_in_unless_there_was_no_data(monkeypatch, reason, context_after):
    monkeypatch.setenv("API_URL", API)
    respx.post(f"{API}/api/opendata/ask").respond(200, json=refused("그 질문에는 답할 수 없어요.", reason))
    events = await ActionOpendataAnswer().run(
        CollectingDispatcher(), tracker("그건?", slots={"opendata_context": QUERY}), {}
    )
    if context_after == "kept":
        assert "opendata_context" not in slots_set(events)
    else:
        assert slots_set(events)["opendata_context"] is None
    assert slots_set(events)["opendata_explanation"] is None


@respx.mock
async def test_a_trend_comes_with_its_chart_as_an_image(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    text = "Visitors by month in 2024: …\nSource: DMZ peace tourism visitors by month — Paju City (https://www.data.go.kr/data/15153986/fileData.do)"
    respx.post(f"{API}/api/opendata/ask").respond(
        200,
        json=answered(text, language="en", chart_url="http://api.test/api/opendata/charts/abc.png"),
    )
    dispatcher = CollectingDispatcher()
    await ActionOpendataAnswer().run(dispatcher, tracker("DMZ visitor trend in 2024", "en"), {})
    assert dispatcher.messages[0]["text"] == text
    assert dispatcher.messages[1]["image"] == "http://api.test/api/opendata/charts/abc.png"


@respx.mock
async def test_when_the_data_cannot_answer_it_says_so_and_names_the_closest_datasets(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    answer = "그 질문에 답할 수 있는 데이터가 없어요.\n이런 데이터는 답할 수 있어요:\n· 파주시 DMZ 평화관광"
    respx.post(f"{API}/api/opendata/ask").respond(200, json=refused(answer, "no_dataset"))
    dispatcher = CollectingDispatcher()
    events = await ActionOpendataAnswer().run(dispatcher, tracker("파주 미세먼지 농도"), {})
    [message] = dispatcher.messages
    assert message["text"].count("파주시 DMZ 평화관광") == 1, "the closest datasets are named once"
    assert [button["payload"] for button in message["buttons"]] == ["/opendata_catalog"]
    assert events[0]["value"] is None


@respx.mock
async def test_the_api_down_gets_an_apology_not_a_number(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    respx.post(f"{API}/api/opendata/ask").mock(side_effect=httpx.ConnectError("down"))
    dispatcher = CollectingDispatcher()
    assert await ActionOpendataAnswer().run(dispatcher, tracker("관광객 수"), {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_unavailable"]


async def test_how_it_was_computed_shows_the_last_explanation_or_says_there_is_none():
    dispatcher = CollectingDispatcher()
    await ActionOpendataExplain().run(
        dispatcher, tracker("어떻게 계산했어?", slots={"opendata_explanation": "합계"}), {}
    )
    await ActionOpendataExplain().run(dispatcher, tracker("어떻게 계산했어?"), {})
    assert dispatcher.messages[0]["text"] == "합계"
    assert dispatcher.messages[1]["response"] == "utter_no_figure_to_explain"


@respx.mock
async def test_the_catalogue_offers_topics_then_lists_a_topics_dataset_titles_without_addresses(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    topics = [
        {
            "topic": "tourism",
            "label_ko": "관광",
            "label_en": "Tourism",
            "datasets": [{**DATASET, "title_ko": "DMZ 관광객", "title_en": "DMZ visitors", "topic": "tourism"}],
        },
        {"topic": "population", "label_ko": "인구", "label_en": "Population", "datasets": []},
    ]
    respx.get(f"{API}/api/opendata/catalog").respond(200, json=topics)
    dispatcher = CollectingDispatcher()
    await ActionOpendataCatalog().run(dispatcher, tracker("데이터 목록"), {})
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == ["관광 (1)", "인구 (0)"]
    assert buttons[0]["payload"] == '/opendata_catalog{"topic":"tourism"}'

    dispatcher = CollectingDispatcher()
    chosen = tracker("관광", "en", entities=[{"entity": "topic", "value": "tourism"}])
    await ActionOpendataCatalog().run(dispatcher, chosen, {})
    text = dispatcher.messages[0]["text"]
    assert "• DMZ visitors" in text
    assert "http" not in text, "citizens never see the api's addresses"
