"""Certified personal notices: a phone linked by one-time code, content shown only after identity is confirmed,
the delivery certificate, paper mail for the unread."""

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.conversations.models import OutboxMessage
from api.core.database import make_engine, make_sessionmaker
from api.core.migrate import upgrade
from api.core.settings import Settings
from api.identity import service as identity
from api.identity.errors import CodeExpired, CodeLocked, TooManyCodes, WrongCode
from api.identity.models import VerificationCode
from api.identity.sms import sms_sender
from api.notices import personal
from api.notices.errors import IdentityNotConfirmed
from api.notices.models import PersonalNotice
from api.notices.schemas import PersonalNoticeIn
from api.notices.service import VERIFIED_HEADER, QuietHours
from api.staff.models import AuditEntry
from api.staff.permissions import PERSONAL_NOTICES_CERTIFICATE, PERSONAL_NOTICES_SEND
from api.staff.service import create_user
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.support.fake_sms import API_KEY, FakeSmsProvider
from tests.support.postgres import temporary_database

PASSWORD = "correct horse battery"
PHONE, OTHER_PHONE = "010-2345-6789", "010-9876-5432"
KO = {"Accept-Language": "ko"}
LETTER = {
    "phone": PHONE,
    "recipient_name": "김민수",
    "department": "세정과",
    "title": "지방세 과오납 환급 안내",
    "body": "과오납된 지방세 12,340원을 환급해 드립니다. 환급 계좌를 알려 주십시오.",
}


@pytest.fixture
def sms() -> Iterator[FakeSmsProvider]:
    """The phone's view of the SMS: tests read codes from what the fake provider received, as a citizen would."""
    provider = FakeSmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def settings(settings: Settings, sms: FakeSmsProvider) -> Settings:
    return settings.model_copy(update=sms.settings() | {"sms_api_key": SecretStr(API_KEY)})


@pytest.fixture
def staff(client) -> dict[str, str]:
    with client.app.state.sessionmaker() as session:
        granted = [PERSONAL_NOTICES_SEND, PERSONAL_NOTICES_CERTIFICATE]
        create_user(session, "letters@paju.go.kr", "공인알림담당", PASSWORD, permissions=granted)
    token = client.post("/api/auth/sign-in", json={"email": "letters@paju.go.kr", "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _seoul(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SEOUL)


def _who(user: str) -> dict[str, str]:
    return {"channel": "telegram", "channel_user_id": user}


def _say(client, user: str, language: str = "ko") -> None:
    body = _who(user) | {"text": "안녕하세요", "language": language}
    assert client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).status_code == 201


def _link(client, sms: FakeSmsProvider, user: str = "42", phone: str = PHONE) -> dict:
    _say(client, user)
    started = client.post("/api/phone-links", json=_who(user) | {"phone": phone}, headers=SERVICE_HEADERS)
    assert started.status_code == 202, started.text
    confirmed = client.post(
        "/api/phone-links/confirm", json=_who(user) | {"code": sms.last_code(phone)}, headers=SERVICE_HEADERS
    )
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()


def _send(client, staff, **change) -> dict:
    response = client.post("/api/personal-notices", json=LETTER | change, headers=staff)
    assert response.status_code == 201, response.text
    return response.json()


def _post(client, path: str, user: str = "42", **body):
    return client.post(path, json=_who(user) | body, headers=SERVICE_HEADERS | KO)


def _notification(client, notice_id: int) -> OutboxMessage:
    with client.app.state.sessionmaker() as session:
        notice = session.get(PersonalNotice, notice_id)
        message = session.get(OutboxMessage, notice.notification_id)
        message.message  # noqa: B018  (loaded before the session closes)
        return message


# --- linking a phone ------------------------------------------------------------------------------------


def test_a_phone_is_linked_with_the_code_sent_to_it_and_the_log_shows_neither_the_number_nor_the_code(
    client, caplog, sms
):
    with caplog.at_level(logging.INFO, logger="api.sms"):
        linked = _link(client, sms)
    assert linked["phone"] == "010-****-6789" and linked["unread"] == 0
    [record] = [r for r in caplog.records if r.name == "api.sms"]
    assert record.to == "010-****-6789"
    assert "2345" not in record.to
    assert sms.last_code(PHONE) not in caplog.text and "인증번호 ******" in record.text
    assert client.get("/api/personal-notices", params=_who("42"), headers=SERVICE_HEADERS).json() == []


def test_without_a_linked_phone_there_are_no_notices_to_list(client):
    _say(client, "42")
    response = client.get("/api/personal-notices", params=_who("42"), headers=SERVICE_HEADERS | KO)
    assert response.status_code == 409 and response.json()["code"] == "phone_not_linked"
    bad = _post(client, "/api/phone-links", phone="02-123-4567")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_phone"


def test_wrong_codes_count_and_the_fifth_locks_the_code(client, sms):
    _say(client, "42")
    _post(client, "/api/phone-links", phone=PHONE)
    right = sms.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = _post(client, "/api/phone-links/confirm", code=wrong)
        assert response.status_code == 422 and response.json()["code"] == "wrong_code"
        assert f"{left}번 더" in response.json()["detail"]
    locked = _post(client, "/api/phone-links/confirm", code=wrong)
    assert locked.status_code == 429 and locked.json()["code"] == "code_locked"
    assert _post(client, "/api/phone-links/confirm", code=right).status_code == 429  # even the right one now
    _post(client, "/api/phone-links", phone=PHONE)  # a new code starts afresh
    assert _post(client, "/api/phone-links/confirm", code=sms.last_code(PHONE)).status_code == 200
    assert _post(client, "/api/phone-links/confirm", code=sms.last_code(PHONE)).json()["code"] == "code_not_requested"


def test_a_code_works_for_five_minutes_only(client, sms, settings):
    sender = sms_sender(settings)
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with client.app.state.sessionmaker() as session:
        identity.start_link(session, "telegram", "42", PHONE, sender, now=start)
        code = sms.last_code(PHONE)
        with pytest.raises(CodeExpired):
            personal.confirm_link(session, "telegram", "42", code, now=start + timedelta(minutes=5))
        identity.start_link(session, "telegram", "42", PHONE, sender, now=start + timedelta(minutes=6))
        code = sms.last_code(PHONE)
        wrong = "999999" if code != "999999" else "888888"
        with pytest.raises(WrongCode):
            personal.confirm_link(session, "telegram", "42", wrong, now=start + timedelta(minutes=7))
        link, _unread = personal.confirm_link(
            session, "telegram", "42", code, now=start + timedelta(minutes=10, seconds=59)
        )
        assert link.phone == "01023456789"


def test_a_number_gets_at_most_ten_codes_an_hour(client, settings):
    sender = sms_sender(settings)
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with client.app.state.sessionmaker() as session:
        for minute in range(10):
            identity.start_link(session, "telegram", "42", PHONE, sender, now=start + timedelta(minutes=minute))
        with pytest.raises(TooManyCodes):
            identity.start_link(session, "telegram", "99", PHONE, sender, now=start + timedelta(minutes=30))
        identity.start_link(session, "telegram", "42", PHONE, sender, now=start + timedelta(minutes=61))


# --- delivery and reading -----------------------------------------------------------------------------------


def test_the_content_is_never_shown_before_the_citizen_confirms_who_they_are(client, staff, sms):
    _link(client, sms)
    sent = _send(client, staff)
    assert sent["phone"] == "010-****-6789" and sent["delivered_at"] is None

    waiting = _notification(client, sent["id"])
    lines = waiting.message.text.splitlines()
    assert lines[0] == VERIFIED_HEADER and "세정과에서 보낸 공인알림" in lines[1]
    assert LETTER["title"] not in waiting.message.text and "12,340" not in waiting.message.text
    assert waiting.message.payload["buttons"] == [
        {"title": "본인 확인하고 열기", "payload": f'/notice_open{{"personal_notice_id":"{sent["id"]}"}}'}
    ]
    listed = client.get("/api/personal-notices", params=_who("42"), headers=SERVICE_HEADERS).json()
    assert listed == [
        {"id": sent["id"], "department": "세정과", "sent_at": listed[0]["sent_at"], "read": False, "title": None}
    ]

    read = f"/api/personal-notices/{sent['id']}/read"
    assert _post(client, read).status_code == 403
    assert _post(client, f"/api/personal-notices/{sent['id']}/code").status_code == 202
    code = sms.last_code(PHONE)
    assert _post(client, f"/api/personal-notices/{sent['id']}/confirm", code="12345x").status_code == 422
    assert _post(client, read).status_code == 403  # a wrong code opens nothing
    confirmed = _post(client, f"/api/personal-notices/{sent['id']}/confirm", code=code)
    assert confirmed.status_code == 200

    content = _post(client, read)
    assert content.status_code == 200
    assert content.json()["title"] == LETTER["title"] and content.json()["body"] == LETTER["body"]
    listed = client.get("/api/personal-notices", params=_who("42"), headers=SERVICE_HEADERS).json()
    assert listed[0]["read"] is True and listed[0]["title"] == LETTER["title"]
    status = client.get(f"/api/personal-notices/{sent['id']}", headers=staff).json()
    assert status["identity_confirmed_at"] and status["read_at"]


def test_the_content_opens_for_ten_minutes_after_the_code(client, staff, sms, settings):
    _link(client, sms)
    notice_id = _send(client, staff)["id"]
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with client.app.state.sessionmaker() as session:
        personal.request_identity_code(session, notice_id, "telegram", "42", sms_sender(settings), now=start)
        personal.confirm_identity(session, notice_id, "telegram", "42", sms.last_code(PHONE), now=start)
        assert personal.read(session, notice_id, "telegram", "42", now=start + timedelta(minutes=9)).read_at
        with pytest.raises(IdentityNotConfirmed):
            personal.read(session, notice_id, "telegram", "42", now=start + timedelta(minutes=10))


def test_a_notice_opens_only_in_the_chat_where_its_code_was_entered(client, staff, sms, settings):
    _link(client, sms, "42")
    notice_id = _send(client, staff)["id"]
    assert _post(client, f"/api/personal-notices/{notice_id}/code").status_code == 202
    assert _post(client, f"/api/personal-notices/{notice_id}/confirm", code=sms.last_code(PHONE)).status_code == 200

    _link(client, sms, "43")  # the same phone, linked to another chat within the ten minutes
    refused = _post(client, f"/api/personal-notices/{notice_id}/read", user="43")
    assert refused.status_code == 403 and refused.json()["code"] == "identity_not_confirmed"
    with client.app.state.sessionmaker() as session:  # past the routes' SMS limits: a code of its own opens it
        personal.request_identity_code(session, notice_id, "telegram", "43", sms_sender(settings))
        personal.confirm_identity(session, notice_id, "telegram", "43", sms.last_code(PHONE))
        assert personal.read(session, notice_id, "telegram", "43").body == LETTER["body"]


def test_nobody_else_can_open_or_even_ask_about_a_citizens_notice(client, staff, sms):
    _link(client, sms, "42", PHONE)
    _link(client, sms, "43", OTHER_PHONE)
    _say(client, "44")  # not linked
    notice_id = _send(client, staff)["id"]
    for path in ("code", "read"):
        other = _post(client, f"/api/personal-notices/{notice_id}/{path}", user="43")
        assert other.status_code == 404 and other.json()["code"] == "personal_notice_not_found"
        assert _post(client, f"/api/personal-notices/{notice_id}/{path}", user="44").status_code == 409
    assert client.get("/api/personal-notices", params=_who("43"), headers=SERVICE_HEADERS).json() == []
    assert _post(client, f"/api/personal-notices/{notice_id}/code").status_code == 202
    stolen = _post(client, f"/api/personal-notices/{notice_id}/confirm", user="43", code=sms.last_code(PHONE))
    assert stolen.status_code == 404
    for path in ("code", "read", "confirm"):
        assert (
            client.post(f"/api/personal-notices/{notice_id}/{path}", json=_who("42") | {"code": "1"}).status_code == 401
        )


def test_a_notice_sent_before_the_phone_was_linked_is_announced_when_it_is(client, staff, sms):
    notice_id = _send(client, staff)["id"]
    assert client.get(f"/api/personal-notices/{notice_id}", headers=staff).json()["delivered_at"] is None
    linked = _link(client, sms)
    assert linked["unread"] == 1
    assert "세정과에서 보낸 공인알림" in _notification(client, notice_id).message.text


def test_a_notice_sent_at_night_is_announced_in_the_morning_in_english_for_an_english_reader(client, sms):
    _link(client, sms)
    _say(client, "42", language="en")
    with client.app.state.sessionmaker() as session:
        notice = personal.send(session, PersonalNoticeIn(**LETTER), None, QuietHours(), now=_seoul(2026, 12, 1, 23, 30))
        message = session.get(OutboxMessage, notice.notification_id)
        assert message.next_attempt_at == _seoul(2026, 12, 2, 8, 0)
        assert "A certified notice from 세정과 is waiting for you." in message.message.text


# --- staff: certificate, paper mail --------------------------------------------------------------------------


@pytest.mark.clock("2026-12-02T11:00:00+09:00")  # daytime: quiet hours would hold the message
def test_staff_download_a_certificate_with_the_contents_hash_and_every_time(client, staff, sms):
    _link(client, sms)
    notice_id = _send(client, staff)["id"]
    [claimed] = client.post("/api/outbox/claim", json={"channels": ["telegram"]}, headers=SERVICE_HEADERS).json()
    client.post(f"/api/outbox/{claimed['id']}/result", json={"status": "delivered"}, headers=SERVICE_HEADERS)
    _post(client, f"/api/personal-notices/{notice_id}/code")
    _post(client, f"/api/personal-notices/{notice_id}/confirm", code=sms.last_code(PHONE))
    _post(client, f"/api/personal-notices/{notice_id}/read")

    response = client.get(f"/api/personal-notices/{notice_id}/certificate", headers=staff)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="paju-notice-{notice_id}-certificate.json"'
    certificate = response.json()
    content = json.dumps(
        {"body": LETTER["body"], "department": "세정과", "title": LETTER["title"]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert certificate["content_sha256"] == hashlib.sha256(content.encode()).hexdigest()
    assert certificate["recipient_phone"] == "010-****-6789"
    times = [certificate[k] for k in ("sent_at", "delivered_at", "identity_confirmed_at", "read_at")]
    assert all(times) and times == sorted(times)
    assert certificate["paper_mail_at"] is None
    with client.app.state.sessionmaker() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "download_certificate"))
        assert audit.subject == f"personal_notice:{notice_id}"
    assert client.get(f"/api/personal-notices/{notice_id}/certificate", headers=SERVICE_HEADERS).status_code == 401
    assert client.get("/api/personal-notices/999/certificate", headers=staff).status_code == 404


def test_notices_unread_after_three_days_are_flagged_for_paper_mail_once(client, settings):
    assert settings.personal_notice_paper_mail_days == 3
    start = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    with client.app.state.sessionmaker() as session:
        unread = personal.send(session, PersonalNoticeIn(**LETTER), None, now=start)
        later = personal.send(
            session, PersonalNoticeIn(**LETTER | {"title": "두 번째 안내"}), None, now=start + timedelta(days=1)
        )
        read = personal.send(session, PersonalNoticeIn(**LETTER | {"title": "읽은 안내"}), None, now=start)
        read.read_at = start + timedelta(hours=1)
        session.commit()
        days = settings.personal_notice_paper_mail_days
        assert personal.flag_for_paper_mail(session, days, now=start + timedelta(days=3) - timedelta(seconds=1)) == []
        flagged = personal.flag_for_paper_mail(session, days, now=start + timedelta(days=3))
        assert [n.id for n in flagged] == [unread.id]
        assert [n.id for n in personal.flag_for_paper_mail(session, days, now=start + timedelta(days=4))] == [later.id]
        assert personal.flag_for_paper_mail(session, days, now=start + timedelta(days=9)) == []


def test_only_staff_send_personal_notices_and_a_bad_number_is_refused(client, staff):
    assert client.post("/api/personal-notices", json=LETTER, headers=SERVICE_HEADERS).status_code == 401
    assert client.post("/api/personal-notices", json=LETTER).status_code == 401
    bad = client.post("/api/personal-notices", json=LETTER | {"phone": "12345"}, headers=staff | KO)
    assert bad.status_code == 422
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(PersonalNotice.id)) is None


def test_a_locked_identity_code_refuses_even_the_right_one(client, staff, sms):
    _link(client, sms)
    notice_id = _send(client, staff)["id"]
    _post(client, f"/api/personal-notices/{notice_id}/code")
    right = sms.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    codes = [_post(client, f"/api/personal-notices/{notice_id}/confirm", code=wrong).status_code for _ in range(5)]
    assert codes == [422, 422, 422, 422, 429]
    assert _post(client, f"/api/personal-notices/{notice_id}/confirm", code=right).status_code == 429
    assert _post(client, f"/api/personal-notices/{notice_id}/read").status_code == 403
    with client.app.state.sessionmaker() as session, pytest.raises(CodeLocked):
        personal.confirm_identity(session, notice_id, "telegram", "42", right)


# --- guesses at the same moment ---------------------------------------------------------------------------
# On PostgreSQL the guesses really run side by side; a count read, raised in Python and written back lets
# every one of them through.


def _twenty_wrong_codes_at_once(sessions, sender, sms: FakeSmsProvider) -> None:
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with sessions() as session:
        identity.start_link(session, "telegram", "42", PHONE, sender, now=start)
    right = sms.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    together = threading.Barrier(20)

    def guess(_n: int) -> str:
        with sessions() as session:
            together.wait()
            try:
                personal.confirm_link(session, "telegram", "42", wrong, now=start + timedelta(minutes=1))
            except (WrongCode, CodeLocked) as refusal:
                return refusal.code
            return "linked"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(guess, range(20)))
    # Four are told how many tries are left, the fifth locks the code, the other fifteen find it locked.
    assert sorted(outcomes) == ["code_locked"] * 16 + ["wrong_code"] * 4
    with sessions() as session:
        assert session.scalar(select(VerificationCode.attempts)) == 5
        with pytest.raises(CodeLocked):
            personal.confirm_link(session, "telegram", "42", right, now=start + timedelta(minutes=2))


def test_twenty_wrong_codes_at_once_count_five_tries_and_then_even_the_right_one_is_refused_on_sqlite(
    client, sms, settings
):
    _twenty_wrong_codes_at_once(client.app.state.sessionmaker, sms_sender(settings), sms)


@pytest.mark.postgres
def test_twenty_wrong_codes_at_once_count_five_tries_and_then_even_the_right_one_is_refused_on_postgres(sms, settings):
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        _twenty_wrong_codes_at_once(make_sessionmaker(engine), sms_sender(settings), sms)
        engine.dispose()
