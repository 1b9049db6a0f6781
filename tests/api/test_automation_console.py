"""The automation pages of the console: the run log, run now, pause and resume, the paper-mail list and export."""

from datetime import timedelta

from sqlalchemy import select

from api.automation.models import JobRun, JobState
from api.notices.models import PersonalNotice
from api.staff.models import AuditEntry, StaffUser
from api.staff.permissions import PAPER_MAIL_EXPORT
from api.staff.service import set_permissions
from common.clock import utcnow
from tests.api.test_console import ADMIN, STAFF, _signed_in
from tests.api.test_console import app as app  # the fixture with the staff accounts


def test_an_admin_runs_a_job_now_and_sees_it_in_the_run_log(app):
    browser, csrf = _signed_in(app, ADMIN)
    page = browser.get("/console/admin/jobs")
    assert page.status_code == 200 and 'data-job="tour_reminders"' in page.text

    response = browser.post("/console/admin/jobs/paper_mail/run", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    with app.state.sessionmaker() as session:
        run = session.scalar(select(JobRun))
        assert (run.job, run.trigger, run.status, run.counts) == ("paper_mail", "manual", "succeeded", {"flagged": 0})
    assert 'data-job="paper_mail" data-status="succeeded"' in browser.get("/console/admin/jobs").text

    assert browser.post("/console/admin/jobs/nope/run", data={"csrf_token": csrf}).status_code == 404
    assert browser.post("/console/admin/jobs/paper_mail/run", data={}).status_code in (400, 403)


def test_an_admin_pauses_and_resumes_a_job_and_staff_may_not(app):
    browser, csrf = _signed_in(app, ADMIN)
    browser.post("/console/admin/jobs/retention/paused", data={"csrf_token": csrf, "paused": "true"})
    with app.state.sessionmaker() as session:
        assert session.get(JobState, "retention").paused
    assert "다시 시작" in browser.get("/console/admin/jobs").text
    browser.post("/console/admin/jobs/retention/paused", data={"csrf_token": csrf, "paused": "false"})
    with app.state.sessionmaker() as session:
        assert not session.get(JobState, "retention").paused

    staff, staff_csrf = _signed_in(app)
    assert staff.get("/console/admin/jobs").status_code == 403
    assert staff.post("/console/admin/jobs/retention/run", data={"csrf_token": staff_csrf}).status_code == 403


def test_staff_see_notices_flagged_for_paper_mail_masked_and_export_them_for_the_mailing_office(app):
    with app.state.sessionmaker() as session:
        session.add(
            PersonalNotice(
                phone="01012345678",
                recipient_name="김민수",
                department="세무과",
                title="지방세 고지",
                body="본문",
                content_sha256="0" * 64,
                sent_at=utcnow() - timedelta(days=5),
                paper_mail_at=utcnow(),
            )
        )
        session.commit()
    staff, _ = _signed_in(app)
    page = staff.get("/console/paper-mail")
    assert "김*수" in page.text and "010-****-5678" in page.text and "01012345678" not in page.text

    refused = staff.get("/console/paper-mail.csv")
    assert refused.status_code == 403 and "“종이 우편 명단 내려받기” 권한이 필요해요" in refused.text
    assert "김민수" not in refused.text
    with app.state.sessionmaker() as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["view_paper_mail"]
        admin = session.scalar(select(StaffUser).where(StaffUser.email == ADMIN))
        staff_id = session.scalar(select(StaffUser.id).where(StaffUser.email == STAFF))
        set_permissions(session, admin, staff_id, [PAPER_MAIL_EXPORT])

    export = staff.get("/console/paper-mail.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("notice_id,recipient_name,phone")
    assert "김민수,010-1234-5678,세무과,지방세 고지" in lines[1]  # hyphenated: a spreadsheet keeps the 0
    with app.state.sessionmaker() as session:
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "export_paper_mail"))
