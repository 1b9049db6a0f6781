"""The named permissions admins grant to staff for sensitive actions, and the check services make before one."""

from api.core.errors import DomainError
from api.staff.models import StaffUser

TRANSCRIPTS_READ = "transcripts.read"
NOTICES_PUBLISH = "notices.publish"
PERSONAL_NOTICES_SEND = "personal_notices.send"
PERSONAL_NOTICES_CERTIFICATE = "personal_notices.certificate"
RUNS_CLOSE = "runs.close"
MANIFESTS_REVEAL = "manifests.reveal"
PAPER_MAIL_EXPORT = "paper_mail.export"

# What each one allows, in the words of the admin page. Admins have all of them.
PERMISSIONS = {
    TRANSCRIPTS_READ: "맡지 않은 대화 기록 열람·검색",
    NOTICES_PUBLISH: "공지 게시 (구독자 전체에게 발송)",
    PERSONAL_NOTICES_SEND: "공인알림 발송",
    PERSONAL_NOTICES_CERTIFICATE: "공인알림 수신 증명서 발급",
    RUNS_CLOSE: "투어 회차 판매 마감",
    MANIFESTS_REVEAL: "탑승 명단 개인정보 보기",
    PAPER_MAIL_EXPORT: "종이 우편 명단 내려받기",
}


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


def require(user: StaffUser, permission: str) -> None:
    """Refuses, before anything changes, a staff member whom no admin granted this permission."""
    if not user.may(permission):
        raise PermissionDenied(
            f"You need the {permission} permission for this; ask an admin.",
            f"이 작업에는 “{PERMISSIONS[permission]}” 권한이 필요해요. 관리자에게 요청해 주세요.",
        )
