"""The citizen reports (생활불편 신고) in the staff console: each department's inbox and map, one case with its
photos and masked contact, the staff's actions reaching the citizen, the admins' kinds, and the counts on the
dashboard and in the daily report; all at a set clock (Tuesday 1 December 2026, 15:00 in Seoul)."""

import io
import re
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from PIL import Image
from sqlalchemy import select

from api.automation import reports as daily_reports
from api.conversations.models import OutboxMessage
from api.conversations.service import get_or_create_conversation
from api.core.settings import Settings
from api.reports import messaging, photos, service
from api.reports.models import ReportCase, ReportKind
from api.staff.models import AuditEntry, StaffUser
from api.web import cases as case_pages
from common.clock import SEOUL
from tests.api.test_console import ADMIN, OTHER, STAFF, _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts

pytestmark = pytest.mark.clock("2026-12-01T15:00:00+09:00")
HANGUL = re.compile(r"[가-힣]")
# Traffic answers within 4 working hours: filed at 9:30 it was due at 13:30, overdue by 15:00; filed at 14:30 it
# is due tomorrow morning.
EARLY, LATE = datetime(2026, 12, 1, 9, 30, tzinfo=SEOUL), datetime(2026, 12, 1, 14, 30, tzinfo=SEOUL)
GEUMCHON = (37.7664, 126.7747)  # 금촌역
MUNSAN = (37.8546, 126.7878)  # 문산역


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return settings.model_copy(update={"report_photos_dir": tmp_path / "photos"})


def _file(
    app,
    user: str,
    kind: str = "illegal_parking",
    *,
    at: datetime = LATE,
    point: tuple[float, float] | None = None,
    place: str | None = None,
    language: str = "ko",
    phone: str | None = None,
    photo_ids: tuple[int, ...] = (),
    description: str = "차가 인도를 막고 있어요",
) -> str:
    """A citizen's report filed through the reports service; its receipt number."""
    with app.state.sessionmaker() as session:
        conversation = get_or_create_conversation(session, "telegram", user)
        conversation.language = language
        session.commit()
        report = service.NewReport(
            channel="telegram",
            channel_user_id=user,
            kind=kind,
            description=description,
            place=place,
            latitude=point[0] if point else None,
            longitude=point[1] if point else None,
            photo_ids=list(photo_ids),
            callback_phone=phone,
            consent_text=messaging.consent_text(30, language) if phone else None,
        )
        return service.file_report(session, report, settings=app.state.settings, now=at).case.receipt_no


def _photo(app, user: str) -> int:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    data = io.BytesIO()
    image.save(data, format="PNG")
    with app.state.sessionmaker() as session:
        return photos.store_photo(session, "telegram", user, data.getvalue(), settings=app.state.settings).id


def _case(app, receipt_no: str) -> ReportCase:
    with app.state.sessionmaker() as session:
        case = service.get_case(session, receipt_no)
        session.expunge_all()
        return case


def _audit(app, action: str) -> list[tuple[str, str, str]]:
    with app.state.sessionmaker() as session:
        rows = session.execute(
            select(StaffUser.email, AuditEntry.subject, AuditEntry.reason)
            .join(StaffUser, StaffUser.id == AuditEntry.user_id)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def _outbox(app, receipt_no: str) -> list[OutboxMessage]:
    with app.state.sessionmaker() as session:
        messages = [
            m for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)) if receipt_no in m.message.text
        ]
        for message in messages:
            session.expunge(message.message)
        return messages


def _rows(page: str) -> list[tuple[str, str]]:
    """The inbox's rows in order: (receipt number, overdue)."""
    return re.findall(r'data-testid="case-row" data-receipt-no="([^"]+)" data-overdue="(true|false)"', page)


def _post(browser: TestClient, csrf: str, path: str, **data) -> object:
    return browser.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


# --- the inbox ----------------------------------------------------------------------------------------------


def test_staff_see_a_departments_open_cases_with_the_overdue_one_first_in_red_and_counted(app):
    late = _file(app, "late", at=LATE, place="금촌역")
    early = _file(app, "early", at=EARLY, place="문산역")
    other_department = _file(app, "lamp", "streetlight", at=EARLY, place="운정역")
    browser, _ = _signed_in(app, STAFF)

    page = browser.get("/console/cases?department=traffic")
    assert page.status_code == 200
    assert _rows(page.text) == [(early, "true"), (late, "false")]  # overdue first, then the oldest
    assert other_department not in page.text
    assert 'data-testid="overdue-count">기한 넘김 1건<' in page.text
    assert page.text.count('data-testid="overdue-badge"') == 1
    row = page.text.split(f'data-receipt-no="{early}"')[1].split("</tr>")[0]
    assert "불법 주정차" in row and "문산역" in row and "접수" in row and "12월 1일 (화) 13:30" in row
    # Each department's tab counts its overdue cases: roads answers within 8 working hours, by 17:30.
    tabs = page.text.split('data-testid="department-tabs"')[1].split("</nav>")[0]
    assert re.search(
        r'data-department="traffic">교통행정과 <span class="badge warn" data-testid="department-overdue">1<', tabs
    )
    assert 'data-department="roads">도로관리과</a>' in tabs
    everything = browser.get("/console/cases")
    assert {receipt for receipt, _ in _rows(everything.text)} == {late, early, other_department}


def test_the_inbox_filters_by_status_kind_district_and_age(app):
    parking = _file(app, "p1", at=EARLY, point=GEUMCHON)
    fresh = _file(app, "p2", at=LATE, point=MUNSAN)
    vehicle = _file(app, "v1", "abandoned_vehicle", at=EARLY, point=MUNSAN, description="몇 달째 서 있는 차")
    browser, csrf = _signed_in(app, STAFF)
    assert (
        _post(browser, csrf, f"/console/cases/{vehicle}/status", status="rejected", reason="사유지예요").status_code
        == 303
    )

    def shown(query: str) -> set[str]:
        page = browser.get(f"/console/cases?department=traffic&{query}")
        assert page.status_code == 200
        return {receipt for receipt, _ in _rows(page.text)}

    assert shown("") == {parking, fresh}  # open cases by default
    assert shown("status=closed") == {vehicle}
    assert shown("status=rejected") == {vehicle}
    assert shown("status=open&kind=abandoned_vehicle") == set()
    assert shown("status=closed&kind=abandoned_vehicle") == {vehicle}
    district = _case(app, fresh).district
    assert district and shown(f"district={district}") == {fresh}
    assert shown("age=4") == {parking}  # filed more than 4 hours ago
    assert shown("overdue=1") == {parking}
    # A filter value that means nothing falls back to showing the open cases, never an error.
    assert shown("status=sleeping&kind=%3Cscript%3E&age=999&district=nowhere") == {parking, fresh}


def test_the_map_draws_each_open_case_with_a_point_as_a_dot_that_opens_it_and_lists_the_others(app):
    mapped = _file(app, "m1", at=EARLY, point=GEUMCHON)
    unmapped = _file(app, "m2", place="문산역")
    closed = _file(app, "m3", "noise", point=MUNSAN, description="밤마다 시끄러워요")
    browser, csrf = _signed_in(app, STAFF)
    _post(browser, csrf, f"/console/cases/{closed}/status", status="done", message="확인했어요")

    page = browser.get("/console/cases/map")
    assert page.status_code == 200
    svg = page.text.split('data-testid="cases-map">')[1].split("</figure>")[0]
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert f'href="/console/cases/{mapped}"' in svg and "기한 넘김" in svg  # overdue: ringed and said on hover
    assert "금촌역" in svg and "문산읍" in svg  # reference places and districts, labelled
    assert closed not in svg and unmapped not in svg
    unmapped_list = page.text.split('data-testid="unmapped-cases"')[1].split("</ul>")[0]
    assert unmapped in unmapped_list and "문산역" in unmapped_list
    # Drawn here: no tiles, no map service, nothing fetched from elsewhere.
    assert re.findall(r"https?://[^\s\"'<>]+", page.text) == ["http://www.w3.org/2000/svg"]
    assert "<img" not in svg and "<image" not in svg
    traffic_only = browser.get("/console/cases/map?department=roads")
    assert mapped not in traffic_only.text


# --- one case -----------------------------------------------------------------------------------------------


def test_opening_a_case_shows_the_number_masked_and_the_channel_user_masked_and_is_audited(app):
    receipt = _file(app, "123456789", point=GEUMCHON, phone="010-1234-5678")
    browser, _ = _signed_in(app, STAFF)

    page = browser.get(f"/console/cases/{receipt}")
    assert page.status_code == 200
    assert 'data-testid="case-phone">010-****-5678<' in page.text and "1234-5678" not in page.text
    assert "123456789" not in page.text and 'data-testid="reporter-id">12*****89<' in page.text
    assert "텔레그램" in page.text and "차가 인도를 막고 있어요" in page.text
    assert 'data-testid="case-map"' in page.text and "<svg" in page.text.split('data-testid="case-map"')[1]
    assert page.headers["cache-control"] == "no-store"
    assert _audit(app, "report.view") == [(STAFF, f"report:{receipt}", "")]
    # A malformed or unknown receipt number is a page saying so, not an error.
    for wrong in ("PJ-2026-999999", "nonsense", "PJ-2026-00000%27"):
        assert browser.get(f"/console/cases/{wrong}").status_code == 404


def test_showing_the_number_needs_a_reason_and_the_reason_is_audited(app):
    receipt = _file(app, "caller", point=GEUMCHON, phone="01012345678")
    browser, csrf = _signed_in(app, OTHER)

    refused = _post(browser, csrf, f"/console/cases/{receipt}/reveal", reason="  ")
    assert refused.status_code == 422
    assert "전화번호를 보는 이유를 적어 주세요." in refused.text and "010-1234-5678" not in refused.text
    assert _audit(app, "report.reveal") == []

    shown = _post(browser, csrf, f"/console/cases/{receipt}/reveal", reason="현장 위치 확인 전화")
    assert shown.status_code == 200
    assert 'data-testid="case-phone">010-1234-5678<' in shown.text
    assert _audit(app, "report.reveal") == [(OTHER, f"report:{receipt}", "현장 위치 확인 전화")]
    assert "010-****-5678" in browser.get(f"/console/cases/{receipt}").text  # masked again


def test_a_status_change_from_the_console_reaches_the_citizen_in_their_language(app):
    receipt = _file(app, "visitor", point=GEUMCHON, language="en", description="A car is blocking the pavement")
    browser, csrf = _signed_in(app, STAFF)
    page = browser.get(f"/console/cases/{receipt}")
    # The box holds the ready text for this kind and the first status offered, in the citizen's language.
    ready = messaging.canned_text("illegal_parking", "in_progress", "en")
    assert f">{escape(ready)}</textarea>" in page.text
    assert f'data-canned="{escape(messaging.canned_text("illegal_parking", "done", "en"))}"' in page.text

    changed = _post(
        browser,
        csrf,
        f"/console/cases/{receipt}/status",
        status="in_progress",
        message=ready,
        prefilled_status="in_progress",
    )
    assert changed.status_code == 303 and changed.headers["location"] == f"/console/cases/{receipt}"
    (told,) = _outbox(app, receipt)
    assert told.kind == "report_status"
    assert told.message.text.startswith(f"[{receipt} Illegal parking] We are working on it.")
    assert ready in told.message.text and not HANGUL.search(told.message.text)
    case = _case(app, receipt)
    assert case.status == "in_progress" and case.assignee_id is not None

    # Without JavaScript the box still holds the in-progress text when staff pick "done": the done text goes.
    closed = _post(
        browser, csrf, f"/console/cases/{receipt}/status", status="done", message=ready, prefilled_status="in_progress"
    )
    assert closed.status_code == 303
    done = _outbox(app, receipt)[-1]
    assert (
        messaging.canned_text("illegal_parking", "done", "en") in done.message.text and ready not in done.message.text
    )
    assert done.message.payload["buttons"]  # the rating buttons
    page = browser.get(f"/console/cases/{receipt}")
    assert 'data-status="done"' in page.text and 'data-testid="status-form"' not in page.text


def test_a_message_without_a_status_change_and_a_private_note_show_in_the_history_marked(app):
    receipt = _file(app, "chat", point=GEUMCHON)
    browser, csrf = _signed_in(app, STAFF)
    assert (
        _post(browser, csrf, f"/console/cases/{receipt}/message", text="사진을 한 장 더 보내 주세요").status_code == 303
    )
    assert _post(browser, csrf, f"/console/cases/{receipt}/note", note="차주 연락처 조회 중").status_code == 303

    (told,) = _outbox(app, receipt)
    assert told.kind == "report_message" and told.message.text.endswith("사진을 한 장 더 보내 주세요")
    assert _case(app, receipt).status == "received"
    history = browser.get(f"/console/cases/{receipt}").text.split('data-testid="case-history"')[1]
    assert re.search(
        r'data-testid="event-public"><span class="badge">시민에게</span> 사진을 한 장 더 보내 주세요', history
    )
    assert re.search(
        r'data-testid="event-private"><span class="badge warn">내부 메모</span> 차주 연락처 조회 중', history
    )
    assert "차주 연락처" not in told.message.text


def test_assigning_to_a_colleague_or_taking_it_shows_the_assignee(app):
    receipt = _file(app, "assign", point=GEUMCHON)
    browser, csrf = _signed_in(app, STAFF)
    with app.state.sessionmaker() as session:
        other_id = session.scalar(select(StaffUser.id).where(StaffUser.email == OTHER))
    assert _post(browser, csrf, f"/console/cases/{receipt}/assign", assignee_id=str(other_id)).status_code == 303
    assert 'data-testid="case-assignee">박직원<' in browser.get(f"/console/cases/{receipt}").text
    assert _case(app, receipt).status == "assigned"
    (told,) = _outbox(app, receipt)
    assert "담당자가 배정되었어요." in told.message.text

    page = browser.get(f"/console/cases/{receipt}")
    take = re.search(r'data-testid="take-form">.*?name="assignee_id" value="(\d+)"', page.text, re.S).group(1)
    assert _post(browser, csrf, f"/console/cases/{receipt}/assign", assignee_id=take).status_code == 303
    assert 'data-testid="case-assignee">이담당<' in browser.get(f"/console/cases/{receipt}").text
    wrong = _post(browser, csrf, f"/console/cases/{receipt}/assign", assignee_id="nobody")
    assert wrong.status_code == 422 and "맡을 직원을 골라 주세요." in wrong.text


def test_a_transfer_moves_the_case_to_the_other_departments_inbox(app):
    receipt = _file(app, "moved", "other", point=GEUMCHON, description="공원 벤치가 부서졌어요")
    browser, csrf = _signed_in(app, STAFF)
    assert receipt in browser.get("/console/cases?department=civil_affairs").text

    no_note = _post(browser, csrf, f"/console/cases/{receipt}/transfer", department="parks", note="")
    assert no_note.status_code == 422 and "넘기는 이유를 메모로 적어 주세요." in no_note.text
    moved = _post(browser, csrf, f"/console/cases/{receipt}/transfer", department="parks", note="공원 시설이에요")
    assert moved.status_code == 303

    assert receipt not in browser.get("/console/cases?department=civil_affairs").text
    assert receipt in browser.get("/console/cases?department=parks").text
    case = _case(app, receipt)
    assert (case.department, case.status) == ("parks", "transferred")
    (told,) = _outbox(app, receipt)
    assert "공원녹지과" in told.message.text and "공원 시설이에요" not in told.message.text  # the note stays inside


def test_rejecting_without_a_reason_is_refused_with_a_message_and_changes_nothing(app):
    receipt = _file(app, "reject", point=GEUMCHON)
    browser, csrf = _signed_in(app, STAFF)
    refused = _post(
        browser, csrf, f"/console/cases/{receipt}/status", status="rejected", message="확인해 보니", reason=" "
    )
    assert refused.status_code == 422
    assert 'data-testid="case-error">반려하는 이유를 적어 주세요. 시민에게 그대로 전해져요.<' in refused.text
    assert ">확인해 보니</textarea>" in refused.text  # what was typed is kept
    assert _case(app, receipt).status == "received" and _outbox(app, receipt) == []

    for bad in ({"status": "received"}, {"status": "done; drop table"}, {"status": ""}):
        answer = _post(browser, csrf, f"/console/cases/{receipt}/status", **bad)
        assert answer.status_code == 422 and "바꿀 상태를 골라 주세요." in answer.text
    rejected = _post(
        browser, csrf, f"/console/cases/{receipt}/status", status="rejected", reason="사유지 안의 차량이에요"
    )
    assert rejected.status_code == 303
    (told,) = _outbox(app, receipt)
    assert "반려되었어요. 사유: 사유지 안의 차량이에요" in told.message.text
    again = _post(browser, csrf, f"/console/cases/{receipt}/note", note="")
    assert again.status_code == 422 and "메모 내용을 적어 주세요." in again.text
    closed = _post(browser, csrf, f"/console/cases/{receipt}/status", status="in_progress", message="다시 볼게요")
    assert closed.status_code == 409 and "이미 종결된 신고" in closed.text


def test_without_a_session_every_case_page_sends_to_sign_in_and_a_form_without_its_token_is_refused(app):
    receipt = _file(app, "anon", point=GEUMCHON, phone="010-1234-5678")
    anonymous = TestClient(app)
    for method, path in (
        ("GET", "/console/cases"),
        ("GET", "/console/cases/map"),
        ("GET", f"/console/cases/{receipt}"),
        ("GET", "/console/cases/photos/1"),
        ("POST", f"/console/cases/{receipt}/reveal"),
        ("POST", f"/console/cases/{receipt}/status"),
        ("POST", f"/console/cases/{receipt}/assign"),
        ("POST", f"/console/cases/{receipt}/transfer"),
        ("POST", f"/console/cases/{receipt}/note"),
        ("POST", f"/console/cases/{receipt}/message"),
        ("GET", "/console/admin/report-kinds"),
        ("POST", "/console/admin/report-kinds"),
    ):
        response = anonymous.request(method, path, data={"csrf_token": "x", "reason": "r"}, follow_redirects=False)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/console/sign-in?next="), path
    browser, _ = _signed_in(app, STAFF)
    forged = browser.post(f"/console/cases/{receipt}/status", data={"csrf_token": "forged", "status": "in_progress"})
    assert forged.status_code == 403 and "보안 토큰" in forged.text
    assert _case(app, receipt).status == "received"


def test_a_cases_photo_is_served_to_staff_unaltered_uncached_and_audited_and_anything_else_is_404(app):
    photo_id = _photo(app, "snap")
    unfiled = _photo(app, "other")  # sent, but never part of a report
    receipt = _file(app, "snap", point=GEUMCHON, photo_ids=(photo_id,))
    browser, _ = _signed_in(app, STAFF)

    page = browser.get(f"/console/cases/{receipt}")
    assert f'src="/console/cases/photos/{photo_id}"' in page.text
    served = browser.get(f"/console/cases/photos/{photo_id}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert "no-store" in served.headers["cache-control"] and served.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(served.content)).size == (40, 30)
    assert (STAFF, f"report:{receipt}", f"photo:{photo_id}") in _audit(app, "report.photo")

    for missing in (unfiled, 999999, 0, "-1", "1e3", "99999999999999999999"):
        answer = browser.get(f"/console/cases/photos/{missing}")
        assert answer.status_code == 404 and "사진을 찾을 수 없어요." in answer.text, missing
    assert browser.get("/console/cases/photos/..%2F..%2Fpaju.db").status_code == 404
    with app.state.sessionmaker() as session:
        stored = photos.photo_path(session.get(photos.ReportPhoto, photo_id), app.state.settings)
    stored.unlink()  # the file is gone from the store (deleted, or another machine's disk)
    assert browser.get(f"/console/cases/photos/{photo_id}").status_code == 404


# --- kinds, the dashboard and the daily report --------------------------------------------------------------


def test_an_admin_adds_a_report_kind_and_a_staff_member_may_not(app):
    admin, admin_csrf = _signed_in(app, ADMIN)
    kind = {
        "code": "street_stall",
        "name_ko": "노점 불법 영업",
        "name_en": "Illegal street stall",
        "department": "urban_design",
    }
    added = _post(admin, admin_csrf, "/console/admin/report-kinds", **kind)
    assert added.status_code == 303
    page = admin.get("/console/admin/report-kinds")
    assert 'data-code="street_stall"' in page.text and "도시경관과" in page.text
    again = _post(admin, admin_csrf, "/console/admin/report-kinds", **kind)
    assert again.status_code == 409 and "유형이 이미 있어요." in again.text
    bad = _post(admin, admin_csrf, "/console/admin/report-kinds", **(kind | {"code": "노점"}))
    assert bad.status_code == 422 and 'value="노점 불법 영업"' in bad.text

    staff, csrf = _signed_in(app, STAFF)
    assert staff.get("/console/admin/report-kinds").status_code == 403
    assert _post(staff, csrf, "/console/admin/report-kinds", **(kind | {"code": "sneaky"})).status_code == 403
    with app.state.sessionmaker() as session:
        assert session.get(ReportKind, "sneaky") is None
        assert session.get(ReportKind, "street_stall").department == "urban_design"


def test_the_dashboard_counts_open_and_overdue_reports(app):
    _file(app, "d1", at=EARLY, point=GEUMCHON)
    _file(app, "d2", at=LATE, point=MUNSAN)
    done = _file(app, "d3", "noise", at=EARLY, point=MUNSAN, description="시끄러워요")
    browser, csrf = _signed_in(app, STAFF)
    _post(browser, csrf, f"/console/cases/{done}/status", status="done")
    page = browser.get("/console/dashboard")
    assert page.status_code == 200
    assert 'data-testid="reports-open">2<' in page.text and 'data-testid="reports-overdue">1<' in page.text


def test_the_daily_report_counts_open_and_overdue_reports_per_department(app):
    _file(app, "r1", at=EARLY, point=GEUMCHON)
    _file(app, "r2", at=LATE, point=MUNSAN)
    _file(app, "r3", "streetlight", at=EARLY, point=MUNSAN, description="가로등이 꺼졌어요")
    with app.state.sessionmaker() as session:
        figures = daily_reports.daily_figures(session, date(2026, 12, 1))
    # As the day ended: the traffic case of 9:30 was due at 13:30, the one of 14:30 is due at 9:30 tomorrow;
    # the streetlight (8 working hours) was due at 17:30.
    by_department = figures["reports"]["by_department"]
    assert by_department == {"traffic": {"open": 2, "overdue": 1}, "roads": {"open": 1, "overdue": 1}}
    assert (figures["reports"]["open"], figures["reports"]["overdue"]) == (3, 2)
    text = daily_reports.report_text(figures)
    assert "생활불편 신고: 열린 신고 3건 · 답변 기한 넘김 2건" in text
    assert "- 교통행정과: 열린 신고 2건, 기한 넘김 1건" in text and "- 도로관리과: 열린 신고 1건, 기한 넘김 1건" in text


def test_an_old_overdue_case_stays_in_the_inbox_however_many_newer_cases_come_after_it(app, monkeypatch):
    monkeypatch.setattr(case_pages, "INBOX_LIMIT", 1)
    early = _file(app, "old", at=EARLY, place="문산역")
    late = _file(app, "new", at=LATE, place="금촌역")
    browser, _ = _signed_in(app, STAFF)
    page = browser.get("/console/cases")
    assert _rows(page.text) == [(early, "true"), (late, "false")]
    assert "최근 신고 1건과 기한을 넘긴 신고만 보여요." in page.text
