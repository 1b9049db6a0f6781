"""The Kakao limits validator the fake platform runs on every answer: valid answers pass, each breach is named."""

import copy

import pytest

from tests.support.kakao_limits import callback_body_breaches, event_breaches, skill_response_breaches

CHART = "https://paju.example/api/opendata/charts/dmz-2024.png"
BUTTON = {"action": "webLink", "label": "자세히 보기", "webLinkUrl": "https://paju.example/notices/1"}


def _response(*outputs: dict, quick_replies: list[dict] | None = None) -> dict:
    template: dict = {"outputs": list(outputs)}
    if quick_replies is not None:
        template["quickReplies"] = quick_replies
    return {"version": "2.0", "template": template}


def _text(text: str = "언제 방문하실 건가요?") -> dict:
    return {"simpleText": {"text": text}}


def _quick(label: str = "동의합니다", **fields) -> dict:
    return {"label": label, "action": "message", "messageText": label, **fields}


VALID = {
    "text with quick replies": _response(
        _text(), quick_replies=[_quick("10:00", extra={"payload": "k:ab12"}), _quick("예약 그만")]
    ),
    "text at exactly 1,000 characters": _response(_text("가" * 1000)),
    "three outputs": _response(_text(), _text("두 번째"), _text("세 번째")),
    "chart image and a link card": _response(
        {"simpleImage": {"imageUrl": CHART, "altText": "2024년 DMZ 관광객 월별 추이"}},
        {"textCard": {"title": "차트 크게 보기", "buttons": [BUTTON]}},
    ),
    "basic card with thumbnail and three buttons": _response(
        {
            "basicCard": {
                "title": "DMZ 평화관광 A코스",
                "description": "제3땅굴, 도라전망대, 도라산역",
                "thumbnail": {"imageUrl": CHART},
                "buttons": [
                    BUTTON,
                    {"action": "phone", "label": "문의 전화", "phoneNumber": "031-940-4114"},
                    {"action": "block", "label": "예약하기", "blockId": "5f0c2b1e8a3c4d0001a1b2c3"},
                ],
            }
        }
    ),
    "list card of five notices": _response(
        {
            "listCard": {
                "header": {"title": "최근 공지"},
                "items": [{"title": f"공지 {n}", "description": "2025-11-0{n}"} for n in range(1, 6)],
                "buttons": [BUTTON],
            }
        }
    ),
    "carousel of ten text cards": _response(
        {
            "carousel": {
                "type": "textCard",
                "items": [
                    {
                        "title": f"{hour}:00 출발",
                        "description": "잔여 12석",
                        "buttons": [{"action": "message", "label": "선택", "messageText": f"{hour}:00"}],
                    }
                    for hour in range(8, 18)
                ],
            }
        }
    ),
}


@pytest.mark.parametrize("name", VALID)
def test_a_response_within_the_limits_has_no_breach(name):
    assert skill_response_breaches(VALID[name]) == []


def _breach(change) -> list[str]:
    body = _response(_text(), quick_replies=[_quick()])
    change(body)
    return skill_response_breaches(body)


def _set(path: str, value):
    def change(body):
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last if not last.isdigit() else int(last)] = value

    return change


BREACHES = {
    "version 1.0": (_set("version", "1.0"), "version"),
    "no template": (lambda body: body.pop("template"), "no template"),
    "no output": (_set("template.outputs", []), "outputs"),
    "four outputs": (_set("template.outputs", [_text()] * 4), "outputs"),
    "text of 1,001 characters": (_set("template.outputs.0.simpleText.text", "가" * 1001), "1001 characters"),
    "empty text": (_set("template.outputs.0.simpleText.text", " "), "text is empty"),
    "unknown component": (_set("template.outputs.0", {"video": {"url": CHART}}), "unknown component"),
    "two components in one output": (
        _set("template.outputs.0", {"simpleText": {"text": "a"}, "simpleImage": {}}),
        "exactly one component",
    ),
    "eleven quick replies": (_set("template.quickReplies", [_quick()] * 11), "quickReplies: 11"),
    "quick reply label of 15 characters": (_set("template.quickReplies.0.label", "가" * 15), "15 characters"),
    "quick reply with a webLink action": (_set("template.quickReplies.0.action", "webLink"), "action is 'webLink'"),
    "message quick reply without messageText": (
        lambda body: body["template"]["quickReplies"][0].pop("messageText"),
        "without messageText",
    ),
    "block quick reply without blockId": (_set("template.quickReplies.0.action", "block"), "without blockId"),
    "quick reply extra that is not an object": (_set("template.quickReplies.0.extra", "k:ab12"), "extra"),
    "image without altText": (
        _set("template.outputs.0", {"simpleImage": {"imageUrl": CHART}}),
        "altText is empty",
    ),
    "image whose address is a path": (
        _set("template.outputs.0", {"simpleImage": {"imageUrl": "/charts/1.png", "altText": "차트"}}),
        "imageUrl",
    ),
    "basic card title of 51 characters": (
        _set("template.outputs.0", {"basicCard": {"title": "가" * 51, "thumbnail": {"imageUrl": CHART}}}),
        "title has 51",
    ),
    "basic card description of 231 characters": (
        _set("template.outputs.0", {"basicCard": {"description": "가" * 231, "thumbnail": {"imageUrl": CHART}}}),
        "description has 231",
    ),
    "basic card thumbnail without an image": (
        _set("template.outputs.0", {"basicCard": {"title": "코스", "thumbnail": {}}}),
        "thumbnail has no imageUrl",
    ),
    "text card description of 401 characters": (
        _set("template.outputs.0", {"textCard": {"description": "가" * 401}}),
        "description has 401",
    ),
    "text card of 129 characters in a carousel": (
        _set("template.outputs.0", {"carousel": {"type": "textCard", "items": [{"description": "가" * 129}]}}),
        "description has 129",
    ),
    "empty text card": (_set("template.outputs.0", {"textCard": {"buttons": [BUTTON]}}), "neither title"),
    "card with four buttons": (
        _set("template.outputs.0", {"textCard": {"title": "코스", "buttons": [BUTTON] * 4}}),
        "buttons: 4",
    ),
    "card button label of 15 characters": (
        _set("template.outputs.0", {"textCard": {"title": "코스", "buttons": [{**BUTTON, "label": "가" * 15}]}}),
        "15 characters",
    ),
    "webLink button without its address": (
        _set(
            "template.outputs.0",
            {"textCard": {"title": "코스", "buttons": [{"action": "webLink", "label": "열기"}]}},
        ),
        "without webLinkUrl",
    ),
    "phone button without a number": (
        _set("template.outputs.0", {"textCard": {"title": "코스", "buttons": [{"action": "phone", "label": "전화"}]}}),
        "without phoneNumber",
    ),
    "button with an unknown action": (
        _set(
            "template.outputs.0",
            {"textCard": {"title": "코스", "buttons": [{"action": "share", "label": "공유"}]}},
        ),
        "action is 'share'",
    ),
    "list card of six items": (
        _set(
            "template.outputs.0",
            {"listCard": {"header": {"title": "공지"}, "items": [{"title": "공지"}] * 6}},
        ),
        "items: 6",
    ),
    "list card without a header": (
        _set("template.outputs.0", {"listCard": {"items": [{"title": "공지"}]}}),
        "header has no title",
    ),
    "list card with three buttons": (
        _set(
            "template.outputs.0",
            {"listCard": {"header": {"title": "공지"}, "items": [{"title": "공지"}], "buttons": [BUTTON] * 3}},
        ),
        "buttons: 3",
    ),
    "carousel of eleven cards": (
        _set("template.outputs.0", {"carousel": {"type": "textCard", "items": [{"title": "코스"}] * 11}}),
        "11 cards",
    ),
    "carousel of an unknown card type": (
        _set("template.outputs.0", {"carousel": {"type": "simpleText", "items": [{"text": "a"}]}}),
        "type is 'simpleText'",
    ),
}


@pytest.mark.parametrize("name", BREACHES)
def test_each_breach_of_the_limits_is_named(name):
    change, words = BREACHES[name]
    breaches = _breach(change)
    assert len(breaches) >= 1 and any(words in breach for breach in breaches), breaches


def test_every_breach_of_one_response_is_reported_not_only_the_first():
    body = _response(_text("가" * 1001), quick_replies=[_quick("가" * 15), _quick(action="block")])
    assert len(skill_response_breaches(body)) == 3


CALLBACK_ANSWER = {"version": "2.0", "useCallback": True, "data": {"text": "답을 찾고 있어요. 잠시만 기다려 주세요"}}


def test_a_use_callback_answer_is_valid_only_when_the_request_offered_a_callback():
    assert skill_response_breaches(CALLBACK_ANSWER, callback_offered=True) == []
    assert skill_response_breaches(CALLBACK_ANSWER) == ["useCallback without a callbackUrl in the request"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda body: body.update(useCallback="true"), "not true"),
        (lambda body: body.update(data="잠시만"), "data is not an object"),
        (lambda body: body["data"].update(text="가" * 1001), "1001 characters"),
        (lambda body: body.update(template={"outputs": [_text()]}), "carries a template"),
    ],
)
def test_a_malformed_use_callback_answer_is_caught(change, words):
    body = copy.deepcopy(CALLBACK_ANSWER)
    change(body)
    breaches = skill_response_breaches(body, callback_offered=True)
    assert any(words in breach for breach in breaches), breaches


def test_the_body_posted_to_a_callback_url_is_a_whole_response_never_another_use_callback():
    assert callback_body_breaches(VALID["text with quick replies"]) == []
    assert callback_body_breaches(CALLBACK_ANSWER) == ["a callback body asks for a callback again"]
    assert callback_body_breaches(_response(_text("가" * 1001)))


EVENT = {
    "event": {"name": "paju_message", "data": {"text": "파주시 관광과입니다."}},
    "user": [{"type": "botUserKey", "id": "a" * 64}],
    "params": {"kind": "staff_reply"},
}


def test_an_event_api_body_naming_the_event_and_its_users_is_valid():
    assert event_breaches(EVENT) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda body: body.pop("event"), "event.name"),
        (lambda body: body["event"].update(name=""), "event.name"),
        (lambda body: body["event"].update(data="text"), "event.data"),
        (lambda body: body.update(user=[]), "1–100 users"),
        (lambda body: body.update(user=[{"type": "botUserKey", "id": str(n)} for n in range(101)]), "1–100 users"),
        (lambda body: body.update(user=[{"type": "talk_user_id", "id": "620678"}]), "type"),
        (lambda body: body.update(user=[{"type": "botUserKey", "id": "a" * 71}]), "longer than 70"),
        (lambda body: body.update(params=["kind"]), "params"),
    ],
)
def test_a_malformed_event_api_body_is_caught(change, words):
    body = copy.deepcopy(EVENT)
    change(body)
    breaches = event_breaches(body)
    assert any(words in breach for breach in breaches), breaches


def test_something_that_is_not_json_object_is_one_breach():
    assert skill_response_breaches(["version", "2.0"]) == ["the response is not a JSON object: ['version', '2.0']"]
    assert len(event_breaches("talk")) == 1
