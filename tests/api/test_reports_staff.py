"""What staff do with a case and what citizens hear: status changes told to every reporter in their language,
rating buttons when done, private notes, transfers, deadlines kept or missed, and the rules of rating."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from api.conversations.models import Conversation, OutboxMessage
from api.conversations.service import get_or_create_conversation
from api.core.errors import DomainError
from api.reports import messaging, service
from api.reports.models import ReportCase, ReportEvent
from api.staff.models import StaffUser
from api.staff.service import create_user
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS

WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
CITY_HALL = (37.7599, 126.7800)
KO = {**SERVICE_HEADERS, "Accept-Language": "ko"}
EN = {**SERVICE_HEADERS, "Accept-Language": "en"}


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sessions(client):
    return client.app.state.sessionmaker


@pytest.fixture
def staff(sessions):
    with sessions() as session:
        officer = create_user(session, "officer@paju.go.kr", "박주무관", "correct horse battery")
        colleague = create_user(session, "colleague@paju.go.kr", "최주무관", "correct horse battery")
        session.commit()
        return officer.id, colleague.id


def citizen(sessions, user: str, language: str) -> None:
    with sessions() as session:
        get_or_create_conversation(session, "telegram", user).preferred_language = language
        session.commit()


def file(client, user: str, point=CITY_HALL, kind: str = "illegal_parking") -> str:
    body = {"channel": "telegram", "channel_user_id": user, "kind": kind, "description": "차가 인도에 서 있어요"}
    body["latitude"], body["longitude"] = point
    filed = client.post("/api/reports", json=body, headers=KO)
    assert filed.status_code == 201, filed.text
    return filed.json()["receipt_no"]


def officer(session, staff) -> StaffUser:
    return session.get(StaffUser, staff[0])


def messages_to(sessions, user: str) -> list[OutboxMessage]:
    with sessions() as session:
        found = session.scalars(
            select(OutboxMessage)
            .join(Conversation)
            .where(Conversation.channel_user_id == user)
            .order_by(OutboxMessage.id)
        ).all()
        for item in found:
            _ = item.message.text, item.message.payload
        return found


def change(sessions, staff, receipt_no: str, status: str, **kwargs):
    with sessions() as session:
        case = service.get_case(session, receipt_no)
        service.change_status(session, case, officer(session, staff), status, **kwargs)
        session.commit()


# --- status changes ---------------------------------------------------------------------------------------------


def test_a_status_change_tells_every_reporter_in_their_own_language(client, sessions, staff, clock):
    citizen(sessions, "ko-citizen", "ko")
    citizen(sessions, "en-citizen", "en")
    receipt_no = file(client, "ko-citizen")
    assert file(client, "en-citizen") == receipt_no  # merged
    change(sessions, staff, receipt_no, "in_progress", message="단속 요원이 가고 있어요.")
    [to_korean] = messages_to(sessions, "ko-citizen")
    [to_english] = messages_to(sessions, "en-citizen")
    assert to_korean.kind == to_english.kind == "report_status"
    assert to_korean.message.text == f"[{receipt_no} 불법 주정차] 처리 중이에요. 단속 요원이 가고 있어요."
    assert to_english.message.text.startswith(f"[{receipt_no} Illegal parking] We are working on it.")


def test_done_carries_rating_buttons_one_to_five(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    change(sessions, staff, receipt_no, "done", message=messaging.canned_text("illegal_parking", "done", "ko"))
    [done] = messages_to(sessions, "1001")
    buttons = done.message.payload["buttons"]
    assert [button["title"] for button in buttons] == ["1점", "2점", "3점", "4점", "5점"]
    assert buttons[4]["payload"] == f'/rate_report{{"receipt_no":"{receipt_no}","score":5}}'
    assert "처리가 완료되었어요" in done.message.text
    assert "현장을 단속하고" in done.message.text


def test_a_rejection_needs_a_reason_and_the_citizen_is_told_it(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    with pytest.raises(DomainError) as refused:
        change(sessions, staff, receipt_no, "rejected")
    assert refused.value.code == "invalid_report"
    assert messages_to(sessions, "1001") == []
    change(sessions, staff, receipt_no, "rejected", reason="차량이 이미 이동했어요.")
    [told] = messages_to(sessions, "1001")
    assert "반려되었어요. 사유: 차량이 이미 이동했어요." in told.message.text
    with sessions() as session:
        case = service.get_case(session, receipt_no)
        assert case.closed_at is not None
        assert case.purge_after == case.closed_at + timedelta(days=30)


def test_a_closed_case_cannot_be_changed_again(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    change(sessions, staff, receipt_no, "done")
    with pytest.raises(DomainError) as refused:
        change(sessions, staff, receipt_no, "in_progress")
    assert refused.value.code == "report_closed"
    assert len(messages_to(sessions, "1001")) == 1


def test_assigning_tells_the_citizen_and_counts_as_the_first_answer(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    clock.move_to(WEDNESDAY_10 + timedelta(hours=1))
    with sessions() as session:
        case = service.get_case(session, receipt_no)
        service.assign(session, case, session.get(StaffUser, staff[0]), session.get(StaffUser, staff[1]))
        session.commit()
        assert case.status == "assigned"
        assert case.assignee.name == "최주무관"
        assert case.first_answered_at == WEDNESDAY_10 + timedelta(hours=1)
    [told] = messages_to(sessions, "1001")
    assert "담당자가 배정되었어요" in told.message.text


def test_a_private_note_is_kept_from_the_citizen(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    with sessions() as session:
        case = service.get_case(session, receipt_no)
        service.add_note(session, case, officer(session, staff), "차주 연락처 010-5555-6666 확인")
        session.commit()
        assert case.first_answered_at is None
    assert messages_to(sessions, "1001") == []
    shown = client.get(f"/api/reports/{receipt_no}", headers=KO)
    assert "010-5555-6666" not in shown.text
    assert len(shown.json()["history"]) == 1


def test_a_staff_message_reaches_every_reporter_without_changing_the_status(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    file(client, "2002")
    with sessions() as session:
        case = service.get_case(session, receipt_no)
        service.send_message(session, case, officer(session, staff), "내일 오전에 현장에 갈게요.")
        session.commit()
        assert case.status == "received"
    for user in ("1001", "2002"):
        [told] = messages_to(sessions, user)
        assert told.kind == "report_message"
        assert told.message.text == f"[{receipt_no} 불법 주정차] 내일 오전에 현장에 갈게요."
    history = client.get(f"/api/reports/{receipt_no}", headers=KO).json()["history"]
    assert history[-1]["text"] == "내일 오전에 현장에 갈게요."


def test_a_transfer_moves_the_case_and_names_the_new_department(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    with sessions() as session:
        case = service.get_case(session, receipt_no)
        service.transfer(session, case, officer(session, staff), "roads", "도로 파손 건이에요")
        session.commit()
        assert (case.status, case.department, case.assignee_id) == ("transferred", "roads", None)
    [told] = messages_to(sessions, "1001")
    assert "도로관리과로 이관되었어요." in told.message.text
    assert "도로 파손 건이에요" not in told.message.text
    with sessions() as session, pytest.raises(DomainError) as refused:
        service.transfer(session, service.get_case(session, receipt_no), officer(session, staff), "moon", "x")
    assert refused.value.code == "unknown_department"


def test_the_history_shows_what_the_citizen_was_told_in_order(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    change(sessions, staff, receipt_no, "in_progress")
    change(sessions, staff, receipt_no, "done", message="치웠어요.")
    history = client.get(f"/api/reports/{receipt_no}", headers=EN).json()["history"]
    assert [step["status"] for step in history] == ["received", "in_progress", "done"]
    assert [step["status_name"] for step in history] == ["received", "in progress", "done"]
    assert history[-1]["text"] == "It has been dealt with. 치웠어요."


# --- deadlines ----------------------------------------------------------------------------------------------------


def test_a_case_without_an_answer_past_its_deadline_is_overdue_until_staff_answer(client, sessions, staff, clock):
    receipt_no = file(client, "1001")  # due 14:00
    file(client, "2002", kind="water_leak")  # due 14:00 too, another department
    late = WEDNESDAY_10 + timedelta(hours=4, minutes=1)
    with sessions() as session:
        assert service.overdue_count(session, WEDNESDAY_10 + timedelta(hours=3)) == 0
        assert service.overdue_count(session, late) == 2
        assert service.overdue_count(session, late, department="traffic") == 1
        assert [
            case.receipt_no for case in service.list_cases(session, overdue_only=True, department="traffic", now=late)
        ] == [receipt_no]
        assert service.is_overdue(service.get_case(session, receipt_no), late)
    change(sessions, staff, receipt_no, "in_progress")
    with sessions() as session:
        assert not service.is_overdue(service.get_case(session, receipt_no), late)
        assert service.overdue_count(session, late) == 1


def test_cases_are_listed_by_status_kind_and_district(client, sessions, staff, clock):
    parking = file(client, "1001")
    leak = file(client, "2002", kind="water_leak", point=(37.8563, 126.7866))
    change(sessions, staff, leak, "done")
    with sessions() as session:
        assert [c.receipt_no for c in service.list_cases(session, status="open")] == [parking]
        assert [c.receipt_no for c in service.list_cases(session, status="closed")] == [leak]
        assert [c.receipt_no for c in service.list_cases(session, kind="water_leak")] == [leak]
        assert [c.receipt_no for c in service.list_cases(session, district="문산읍")] == [leak]
        assert service.list_cases(session, min_age_hours=1, now=WEDNESDAY_10) == []


def test_an_admin_adds_a_kind_citizens_can_then_choose(client, sessions, staff):
    with sessions() as session:
        service.add_kind(session, officer(session, staff), "smoking", "길거리 흡연", "Street smoking", "civil_affairs")
        session.commit()
        with pytest.raises(DomainError) as twice:
            service.add_kind(session, officer(session, staff), "smoking", "흡연", "Smoking", "civil_affairs")
        assert twice.value.code == "report_kind_exists"
    codes = [kind["code"] for kind in client.get("/api/reports/kinds", headers=KO).json()]
    assert codes[-2:] == ["smoking", "other"]


# --- rating -------------------------------------------------------------------------------------------------------


def rate(client, receipt_no: str, user: str, score, headers=KO, **extra):
    body = {"channel": "telegram", "channel_user_id": user, "score": score, **extra}
    return client.post(f"/api/reports/{receipt_no}/rating", json=body, headers=headers)


def test_a_reporter_rates_a_done_case_once(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    file(client, "2002")  # merged: also a reporter
    not_done = rate(client, receipt_no, "1001", 5)
    assert (not_done.status_code, not_done.json()["code"]) == (409, "report_not_done")
    change(sessions, staff, receipt_no, "done")
    rated = rate(client, receipt_no, "2002", 4, comment="빨리 처리해 주셨어요")
    assert rated.status_code == 200
    assert rated.json()["rating"] == 4
    again = rate(client, receipt_no, "1001", 1, headers=EN)
    assert (again.status_code, again.json()["code"]) == (409, "already_rated")
    assert "already been rated" in again.json()["detail"]
    listed = client.get("/api/reports", params={"channel": "telegram", "channel_user_id": "1001"}, headers=KO)
    assert listed.json()[0]["rated"] is True


def test_only_a_reporter_may_rate_and_only_from_one_to_five(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    change(sessions, staff, receipt_no, "done")
    stranger = rate(client, receipt_no, "9999", 5)
    assert (stranger.status_code, stranger.json()["code"]) == (403, "not_your_report")
    for score in (0, 6):
        out_of_range = rate(client, receipt_no, "1001", score)
        assert (out_of_range.status_code, out_of_range.json()["code"]) == (422, "invalid_rating")
    unknown = rate(client, "PJ-2026-424242", "1001", 5)
    assert unknown.status_code == 404
    with sessions() as session:
        assert service.get_case(session, receipt_no).rating is None
        assert session.scalar(select(ReportEvent).where(ReportEvent.action == "rated")) is None


def test_a_comment_after_the_score_is_added_once_and_never_changes_the_score(client, sessions, staff, clock):
    receipt_no = file(client, "1001")
    change(sessions, staff, receipt_no, "done")
    assert rate(client, receipt_no, "1001", 5).status_code == 200
    commented = rate(client, receipt_no, "1001", 5, comment="빨리 와 주셨어요")
    assert commented.status_code == 200 and commented.json()["rating"] == 5
    other_score = rate(client, receipt_no, "1001", 1, comment="다시 생각하니 별로")
    again = rate(client, receipt_no, "1001", 5, comment="두 번째 의견")
    assert [r.json()["code"] for r in (other_score, again)] == ["already_rated", "already_rated"]
    with sessions() as session:
        case = session.scalar(select(ReportCase).where(ReportCase.receipt_no == receipt_no))
        assert (case.rating, case.rating_comment) == (5, "빨리 와 주셨어요")
