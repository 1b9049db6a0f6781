"""Citizens read, search and subscribe to city notices, and open a certified notice, on Telegram."""

import json
import sqlite3
import time
from contextlib import closing

import httpx
import pytest
from sqlalchemy import text

from api.core.database import make_engine, make_sessionmaker
from api.staff.permissions import NOTICES_PUBLISH, PERSONAL_NOTICES_SEND
from api.staff.service import create_user
from common.confidential import PLACEHOLDER
from tests.support.telegram_chat import Chat

pytestmark = pytest.mark.stack

STAFF_EMAIL = "lee.notice@paju.example"
STAFF_PASSWORD = "notice-desk-2026!"
VERIFIED = "✅ 파주시 공식 알림"


@pytest.fixture(scope="module")
def staff_token(telegram) -> str:
    _fake, stack = telegram
    engine = make_engine(stack.database_url)
    with make_sessionmaker(engine)() as session:
        granted = [NOTICES_PUBLISH, PERSONAL_NOTICES_SEND]
        create_user(session, STAFF_EMAIL, "이공지", STAFF_PASSWORD, role="staff", permissions=granted)
        session.commit()
    engine.dispose()
    response = httpx.post(
        f"{stack.url('api')}/api/auth/sign-in", json={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _buttons(chat: Chat) -> list[str]:
    return [
        b["text"] for m in chat.replies for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
    ]


def _press(chat: Chat, title: str) -> str:
    for message in reversed(chat.replies):
        buttons = [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        if any(b["text"] == title for b in buttons):
            chat.replies = [message]
            index = next(n for n, b in enumerate(buttons) if b["text"] == title)
            return chat.press(index)
    raise AssertionError(f"no button {title!r} in {_buttons(chat)}")


def test_the_latest_notices_come_as_cards_and_read_more_shows_the_whole_notice(telegram):
    fake, _stack = telegram
    chat = Chat(fake, 9101)
    latest = chat.say("최신 공지 보여줘")
    assert "최신 공지" in latest
    assert "자세히 보기" in _buttons(chat)
    card_text = next(m["text"] for m in chat.replies if (m.get("reply_markup") or {}).get("inline_keyboard"))
    full = _press(chat, "자세히 보기")
    assert len(full) > len(card_text)


def test_a_korean_keyword_search_finds_the_parking_notice(telegram):
    fake, _stack = telegram
    found = Chat(fake, 9102).say("주차 관련 공지 찾아줘")
    assert "공영주차장 운영 안내" in found


def test_an_english_search_finds_notices_with_an_english_summary(telegram):
    fake, _stack = telegram
    found = Chat(fake, 9103, language="en").say("search notices about road works")
    assert "Tongil-ro" in found


def test_a_subscriber_gets_a_verified_message_once_when_staff_publish(telegram, staff_token):
    fake, stack = telegram
    chat = Chat(fake, 9104)
    asked = chat.say("교통 공지 알림 받을래")
    assert "동의" in asked
    agreed = _press(chat, "동의하고 받기")
    assert "교통·도로" in agreed

    before = len(fake.sent(9104))
    body = {
        "category": "traffic",
        "department": "도로관리과",
        "title": "금촌동 야간 도로 포장 공사 안내(예시)",
        "body": "12월 10일부터 12일까지 밤 10시~새벽 5시에 금촌동 일대 도로 포장 공사를 합니다. 우회해 주세요.",
        "summary": "12/10~12 야간 포장 공사, 우회 바랍니다.",
        "publish": True,
    }
    headers = {"Authorization": f"Bearer {staff_token}"}
    created = httpx.post(f"{stack.url('api')}/api/notices", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["messages_queued"] == 1
    fake.wait_for(lambda f: any(VERIFIED in (m.get("text") or "") for m in f.sent(9104)[before:]))
    [card] = [m for m in fake.sent(9104)[before:] if VERIFIED in (m.get("text") or "")]
    assert "금촌동 야간 도로 포장 공사" in card["text"]

    again = httpx.post(f"{stack.url('api')}/api/notices/{created.json()['notice']['id']}/publish", headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["messages_queued"] == 0
    time.sleep(3)
    assert sum(VERIFIED in (m.get("text") or "") for m in fake.sent(9104)[before:]) == 1


def test_a_certified_notice_is_shown_only_after_the_citizen_confirms_with_a_code(telegram, staff_token, sms_provider):
    fake, stack = telegram
    secret = "2026년 제2기분 자동차세 52,000원이 부과되었습니다(예시)."
    sent = httpx.post(
        f"{stack.url('api')}/api/personal-notices",
        json={"phone": "010-2345-6789", "department": "세정과", "title": "자동차세 납부 안내", "body": secret},
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert sent.status_code == 201, sent.text

    chat = Chat(fake, 9105)
    asked = chat.say("내 공인알림 확인")
    assert "휴대폰 번호" in asked
    code_sent = chat.say("010-2345-6789")
    assert "010-****-6789" in code_sent and "6789" in code_sent
    listed = chat.say(sms_provider.last_code("01023456789"))
    assert "세정과" in listed
    assert secret not in " ".join(m.get("text") or "" for m in fake.sent(9105))

    _press(chat, "본인 확인하고 열기")
    wrong = chat.say("000000")
    assert "맞지 않아요" in wrong
    assert secret not in " ".join(m.get("text") or "" for m in fake.sent(9105))
    opened = chat.say(sms_provider.last_code("01023456789"))
    assert secret in opened
    # The citizen read it; the transcript keeps only a placeholder.
    engine = make_engine(stack.database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT text, payload FROM messages")).all()
    engine.dispose()
    assert not any("52,000" in f"{row.text} {row.payload}" for row in stored)
    assert any(row.text == PLACEHOLDER for row in stored)
    # Nor does Rasa's tracker store: the letter never passed through Rasa, only the reference the gateway opened.
    tracker_store = _tracker_store_text(stack)
    assert f'"personal_notice_id": "{sent.json()["id"]}"' in tracker_store
    assert '"sender_id": "telegram:9105"' in tracker_store  # the reference's own key: the right store was read
    assert not [part for part in _parts_of(secret) if part in tracker_store]
    logs = " ".join(path.read_text(errors="replace") for path in stack.workdir.glob("*.log"))
    assert not [part for part in _parts_of(secret) if part in logs]


def _parts_of(secret: str) -> list[str]:
    """The letter whole and the parts only it has (the seed's tax notice names 제2기분 자동차세 too); the amount is
    ASCII, so no escaping can hide it."""
    return [secret, "52,000", "부과되었습니다"]


def _tracker_store_text(stack) -> str:
    """Every value in Rasa's tracker store, JSON (events) decoded, so Korean is compared as Korean."""
    values = []
    with closing(sqlite3.connect(f"file:{stack.env['RASA_TRACKER_DB']}?mode=ro", uri=True)) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                values.extend(str(value) for value in row)
    decoded = []
    for value in values:
        try:
            decoded.append(json.dumps(json.loads(value), ensure_ascii=False))
        except ValueError:
            decoded.append(value)
    return "\n".join(values + decoded)
