"""The outbox: durable messages to citizens, leased to one gateway, retried, stopped when unreachable."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from api.conversations import outbox
from api.conversations.models import OutboxMessage
from api.conversations.service import get_or_create_conversation
from api.core.database import make_engine
from api.core.migrate import upgrade
from common.clock import utcnow
from tests.api.conftest import SERVICE_HEADERS
from tests.support.postgres import temporary_database


def _say(client, user="42", text="안녕하세요", channel="telegram"):
    response = client.post(
        "/api/conversations/messages",
        json={"channel": channel, "channel_user_id": user, "text": text, "language": "ko"},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 201, response.text


def _enqueue(client, user="42", text="담당자 답변입니다", **extra):
    return client.post(
        "/api/outbox",
        json={"channel": "telegram", "channel_user_id": user, "text": text, **extra},
        headers=SERVICE_HEADERS,
    )


def _claim(client, limit=20):
    response = client.post(
        "/api/outbox/claim", json={"channels": ["telegram"], "limit": limit}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200, response.text
    return response.json()


def _report(client, outbox_id, **result):
    response = client.post(f"/api/outbox/{outbox_id}/result", json=result, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_message_for_a_citizen_is_in_their_transcript_and_handed_to_a_gateway_once(client):
    _say(client)
    created = _enqueue(client, buttons=[{"title": "예약 확인", "payload": "/my_bookings"}])
    assert created.status_code == 201
    assert created.json()["status"] == "pending"

    [claimed] = _claim(client)
    assert claimed["channel_user_id"] == "42"
    assert claimed["text"] == "담당자 답변입니다"
    assert claimed["language"] == "ko"
    assert claimed["buttons"] == [{"title": "예약 확인", "payload": "/my_bookings"}]
    # Leased: a second gateway asking now gets nothing.
    assert _claim(client) == []

    delivered = _report(client, claimed["id"], status="delivered", channel_message_id="777")
    assert delivered["status"] == "delivered"
    assert delivered["delivered_at"] is not None
    transcript = client.get("/api/conversations/telegram/42/messages", headers=SERVICE_HEADERS).json()
    assert [m["text"] for m in transcript] == ["안녕하세요", "담당자 답변입니다"]


def test_the_same_dedupe_key_is_written_once(client):
    _say(client)
    assert _enqueue(client).status_code == 201
    assert _enqueue(client).status_code == 201  # no key: two messages
    first = _enqueue(client, dedupe_key="reminder:booking:17")
    again = _enqueue(client, dedupe_key="reminder:booking:17")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    transcript = client.get("/api/conversations/telegram/42/messages", headers=SERVICE_HEADERS).json()
    assert len(transcript) == 1 + 3


def test_nobody_who_never_talked_to_the_assistant_can_be_messaged(client):
    response = _enqueue(client, user="999")
    assert response.status_code == 404


def test_bad_input_is_refused_and_nothing_is_written(client):
    _say(client)
    assert _enqueue(client, text="").status_code == 422
    assert _enqueue(client, text="x" * 5000).status_code == 422
    assert (
        client.post("/api/outbox", json={"channel": "telegram", "channel_user_id": "42", "text": "hi"}).status_code
        == 401
    )
    assert _claim(client) == []


def test_a_citizens_messages_go_out_in_order_even_when_the_first_waits_for_a_retry(client):
    _say(client)
    _enqueue(client, text="첫 번째")
    _enqueue(client, text="두 번째")
    [first] = _claim(client)
    assert first["text"] == "첫 번째"
    _report(client, first["id"], status="retry", error="timed out", retry_after=0)
    [again] = _claim(client)
    assert again["id"] == first["id"] and again["attempts"] == 2
    _report(client, again["id"], status="delivered")
    [second] = _claim(client)
    assert second["text"] == "두 번째"


def test_different_citizens_messages_are_handed_out_together(client):
    for user in ("1", "2", "3"):
        _say(client, user=user)
        _enqueue(client, user=user)
    assert sorted(m["channel_user_id"] for m in _claim(client)) == ["1", "2", "3"]


def test_telegrams_retry_after_is_honoured(client):
    _say(client)
    _enqueue(client)
    [claimed] = _claim(client)
    after = _report(client, claimed["id"], status="retry", error="429 Too Many Requests", retry_after=30)
    assert after["status"] == "pending"
    assert after["last_error"] == "429 Too Many Requests"
    assert _claim(client) == []  # not before the 30 seconds


def test_a_network_error_is_retried_with_growing_backoff(client, settings):
    _say(client)
    _enqueue(client)
    waits = []
    engine = make_engine(settings.database_url)
    for _ in range(3):
        with Session(engine) as session:
            # Skip the wait, as the clock would.
            session.query(OutboxMessage).update({"next_attempt_at": utcnow() - timedelta(seconds=1)})
            session.commit()
        [claimed] = _claim(client)
        before = utcnow()
        after = _report(client, claimed["id"], status="retry", error="connection reset")
        waits.append(round((_parse(after["next_attempt_at"]) - before).total_seconds()))
    engine.dispose()
    assert waits == [2, 4, 8]


def test_after_too_many_attempts_the_message_is_marked_failed(client, settings):
    _say(client)
    outbox_id = _enqueue(client).json()["id"]
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        session.get(OutboxMessage, outbox_id).attempts = outbox.MAX_ATTEMPTS - 1
        session.commit()
    engine.dispose()
    [claimed] = _claim(client)
    assert _report(client, claimed["id"], status="retry", error="still down")["status"] == "failed"
    assert _claim(client) == []


def test_a_citizen_who_blocked_the_bot_gets_nothing_more_until_they_write_again(client):
    _say(client)
    _enqueue(client, text="하나")
    _enqueue(client, text="둘")
    [claimed] = _claim(client)
    assert _report(client, claimed["id"], status="unreachable", error="403 Forbidden: bot was blocked")["status"] == (
        "unreachable"
    )
    assert _claim(client) == []
    assert _enqueue(client, text="셋").json()["status"] == "unreachable"

    _say(client, text="다시 왔어요")
    assert _enqueue(client, text="넷").json()["status"] == "pending"
    assert [m["text"] for m in _claim(client)] == ["넷"]


def test_a_lease_that_ran_out_lets_another_gateway_deliver(client, settings):
    _say(client)
    _enqueue(client)
    [claimed] = _claim(client)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        session.get(OutboxMessage, claimed["id"]).leased_until = utcnow() - timedelta(seconds=1)
        session.commit()
    engine.dispose()
    [again] = _claim(client)
    assert again["id"] == claimed["id"]


def test_a_message_is_written_with_the_change_that_caused_it_or_not_at_all(settings):
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        conversation = get_or_create_conversation(session, "telegram", "42")
        session.commit()
        outbox.enqueue(session, conversation, text="취소되지 않을 메시지", kind="staff_reply")
        session.rollback()
    with Session(engine) as session:
        assert session.query(OutboxMessage).count() == 0
    engine.dispose()


def test_a_late_report_never_undoes_a_delivery(client):
    _say(client)
    _enqueue(client)
    [claimed] = _claim(client)
    _report(client, claimed["id"], status="delivered", channel_message_id="777")
    # A gateway whose lease had lapsed, or a report sent twice.
    for status in ("retry", "failed", "unreachable"):
        late = _report(client, claimed["id"], status=status, error="late", attempt=claimed["attempts"])
        assert (late["status"], late["applied"]) == ("delivered", False)
    assert _claim(client) == []
    assert _enqueue(client, text="다음 안내").json()["status"] == "pending"  # the citizen is still reachable
    [following] = _claim(client)
    assert following["text"] == "다음 안내"


def _lapse_lease(settings, outbox_id: int) -> None:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        session.get(OutboxMessage, outbox_id).leased_until = utcnow() - timedelta(seconds=1)
        session.commit()
    engine.dispose()


@pytest.mark.parametrize("status", ["retry", "failed", "unreachable"])
def test_a_late_report_of_an_earlier_attempt_cannot_end_the_lease_another_gateway_holds(client, settings, status):
    _say(client)
    _enqueue(client)
    [first] = _claim(client)
    _lapse_lease(settings, first["id"])
    [second] = _claim(client)  # another gateway, while the first is still sending
    assert (second["id"], second["attempts"]) == (first["id"], 2)

    late = _report(client, first["id"], status=status, error="late", retry_after=0, attempt=first["attempts"])
    assert late["applied"] is False
    assert (late["status"], late["attempts"], late["last_error"]) == ("pending", 2, None)
    assert _claim(client) == [], "the second gateway's lease still holds"
    assert _enqueue(client, text="다음 안내").json()["status"] == "pending"  # the citizen is still reachable

    delivered = _report(client, second["id"], status="delivered", channel_message_id="778", attempt=2)
    assert (delivered["status"], delivered["applied"]) == ("delivered", True)


def test_a_delivery_reported_by_a_claimer_whose_lease_lapsed_is_still_recorded(client, settings):
    _say(client)
    _enqueue(client)
    [first] = _claim(client)
    _lapse_lease(settings, first["id"])
    _claim(client)
    late = _report(client, first["id"], status="delivered", channel_message_id="777", attempt=first["attempts"])
    assert (late["status"], late["applied"]) == ("delivered", True)
    assert _report(client, first["id"], status="retry", error="second gateway timed out", attempt=2)["applied"] is False


def test_a_report_of_the_current_attempt_is_applied_even_after_its_lease_lapsed(client, settings):
    _say(client)
    _enqueue(client)
    [claimed] = _claim(client)
    _lapse_lease(settings, claimed["id"])  # nobody claimed it since: the report is still the latest word
    after = _report(client, claimed["id"], status="retry", error="timed out", retry_after=30, attempt=1)
    assert (after["applied"], after["status"], after["last_error"]) == (True, "pending", "timed out")
    assert _claim(client) == []  # not before the 30 seconds


def test_a_message_every_claimer_died_with_fails_after_the_last_attempt_and_holds_back_nothing(client, settings):
    _say(client)
    first = _enqueue(client, text="게이트웨이를 멈추게 하는 메시지").json()["id"]
    _enqueue(client, text="그다음 메시지")
    engine = make_engine(settings.database_url)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        [claimed] = _claim(client)
        assert (claimed["id"], claimed["attempts"]) == (first, attempt)
        with Session(engine) as session:  # the claimer dies: no report, and its lease runs out
            session.get(OutboxMessage, first).leased_until = utcnow() - timedelta(seconds=1)
            session.commit()
    engine.dispose()
    [following] = _claim(client)
    assert following["text"] == "그다음 메시지"
    given_up = client.get(f"/api/outbox/{first}", headers=SERVICE_HEADERS).json()
    assert (given_up["status"], given_up["last_error"]) == ("failed", outbox.NEVER_REPORTED)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_gateways_claiming_at_once_never_get_the_same_message(backend, tmp_path):
    def run(url: str) -> None:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            for user in range(40):
                conversation = get_or_create_conversation(session, "telegram", str(user))
                outbox.enqueue(session, conversation, text=f"안내 {user}", kind="notice")
            session.commit()

        def gateway(_: int) -> list[int]:
            taken = []
            with Session(engine) as session:
                for _round in range(10):
                    taken += [item.outbox.id for item in outbox.claim(session, ["telegram"], limit=5)]
            return taken

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(gateway, range(4)))
        engine.dispose()
        everything = [outbox_id for taken in results for outbox_id in taken]
        assert len(everything) == len(set(everything)) == 40

    if backend == "sqlite":
        run(f"sqlite:///{tmp_path / 'paju.db'}")
    else:
        with temporary_database() as url:
            run(url)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_the_web_chat_collects_what_is_waiting_once_and_it_counts_as_delivered(client):
    _say(client, user="web-user-1", channel="web")
    client.post(
        "/api/outbox",
        json={"channel": "web", "channel_user_id": "web-user-1", "text": "담당자 답변"},
        headers=SERVICE_HEADERS,
    )
    # Telegram gateways never take a web message: the page fetches it.
    assert _claim(client) == []

    def collect() -> list[dict]:
        body = {"channel": "web", "channel_user_id": "web-user-1"}
        return client.post("/api/outbox/collect", json=body, headers=SERVICE_HEADERS).json()

    [waiting] = collect()
    assert waiting["text"] == "담당자 답변"
    assert client.get(f"/api/outbox/{waiting['id']}", headers=SERVICE_HEADERS).json()["status"] == "delivered"
    assert collect() == []


def _web_message(client, user: str, text: str) -> None:
    response = client.post(
        "/api/outbox", json={"channel": "web", "channel_user_id": user, "text": text}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 201, response.text


def _collect(client, user: str = "web-user-1", after: int | None = None) -> list[dict]:
    body = {"channel": "web", "channel_user_id": user, "after": after}
    response = client.post("/api/outbox/collect", json=body, headers=SERVICE_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def test_what_was_handed_to_the_web_chat_is_handed_over_again_after_an_older_cursor_never_a_newer_one(client):
    _say(client, user="web-user-1", channel="web")
    _say(client, user="web-user-2", channel="web")
    newest_shown = client.get("/api/conversations/web/web-user-1/messages", headers=SERVICE_HEADERS).json()[-1]["id"]
    _web_message(client, "web-user-1", "첫 번째 답변")
    _web_message(client, "web-user-1", "두 번째 답변")

    handed = _collect(client, after=newest_shown)
    assert [m["text"] for m in handed] == ["첫 번째 답변", "두 번째 답변"]
    first, second = (m["message_id"] for m in handed)
    # The response was lost: the page asks again from where it was, and gets both again, in order.
    assert [m["message_id"] for m in _collect(client, after=newest_shown)] == [first, second]
    assert [m["message_id"] for m in _collect(client, after=first)] == [second]
    assert _collect(client, after=second) == []
    assert _collect(client) == [], "without a cursor only what is waiting, as before"
    # Nothing of it for another citizen, whatever their cursor.
    assert _collect(client, user="web-user-2", after=0) == []
    statuses = {client.get(f"/api/outbox/{m['id']}", headers=SERVICE_HEADERS).json()["status"] for m in handed}
    assert statuses == {"delivered"}


def test_a_waiting_web_message_is_handed_over_even_below_the_cursor(client):
    _say(client, user="web-user-1", channel="web")
    _web_message(client, "web-user-1", "늦게 커밋된 답변")  # written in a transaction that committed late, say
    [waiting] = _collect(client, after=10**6)
    assert waiting["text"] == "늦게 커밋된 답변"
    assert _collect(client, after=10**6) == []


def test_the_web_chat_is_handed_over_again_only_what_went_out_in_the_last_day_and_at_most_fifty(client, settings):
    _say(client, user="web-user-1", channel="web")
    for n in range(outbox.COLLECT_LIMIT + 5):
        _web_message(client, "web-user-1", f"안내 {n}")
    assert len(_collect(client, after=0)) == outbox.COLLECT_LIMIT
    assert [m["text"] for m in _collect(client)] == [
        f"안내 {n}" for n in range(outbox.COLLECT_LIMIT, outbox.COLLECT_LIMIT + 5)
    ]
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        session.query(OutboxMessage).filter(OutboxMessage.id <= 3).update(
            {"delivered_at": utcnow() - outbox.HANDED_OVER_AGAIN_WITHIN - timedelta(minutes=1)}
        )
        session.commit()
    engine.dispose()
    assert [m["text"] for m in _collect(client, after=0)][:2] == ["안내 3", "안내 4"]


def test_a_message_held_until_later_is_not_handed_out_before_and_holds_back_no_later_message(settings):
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        conversation = get_or_create_conversation(session, "telegram", "42")
        web = get_or_create_conversation(session, "web", "web-user-1")
        session.commit()
        morning = utcnow() + timedelta(hours=9)
        held = outbox.enqueue(session, conversation, text="아침에 보낼 공지", kind="notice", not_before=morning)
        outbox.enqueue(session, conversation, text="지금 보낼 긴급 공지", kind="notice")
        outbox.enqueue(session, web, text="웹 채팅의 아침 공지", kind="notice", not_before=morning)
        session.commit()
        assert held.next_attempt_at == morning

        [urgent] = outbox.claim(session, ["telegram"], limit=10)
        assert urgent.message.text == "지금 보낼 긴급 공지"
        assert outbox.collect(session, web) == []  # the web chat does not collect it early either
    engine.dispose()
