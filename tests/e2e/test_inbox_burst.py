"""Every message Rasa parsed reaches the NLU inbox, also when a citizen sends a burst of quick messages: each one's
parse is read by its own id, however many of the same conversation's messages were handled after it."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from tests.support.stack import Stack
from tests.support.web_chat import WebChat

pytestmark = pytest.mark.stack

BURST = 20


def test_twenty_quick_messages_of_one_conversation_all_reach_the_inbox(stack: Stack):
    citizen = WebChat(stack.url("gateway"), timeout=120)
    texts = [f"음식물 쓰레기 {n}번째 질문이에요 언제 버려요" for n in range(BURST)]
    try:
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            answered = list(pool.map(lambda words: citizen.post(words).status_code, texts))
    finally:
        citizen.close()
    assert answered == [200] * BURST

    engine = create_engine(stack.database_url)
    query = text(
        "SELECT i.text FROM nlu_sightings s JOIN nlu_inbox i ON i.id = s.item_id "
        "JOIN conversations c ON c.id = s.conversation_id WHERE c.channel = 'web' AND c.channel_user_id = :user"
    )
    deadline = time.monotonic() + 30
    while True:
        with engine.connect() as connection:
            seen = sorted(row.text for row in connection.execute(query, {"user": citizen.user_id}))
        if len(seen) >= BURST or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    engine.dispose()
    assert seen == sorted(texts)
