import httpx
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


@respx.mock
async def test_the_citizens_own_words_go_to_the_api_and_its_answer_is_shown_with_the_source(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    route = respx.post(f"{API}/api/opendata/ask").respond(
        200,
        json={
            "answered": True,
            "language": "ko",
            "answer": "2024년 외국인 관광객은 152,000명이에요.",
            "numbers": [],
            "dataset": DATASET,
            "query": {},
            "explanation": "외국인수 열을 2024-01~2024-12 합계",
            "chart_url": None,
            "suggestions": [],
        },
    )
    dispatcher = CollectingDispatcher()
    events = await ActionOpendataAnswer().run(dispatcher, tracker("작년 외국인 관광객 몇 명?"), {})
    assert b"\\uc791\\ub144" in route.calls.last.request.content or "작년".encode() in route.calls.last.request.content
    [message] = dispatcher.messages
    assert message["text"].startswith("2024년 외국인 관광객은 152,000명이에요.")
    assert "출처: 파주시 DMZ 평화관광 월별 관광객 현황" in message["text"]
    assert events == [
        {
            "event": "slot",
            "timestamp": None,
            "name": "opendata_explanation",
            "value": "외국인수 열을 2024-01~2024-12 합계",
        }
    ]


@respx.mock
async def test_a_trend_comes_with_its_chart_as_an_image(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    respx.post(f"{API}/api/opendata/ask").respond(
        200,
        json={
            "answered": True,
            "language": "en",
            "answer": "Visitors by month in 2024: …",
            "numbers": [],
            "dataset": DATASET,
            "query": {},
            "explanation": "…",
            "chart_url": "http://api.test/api/opendata/charts/abc.png",
            "suggestions": [],
        },
    )
    dispatcher = CollectingDispatcher()
    await ActionOpendataAnswer().run(dispatcher, tracker("DMZ visitor trend in 2024", "en"), {})
    assert dispatcher.messages[1]["image"] == "http://api.test/api/opendata/charts/abc.png"
    assert "Source:" in dispatcher.messages[0]["text"]


@respx.mock
async def test_when_the_data_cannot_answer_it_says_so_and_names_the_closest_datasets(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    respx.post(f"{API}/api/opendata/ask").respond(
        200,
        json={
            "answered": False,
            "language": "ko",
            "answer": "그 질문에 답할 수 있는 데이터가 없어요.\n이런 데이터는 답할 수 있어요:\n· 파주시 DMZ 평화관광",
            "numbers": [],
            "dataset": None,
            "query": None,
            "explanation": "",
            "chart_url": None,
            "suggestions": [DATASET],
        },
    )
    dispatcher = CollectingDispatcher()
    events = await ActionOpendataAnswer().run(dispatcher, tracker("파주 미세먼지 농도"), {})
    [message] = dispatcher.messages
    assert message["text"].count("파주시 DMZ 평화관광") == 1, "the closest datasets are named once"
    assert message["buttons"][0]["payload"] == "/opendata_catalog"
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
async def test_the_catalogue_offers_topics_then_lists_a_topics_datasets(monkeypatch):
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
    assert "• DMZ visitors" in dispatcher.messages[0]["text"]
