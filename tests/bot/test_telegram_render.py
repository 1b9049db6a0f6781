from bot.gateway.channels.telegram_render import MAX_CALLBACK_BYTES, render, split_text
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
    assert message.keyboard[0] == [("도움말", "/help")]
    _title, data = message.keyboard[1][0]
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    # The same payload always gets the same key, so the api can find it among the offered buttons.
    assert data == button_key(long_payload) != button_key(long_payload + " ")


def test_an_image_is_a_photo_and_a_custom_card_is_text():
    messages = render(
        [Reply(image="https://example.org/map.png"), Reply(custom={"text": "예약 카드"})],
    )
    assert messages[0].photo == "https://example.org/map.png"
    assert messages[1].text == "예약 카드"


def test_a_short_payload_that_looks_like_a_key_is_sent_as_a_key():
    [message] = render([Reply(text="?", buttons=[Button(title="x", payload="k:abc")])])
    assert message.keyboard[0][0][1] == button_key("k:abc")
