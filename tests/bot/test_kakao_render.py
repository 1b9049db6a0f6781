"""Rasa replies as Kakao skill responses: within Kakao's limits, nothing lost, no sentence cut in two."""

import re

from bot.gateway.channels.kakao_render import (
    MAX_EXTRA_PAYLOAD_BYTES,
    KakaoAnswer,
    first_page,
    plain_text,
    render,
    short_label,
    split_text,
)
from bot.gateway.messages import Button, Reply
from common import confidential
from common.button_keys import button_key
from common.payloads import payload
from tests.support.kakao_limits import skill_response_breaches

CHART = "https://paju.example/api/opendata/charts/dmz-2024.png"


def _pages(replies: list[Reply], language: str = "ko") -> list[dict]:
    """Every response the citizen gets by pressing "더 보기" until the answer is complete."""
    sealed: list[KakaoAnswer] = []

    def more(rest: KakaoAnswer) -> dict:
        sealed.append(rest)
        return {"more": str(len(sealed) - 1)}

    pages = [first_page(render(replies, language), language, more)]
    while "more" in str(pages[-1]["template"].get("quickReplies", [{}])[0].get("extra", {})):
        token = int(pages[-1]["template"]["quickReplies"][0]["extra"]["more"])
        pages.append(first_page(sealed[token], language, more))
    for page in pages:
        assert skill_response_breaches(page) == [], page
    return pages


def _texts(pages: list[dict]) -> list[str]:
    return [o["simpleText"]["text"] for page in pages for o in page["template"]["outputs"] if "simpleText" in o]


def test_a_long_answer_is_split_where_sentences_end_and_carried_on_by_a_more_button():
    sentences = [f"{n}번째 안내 문장은 여기서 끝나요." for n in range(1, 301)]
    pages = _pages([Reply(text=" ".join(sentences))])
    texts = _texts(pages)
    assert len(pages) > 1 and all(len(text) <= 1000 for text in texts)
    assert all(text.endswith("끝나요.") for text in texts), "no piece ends mid-sentence"
    assert " ".join(texts) == " ".join(sentences), "nothing is lost"
    more = pages[0]["template"]["quickReplies"]
    assert [(q["label"], q["messageText"]) for q in more] == [("더 보기", "더 보기")]


def test_lines_stay_whole_and_a_sentence_longer_than_the_limit_is_cut_between_words():
    lines = [f"{n:03d} " + "가나다 " * 60 for n in range(20)]  # lines of about 244 characters, no sentence end
    chunks = split_text("\n".join(lines))
    assert all(len(chunk) <= 1000 for chunk in chunks)
    assert all(re.match(r"^\d{3} ", chunk) for chunk in chunks), "each piece starts at a line"
    [*heads, _tail] = split_text("단어 " * 600)
    assert all(len(head) <= 1000 and head.endswith("단어") for head in heads)


def test_eleven_buttons_go_on_text_cards_three_to_a_card_and_none_is_lost():
    buttons = [Button(title=f"{9 + n}:00 도보 · {n}석", payload=payload("inform", run_id=str(n))) for n in range(11)]
    [page] = _pages([Reply(text="어느 회차로 할까요?", buttons=buttons)])
    outputs = page["template"]["outputs"]
    assert outputs[0] == {"simpleText": {"text": "어느 회차로 할까요?"}}
    cards = outputs[1]["carousel"]["items"]
    assert [len(card["buttons"]) for card in cards] == [3, 3, 3, 2]
    pressed = [button["extra"]["payload"] for card in cards for button in card["buttons"]]
    assert pressed == [b.payload for b in buttons]
    assert "quickReplies" not in page["template"]


def test_up_to_ten_buttons_are_quick_replies_with_short_labels_and_the_whole_title_as_message():
    titles = ["12월 3일(토) 14:40 모노레일 · 40석", "Dec 3 (Sat) 14:40 on foot · 40 seats", "동의하지 않습니다"]
    buttons = [Button(title=title, payload=payload("inform", run_id=str(n))) for n, title in enumerate(titles)]
    [page] = _pages([Reply(text="골라 주세요", buttons=buttons)])
    quick = page["template"]["quickReplies"]
    assert [q["label"] for q in quick] == ["12월 3일 14:40…", "Dec 3 14:40…", "동의하지 않습니다"]
    assert [q["messageText"] for q in quick] == titles
    assert short_label("14:40 모노레일 · 40석") == "14:40 모노레일", "the detail after the separator goes first"


def test_a_payload_too_long_for_the_extra_travels_as_its_key():
    long = payload("opendata_question", opendata_choice="2024년 4월 DMZ 평화관광 외국인 방문객 수는 몇 명이었나요?")
    assert len(long.encode()) > MAX_EXTRA_PAYLOAD_BYTES
    [page] = _pages([Reply(text="어느 것을 말씀하시나요?", buttons=[Button(title="외국인 방문객", payload=long)])])
    assert page["template"]["quickReplies"][0]["extra"] == {"payload": button_key(long)}


def test_notice_cards_become_list_cards_of_five_whose_items_ask_for_the_whole_notice():
    cards = [
        Reply(
            text=f"[교통] 문산역 앞 도로 공사 안내 {n}\n11월 {n}일 · 도로과\n공사 기간 동안 우회해 주세요.",
            buttons=[Button(title="자세히 보기", payload=payload("notice_read", notice_id=str(n)))],
        )
        for n in range(1, 8)
    ]
    narrow = Reply(text="분야를 골라 좁혀 보세요.", buttons=[Button(title="교통", payload="/notice_latest")])
    page_one, page_two = _pages([Reply(text="최근 공지예요."), *cards, narrow])
    outputs = page_one["template"]["outputs"]
    assert [next(iter(output)) for output in outputs] == ["simpleText", "listCard", "listCard"]
    first = outputs[1]["listCard"]
    assert first["header"] == {"title": "파주시 공지"} and len(first["items"]) == 5
    assert first["items"][0] == {
        "title": "[교통] 문산역 앞 도로 공사 안내 1",
        "description": "11월 1일 · 도로과",
        "action": "message",
        "messageText": "자세히 보기: [교통] 문산역 앞 도로 공사 안내 1",
        "extra": {"payload": '/notice_read{"notice_id":"1"}'},
    }
    assert len(outputs[2]["listCard"]["items"]) == 2
    assert page_two["template"]["outputs"] == [{"simpleText": {"text": "분야를 골라 좁혀 보세요."}}]
    assert [q["label"] for q in page_two["template"]["quickReplies"]] == ["교통"]


def test_a_chart_is_a_simple_image_with_a_card_that_opens_it_large():
    pages = _pages(
        [Reply(text="In April 2024, 12,345 foreign visitors came to the DMZ."), Reply(image=CHART)], language="en"
    )
    outputs = pages[0]["template"]["outputs"]
    assert outputs[1] == {"simpleImage": {"imageUrl": CHART, "altText": "Image"}}
    [button] = outputs[2]["textCard"]["buttons"]
    assert button == {"action": "webLink", "label": "View larger", "webLinkUrl": CHART}


def test_buttons_of_an_earlier_reply_go_on_a_card_under_its_text():
    yes_no = [Button(title="네", payload="/affirm"), Button(title="아니요", payload="/deny")]
    first = Reply(text="예약을 바꿀까요?", buttons=yes_no)
    last = Reply(text="다른 도움이 필요하면", buttons=[Button(title="도움말", payload="/help")])
    [page] = _pages([first, last])
    card = page["template"]["outputs"][0]["textCard"]
    assert card["description"] == "예약을 바꿀까요?" and [b["label"] for b in card["buttons"]] == ["네", "아니요"]
    assert [q["label"] for q in page["template"]["quickReplies"]] == ["도움말"]


def test_the_last_page_keeps_the_answers_own_quick_replies():
    pages = _pages([Reply(text="안내. " * 1000, buttons=[Button(title="처음으로", payload="/greet")])])
    assert len(pages) == 2
    assert pages[-1]["template"]["quickReplies"][0]["extra"] == {"payload": "/greet"}


def test_for_the_outbox_a_certified_notice_is_never_written_and_button_titles_travel_with_the_text():
    shown = Reply(text="📨 민원과에서 보낸 공인알림\n비밀 내용", custom={confidential.MARKER: True})
    text, buttons = plain_text(
        [Reply(text="답변이에요."), shown, Reply(image=CHART, buttons=[Button(title="도움말", payload="/help")])], "ko"
    )
    assert "비밀 내용" not in text and "다시 열어 주세요" in text
    assert text.startswith("답변이에요.") and f"크게 보기: {CHART}" in text
    assert buttons == [{"title": "도움말", "payload": "/help"}]


def test_a_long_certified_notice_is_never_carried_on_in_a_more_button():
    content = " ".join(f"{n}번째 공인알림 문장이에요." for n in range(1, 301))
    secret = Reply(text=content, custom={confidential.MARKER: True})
    page = first_page(render([secret], "ko"), "ko", None)
    assert skill_response_breaches(page) == []
    outputs = page["template"]["outputs"]
    assert len(outputs) == 3 and "quickReplies" not in page
    assert "다시" in outputs[-1]["simpleText"]["text"] and "300번째" not in str(page)


def test_a_keyboard_meant_for_telegram_or_the_web_chat_adds_nothing_to_a_kakao_answer():
    answer = render(
        [
            Reply(text="가까운 건물이나 주소를 적어 주세요."),
            Reply(custom={"location_button": "📍 현재 위치 보내기"}),
            Reply(custom={"remove_keyboard": True}),
        ],
        "ko",
    )
    assert answer.outputs == [{"simpleText": {"text": "가까운 건물이나 주소를 적어 주세요."}}]


LINK = "https://www.paju.go.kr/www/contents.do?key=2871&tab=passport&lang=ko"  # longer than any extra payload
FEEDBACK = [
    Button(title="도움이 됐어요", payload='/knowledge_feedback{"ask_id":"7","helpful":"yes"}'),
    Button(title="도움이 안 됐어요", payload='/knowledge_feedback{"ask_id":"7","helpful":"no"}'),
]


def test_a_link_is_a_weblink_button_on_a_card_under_its_text_and_the_postbacks_stay_quick_replies():
    answer = Reply(
        text="여권은 민원여권과에서 발급해요.", buttons=[Button(title="자세히 보기 (누리집)", payload=LINK), *FEEDBACK]
    )
    [page] = _pages([answer])
    [card] = page["template"]["outputs"]
    assert card == {
        "textCard": {
            "description": "여권은 민원여권과에서 발급해요.",
            "buttons": [{"action": "webLink", "label": "자세히 보기 (누리집)", "webLinkUrl": LINK}],
            "buttonLayout": "vertical",
        }
    }
    quick = page["template"]["quickReplies"]
    assert [q["messageText"] for q in quick] == ["도움이 됐어요", "도움이 안 됐어요"]
    assert all(q["action"] == "message" for q in quick)
    assert LINK not in str(quick), "a link is never a quick reply"


def test_links_of_a_reply_before_the_last_go_on_its_card_in_order_with_its_other_buttons():
    links = [Button(title=f"누리집 {n}", payload=f"{LINK}&page={n}") for n in range(1, 4)]
    first = Reply(text="관련 안내예요.", buttons=[links[0], FEEDBACK[0], links[1], links[2]])
    last = Reply(text="다른 도움이 필요하면", buttons=[Button(title="도움말", payload="/help")])
    [page] = _pages([first, last], language="en")
    outputs = page["template"]["outputs"]
    assert outputs[0] == {"simpleText": {"text": "관련 안내예요."}}
    cards = outputs[1]["carousel"]["items"]
    buttons = [button for card in cards for button in card["buttons"]]
    assert [b["action"] for b in buttons] == ["webLink", "message", "webLink", "webLink"]
    assert [b.get("webLinkUrl") for b in buttons] == [links[0].payload, None, links[1].payload, links[2].payload]
    assert [q["label"] for q in page["template"]["quickReplies"]] == ["도움말"]


def test_a_reply_of_links_only_gets_a_card_named_for_them_when_its_text_is_too_long_for_the_card():
    text = "안내 문장이에요. " * 60  # longer than a text card's description
    [page] = _pages([Reply(text=text, buttons=[Button(title="누리집", payload=LINK)])])
    text_output, card = page["template"]["outputs"]
    assert text_output["simpleText"]["text"] == text.strip()
    assert card["textCard"]["title"] == "관련 누리집"
    assert card["textCard"]["buttons"] == [{"action": "webLink", "label": "누리집", "webLinkUrl": LINK}]
    assert "quickReplies" not in page["template"]


def test_a_javascript_or_http_payload_never_becomes_a_kakao_link_or_a_quick_reply():
    unsafe = [Button(title="위험", payload="javascript:alert(1)"), Button(title="평문", payload="http://paju.example")]
    [page] = _pages([Reply(text="안내예요.", buttons=[*unsafe, FEEDBACK[0]])])
    assert "javascript:" not in str(page) and "http://paju.example" not in str(page)
    assert [q["label"] for q in page["template"]["quickReplies"]] == ["도움이 됐어요"]
    assert page["template"]["outputs"] == [{"simpleText": {"text": "안내예요."}}]


def test_for_the_outbox_a_link_is_written_into_the_text_and_is_no_button_to_send():
    text, buttons = plain_text(
        [Reply(text="여권은 민원여권과에서 발급해요.", buttons=[Button(title="자세히 보기", payload=LINK), *FEEDBACK])],
        "ko",
    )
    assert text == f"여권은 민원여권과에서 발급해요.\n\n자세히 보기: {LINK}"
    assert [button["title"] for button in buttons] == ["도움이 됐어요", "도움이 안 됐어요"]
