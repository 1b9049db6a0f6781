import pytest

from bot.gateway.messages import Button, clean_text, recorded_buttons, shown_buttons


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, ""),
        ("  안녕하세요 \n", "안녕하세요"),
        ("안\x00녕\x07하세요", "안녕하세요"),
        ("줄1\n줄2\t끝", "줄1\n줄2\t끝"),
        ("\ufffe\uffff", ""),
        # Decomposed Hangul (as some keyboards send it) becomes the composed form.
        ("\u1100\u1161\u11a8", "각"),
    ],
)
def test_clean_text_removes_control_characters_and_normalises(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    "payload",
    ["https://www.paju.go.kr/www/index.do", "https://map.kakao.com/link/map/%EA%B8%88%EC%B4%8C%EC%97%AD,37.7,126.7"],
)
def test_a_button_whose_payload_is_an_https_address_is_a_link(payload):
    assert Button(title="자세히 보기", payload=payload).url == payload


@pytest.mark.parametrize(
    "payload",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "http://www.paju.go.kr",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "HTTPS://www.paju.go.kr",  # not the prefix a link has
        "https://",  # no host
        "https:///etc/passwd",
        "https://www.paju.go.kr/a b",  # a space a browser would take out
        "https://www.paju.go.kr/\njavascript:alert(1)",
        "https://[::1",  # malformed
    ],
)
def test_any_other_address_is_no_link_and_its_button_is_not_shown(payload):
    button = Button(title="자세히 보기", payload=payload)
    assert button.url is None
    assert shown_buttons([button]) == []


def test_postbacks_and_short_keys_are_shown_in_their_order_around_a_link():
    buttons = [
        Button(title="도움말", payload="/help"),
        Button(title="누리집", payload="https://www.paju.go.kr"),
        Button(title="안전하지 않음", payload="javascript:alert(1)"),
        Button(title="회차", payload="k:0123456789abcdef01234567"),
        Button(title="메모", payload="note: 14:40"),
    ]
    assert [b.title for b in shown_buttons(buttons)] == ["도움말", "누리집", "회차", "메모"]
    assert [b.url for b in shown_buttons(buttons)] == [None, "https://www.paju.go.kr", None, None]


def test_recorded_buttons_are_read_back_and_one_without_a_title_is_skipped():
    recorded = [{"title": "누리집", "payload": "https://www.paju.go.kr"}, {"payload": "/help"}, {"title": "제목만"}]
    assert recorded_buttons(recorded) == [
        Button(title="누리집", payload="https://www.paju.go.kr"),
        Button(title="제목만", payload=""),
    ]
