from bot.gateway.channels.telegram_render import MAX_CALLBACK_BYTES, InlineButton, render, split_text
from bot.gateway.messages import Button, Reply
from common.button_keys import button_key


def test_long_text_is_split_on_line_boundaries_within_telegrams_limit():
    lines = [f"{n:04d} " + "가" * 95 for n in range(100)]  # 100 lines of 100 characters
    chunks = split_text("\n".join(lines))
    assert all(len(chunk) <= 4096 for chunk in chunks)
    assert "\n".join(chunks) == "\n".join(lines)
    assert all(chunk.split("\n")[0][:4].isdigit() for chunk in chunks)


def test_a_single_overlong_line_is_cut_and_nothing_is_lost():
    chunks = split_text("x" * 9000)
    assert [len(c) for c in chunks] == [4096, 4096, 808]


def test_buttons_become_an_inline_keyboard_and_long_payloads_a_short_key():
    long_payload = '/inform{"tour_date":"2026-12-05","run_id":"123456","extra":"a long value here"}'
    [message] = render(
        [
            Reply(
                text="골라 주세요",
                buttons=[Button(title="도움말", payload="/help"), Button(title="회차", payload=long_payload)],
            )
        ]
    )
    assert message.text == "골라 주세요"
    assert message.keyboard[0] == [InlineButton("도움말", callback_data="/help")]
    data = message.keyboard[1][0].callback_data
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    # The same payload always gets the same key, so the api can find it among the offered buttons.
    assert data == button_key(long_payload) != button_key(long_payload + " ")


def test_a_link_is_a_url_button_with_its_whole_address_in_its_place_among_the_postbacks():
    link = "https://www.paju.go.kr/www/contents.do?key=" + "1234567890" * 8  # longer than any callback data
    [message] = render(
        [
            Reply(
                text="여권 발급은 민원여권과에서 해요.",
                buttons=[
                    Button(title="자세히 보기 (누리집)", payload=link),
                    Button(title="도움이 됐어요", payload='/knowledge_feedback{"ask_id":"7","helpful":"yes"}'),
                    Button(title="도움이 안 됐어요", payload='/knowledge_feedback{"ask_id":"7","helpful":"no"}'),
                ],
            )
        ]
    )
    assert message.keyboard == [
        [InlineButton("자세히 보기 (누리집)", url=link)],
        [InlineButton("도움이 됐어요", callback_data='/knowledge_feedback{"ask_id":"7","helpful":"yes"}')],
        [InlineButton("도움이 안 됐어요", callback_data='/knowledge_feedback{"ask_id":"7","helpful":"no"}')],
    ]


def test_a_button_with_an_address_of_another_scheme_is_neither_a_link_nor_a_postback():
    unsafe = ["javascript:alert(1)", "JavaScript:alert(1)", "http://www.paju.go.kr", "data:text/html,<b>x</b>"]
    [message] = render([Reply(text="?", buttons=[Button(title=f"링크 {n}", payload=p) for n, p in enumerate(unsafe)])])
    assert message.keyboard == []
    [message] = render([Reply(text="?", buttons=[Button(title="x", payload="javascript:alert(1)")])])
    assert message.keyboard == [] and message.text == "?"


def test_an_image_is_a_photo_and_a_custom_card_is_text():
    messages = render(
        [Reply(image="https://example.org/map.png"), Reply(custom={"text": "예약 카드"})],
    )
    assert messages[0].photo == "https://example.org/map.png"
    assert messages[1].text == "예약 카드"


def test_a_short_payload_that_looks_like_a_key_is_sent_as_a_key():
    [message] = render([Reply(text="?", buttons=[Button(title="x", payload="k:abc")])])
    assert message.keyboard[0][0].callback_data == button_key("k:abc")


def test_a_location_button_goes_under_the_text_rasa_sent_before_it():
    # Rasa sends a response's text and its custom payload as two replies; a retried turn gives them as one.
    for replies in (
        [Reply(text="지금 계신 곳을 보내 주세요."), Reply(custom={"location_button": "📍 현재 위치 보내기"})],
        [Reply(text="지금 계신 곳을 보내 주세요.", custom={"location_button": "📍 현재 위치 보내기"})],
    ):
        [message] = render(replies)
        assert message.text == "지금 계신 곳을 보내 주세요."
        assert message.location_button == "📍 현재 위치 보내기" and message.keyboard == []
        assert not message.remove_keyboard


def test_a_location_button_never_shares_a_message_with_inline_buttons():
    messages = render(
        [
            Reply(text="골라 주세요", buttons=[Button(title="도움말", payload="/help")]),
            Reply(custom={"location_button": "📍 Send my location"}),
        ]
    )
    assert [m.text for m in messages] == ["골라 주세요", "👇"]
    assert messages[0].location_button is None and messages[1].location_button == "📍 Send my location"


def test_the_answer_to_a_shared_location_takes_the_keyboard_away_on_its_first_message_without_buttons():
    messages = render(
        [
            Reply(text="어떤 불편인가요?", buttons=[Button(title="가로등", payload="/x")]),
            Reply(text="보내 주신 위치를 받았어요."),
            Reply(text="무슨 일인지 적어 주세요."),
        ],
        remove_keyboard=True,
    )
    assert [m.remove_keyboard for m in messages] == [False, True, False]


def test_a_remove_keyboard_reply_shows_nothing_and_its_turns_next_message_takes_the_keyboard_away():
    messages = render([Reply(custom={"remove_keyboard": True}), Reply(text="무슨 일인지 적어 주세요.")])
    assert [(m.text, m.remove_keyboard) for m in messages] == [("무슨 일인지 적어 주세요.", True)]


def test_other_replies_leave_any_keyboard_alone_and_a_button_offered_again_replaces_it():
    assert not any(m.remove_keyboard for m in render([Reply(text="안녕하세요")]))
    [message] = render(
        [Reply(text="위치를 보내 주세요."), Reply(custom={"location_button": "📍 현재 위치 보내기"})],
        remove_keyboard=True,
    )
    assert message.location_button and not message.remove_keyboard
