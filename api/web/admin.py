"""Admin pages of the console: staff accounts (create, deactivate, reset password, role, permissions, second
factor), the audit log, and canned replies."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.conversations import handoffs
from api.conversations.departments import DEPARTMENTS, department_names
from api.core.errors import DomainError
from api.core.ids import Id
from api.deps import SessionDep
from api.staff import second_factor
from api.staff import service as staff_service
from api.staff.permissions import PERMISSIONS
from api.web.auth import AdminForm, AdminPage
from api.web.pages import error_page, render

router = APIRouter(prefix="/console/admin", include_in_schema=False)
USERS = "/console/admin/users"
CANNED = "/console/admin/canned"
Text = Annotated[str, Form(max_length=handoffs.MAX_TEXT_CHARS)]
# The audit log's actions in the words of the page; an action not listed shows its code.
AUDIT_ACTIONS = {
    "view_conversation": "대화 열람",
    "stream_conversation": "대화 실시간 보기",
    "reveal_conversation": "대화 개인정보 보기",
    "search_conversations": "대화 찾기",
    "view_manifest": "탑승 명단 열람",
    "reveal_manifest": "탑승 명단 개인정보 보기",
    "close_run": "회차 판매 마감",
    "publish_notice": "공지 게시",
    "send_personal_notice": "공인알림 발송",
    "view_personal_notices": "공인알림 목록 열람",
    "view_personal_notice": "공인알림 기록 열람",
    "download_certificate": "수신 증명서 발급",
    "view_paper_mail": "종이 우편 명단 열람",
    "export_paper_mail": "종이 우편 명단 내려받기",
    "create_account": "계정 만들기",
    "activate_account": "계정 다시 사용",
    "deactivate_account": "계정 비활성화",
    "reset_password": "비밀번호 재설정",
    "set_role": "역할 변경",
    "grant_permission": "권한 부여",
    "revoke_permission": "권한 회수",
    "reset_second_factor": "2단계 인증 초기화",
    "upload_dataset": "데이터셋 올리기",
    "correct_dataset_shape": "데이터셋 구조 고치기",
    "report.view": "생활불편 신고 열람",
    "report.reveal": "신고 연락처 보기",
    "report.photo": "신고 사진 열람",
    "set_department": "부서 지정",
    "assign_conversation": "대화 담당자 지정",
    "note_conversation": "대화 내부 메모",
    "label_conversation": "대화 라벨 붙이기",
    "unlabel_conversation": "대화 라벨 떼기",
}


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    context = {
        "signed": signed,
        "users": staff_service.list_users(session),
        "roles": staff_service.ROLES,
        "permissions": PERMISSIONS,
        "enrolled": second_factor.enrolled,
        "totp_required": request.app.state.settings.admin_totp_required,
        "departments": department_names("ko"),
    }
    return render(request, "admin_users.html", context)


@router.post("/users/{user_id}/department")
def set_department(
    request: Request,
    user_id: Id,
    session: SessionDep,
    signed: AdminForm,
    department: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Empty: the person takes any department's requests."""
    try:
        staff_service.set_department(session, signed.user, user_id, department or None, DEPARTMENTS)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/permissions")
def set_permissions(
    request: Request,
    user_id: Id,
    session: SessionDep,
    signed: AdminForm,
    permission: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The form sends the permissions ticked; the ones left unticked are taken back."""
    try:
        staff_service.set_permissions(session, signed.user, user_id, permission or [])
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/second-factor/reset")
def reset_second_factor(request: Request, user_id: Id, session: SessionDep, signed: AdminForm) -> Response:
    try:
        staff_service.reset_second_factor(session, signed.user, user_id)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    signed: AdminPage,
    # Empty for everyone; ASCII digits only, so no other digit (², ٣) reaches int().
    user_id: Annotated[str, Query(max_length=9, pattern="^[0-9]*$")] = "",
    action: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """Who read or did what, newest first, of one staff member and one action when chosen."""
    staff_id = int(user_id) if user_id else None
    entries = staff_service.audit_log(session, staff_id, action or None)
    context = {
        "signed": signed,
        "entries": entries,
        "users": staff_service.list_users(session),
        "actions": {a: AUDIT_ACTIONS.get(a, a) for a in staff_service.audited_actions(session)},
        "labels": AUDIT_ACTIONS,
        "user_id": staff_id,
        "action": action,
    }
    return render(request, "admin_audit.html", context)


@router.post("/users")
def create_user(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=60)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=8)] = "staff",
    department: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        user = staff_service.create_user(session, email, name, password, role)
        if department:
            staff_service.set_department(session, signed.user, user.id, department, DEPARTMENTS)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    staff_service.audit(session, signed.user, "create_account", f"staff:{user.id}", role)
    session.commit()
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/active")
def set_active(
    request: Request,
    user_id: Id,
    session: SessionDep,
    signed: AdminForm,
    active: Annotated[bool, Form()] = False,
) -> Response:
    try:
        staff_service.set_active(session, signed.user, user_id, active)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: Id,
    session: SessionDep,
    signed: AdminForm,
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        staff_service.reset_password(session, signed.user, user_id, password)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.post("/users/{user_id}/role")
def set_role(
    request: Request,
    user_id: Id,
    session: SessionDep,
    signed: AdminForm,
    role: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        staff_service.set_role(session, signed.user, user_id, role)
    except DomainError as error:
        return error_page(request, signed, error, USERS)
    return RedirectResponse(USERS, status_code=303)


@router.get("/canned", response_class=HTMLResponse)
def canned_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    return render(request, "admin_canned.html", {"signed": signed, "canned": handoffs.canned_replies(session)})


@router.post("/canned")
def add_canned(
    request: Request, session: SessionDep, signed: AdminForm, title: Text = "", text_ko: Text = "", text_en: Text = ""
) -> Response:
    try:
        handoffs.save_canned_reply(session, title, text_ko, text_en)
    except DomainError as error:
        return error_page(request, signed, error, CANNED)
    return RedirectResponse(CANNED, status_code=303)


@router.post("/canned/{canned_reply_id}")
def change_canned(
    request: Request,
    canned_reply_id: Id,
    session: SessionDep,
    signed: AdminForm,
    title: Text = "",
    text_ko: Text = "",
    text_en: Text = "",
) -> Response:
    try:
        handoffs.save_canned_reply(session, title, text_ko, text_en, canned_reply_id)
    except DomainError as error:
        return error_page(request, signed, error, CANNED)
    return RedirectResponse(CANNED, status_code=303)


@router.post("/canned/{canned_reply_id}/delete")
def delete_canned(request: Request, canned_reply_id: Id, session: SessionDep, signed: AdminForm) -> Response:
    try:
        handoffs.delete_canned_reply(session, canned_reply_id)
    except DomainError as error:
        return error_page(request, signed, error, CANNED)
    return RedirectResponse(CANNED, status_code=303)
