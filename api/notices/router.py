"""HTTP routes of the notices domain: public notices and search; staff publishing; subscriptions and certified
personal notices for the action server and the gateway (service token)."""

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from api.core.ids import Id
from api.core.rate_limits import RateLimits, RateLimitsDep
from api.deps import LanguageDep, ServiceCallDep, ServiceDep, SessionDep, SmsDep, StaffDep
from api.identity import service as identity
from api.notices import personal, service
from api.notices.categories import CATEGORIES
from api.notices.models import Notice, PersonalNotice
from api.notices.schemas import (
    Category,
    CategoryOut,
    ChannelUser,
    CodeIn,
    CodeSent,
    NoticeCreate,
    NoticeIn,
    NoticeOut,
    PersonalNoticeContent,
    PersonalNoticeIn,
    PersonalNoticeListed,
    PersonalNoticeStatus,
    PhoneLinked,
    PhoneLinkStart,
    Published,
    SubscriptionIn,
    SubscriptionOut,
)
from api.staff import permissions
from common.masking import mask_phone

if TYPE_CHECKING:
    from api.staff.models import StaffUser

router = APIRouter(prefix="/api", tags=["notices"])


def quiet_hours(request: Request) -> service.QuietHours:
    return service.QuietHours.from_settings(request.app.state.settings)


QuietDep = Annotated[service.QuietHours, Depends(quiet_hours)]


def notice_out(notice: Notice, language: str) -> NoticeOut:
    return NoticeOut(
        id=notice.id,
        category=notice.category,
        category_name=service.category_name(notice.category, language),
        department=notice.department,
        title=notice.title,
        summary=service.summary_of(notice),
        body=notice.body,
        title_en=notice.title_en,
        summary_en=notice.summary_en,
        attachments=notice.attachments or [],
        status=notice.status,
        urgent=service.is_urgent(notice),
        published_at=notice.published_at,
        expires_at=notice.expires_at,
        updated_at=notice.updated_at,
    )


# --- public ------------------------------------------------------------------------------------------------


@router.get("/notices", response_model=list[NoticeOut])
def notices(
    session: SessionDep,
    response: Response,
    language: LanguageDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Category | None = None,
    date_from: Annotated[date | None, Query(alias="from", description="published on or after, YYYY-MM-DD")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="published on or before, YYYY-MM-DD")] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    size: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[NoticeOut]:
    """Published notices: with `q` the best matches first (Korean or English), else the newest. The total is
    in the `X-Total-Count` header."""
    found, total = service.find(session, q, category, date_from, date_to, page, size)
    response.headers["X-Total-Count"] = str(total)
    return [notice_out(n, language) for n in found]


@router.get("/notices/categories", response_model=list[CategoryOut], response_model_exclude_none=True)
def categories(language: LanguageDep, service_call: ServiceCallDep) -> list[CategoryOut]:
    """The categories, named in the caller's language; the action server (service token) also gets both names and
    the words that name each category in a typed message."""
    return [
        CategoryOut(
            code=c.code,
            name=c.name(language),
            urgent=c.urgent,
            **({"name_ko": c.name_ko, "name_en": c.name_en, "words": list(c.words)} if service_call else {}),
        )
        for c in CATEGORIES.values()
    ]


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def notice(notice_id: Id, session: SessionDep, language: LanguageDep) -> NoticeOut:
    return notice_out(service.get_public(session, notice_id), language)


# --- staff -------------------------------------------------------------------------------------------------


@router.post("/notices", response_model=Published, status_code=201, tags=["staff"])
def create_notice(
    body: NoticeCreate, session: SessionDep, user: StaffDep, language: LanguageDep, quiet: QuietDep
) -> Published:
    """With `publish`, it needs the notices.publish permission: without it not even the draft is written."""
    if body.publish:
        permissions.require(user, permissions.NOTICES_PUBLISH)
    created = service.create(session, NoticeIn.model_validate(body.model_dump(exclude={"publish"})), user)
    queued = 0
    if body.publish:
        created, queued = service.publish(session, created.id, quiet, by=user)
    return Published(notice=notice_out(created, language), messages_queued=queued)


@router.patch("/notices/{notice_id}", response_model=NoticeOut, tags=["staff"])
def edit_notice(notice_id: Id, body: NoticeIn, session: SessionDep, user: StaffDep, language: LanguageDep) -> NoticeOut:
    return notice_out(service.update(session, notice_id, body), language)


@router.post("/notices/{notice_id}/publish", response_model=Published, tags=["staff"])
def publish_notice(
    notice_id: Id, session: SessionDep, user: StaffDep, language: LanguageDep, quiet: QuietDep
) -> Published:
    """Publishes and messages the category's subscribers; safe to retry (nobody gets a second message).
    Needs the notices.publish permission."""
    published, queued = service.publish(session, notice_id, quiet, by=user)
    return Published(notice=notice_out(published, language), messages_queued=queued)


@router.post("/notices/{notice_id}/withdraw", response_model=NoticeOut, tags=["staff"])
def withdraw_notice(notice_id: Id, session: SessionDep, user: StaffDep, language: LanguageDep) -> NoticeOut:
    return notice_out(service.withdraw(session, notice_id), language)


# --- subscriptions (service) -----------------------------------------------------------------------------------


def _subscription_out(subscription, language: str) -> SubscriptionOut:
    return SubscriptionOut(
        category=subscription.category,
        category_name=service.category_name(subscription.category, language),
        consented_at=subscription.consented_at,
    )


@router.get("/notice-subscriptions", response_model=list[SubscriptionOut], dependencies=[ServiceDep])
def subscriptions(
    session: SessionDep, language: LanguageDep, channel: str, channel_user_id: Annotated[str, Query(max_length=128)]
) -> list[SubscriptionOut]:
    return [_subscription_out(s, language) for s in service.subscriptions_of(session, channel, channel_user_id)]


@router.post("/notice-subscriptions", response_model=SubscriptionOut, status_code=201, dependencies=[ServiceDep])
def subscribe(body: SubscriptionIn, session: SessionDep, language: LanguageDep) -> SubscriptionOut:
    subscription = service.subscribe(session, body.channel, body.channel_user_id, body.category, body.consent_text)
    return _subscription_out(subscription, language)


@router.delete("/notice-subscriptions", response_model=list[SubscriptionOut], dependencies=[ServiceDep])
def unsubscribe(
    session: SessionDep,
    language: LanguageDep,
    channel: str,
    channel_user_id: Annotated[str, Query(max_length=128)],
    category: Category | None = None,
) -> list[SubscriptionOut]:
    """Stops one category (or every one, without `category`); answers with the subscriptions left."""
    service.unsubscribe(session, channel, channel_user_id, category)
    return [_subscription_out(s, language) for s in service.subscriptions_of(session, channel, channel_user_id)]


# --- certified personal notices: the citizen's side (service) ----------------------------------------------------


def _count_sms_code(limits: RateLimits, asking: ChannelUser, phone: str | None) -> None:
    """A code is a text message to someone's phone: a few per number, and a few per conversation asking
    (the action server asks for every citizen, so it is the conversation that counts, not its address)."""
    checks = [("sms_code_per_client", f"conversation:{asking.channel}:{asking.channel_user_id}")]
    if phone:
        checks.append(("sms_code_per_phone", phone))
    limits.hit(*checks)


@router.post("/phone-links", response_model=CodeSent, status_code=202, dependencies=[ServiceDep])
def start_phone_link(body: PhoneLinkStart, session: SessionDep, sms: SmsDep, limits: RateLimitsDep) -> CodeSent:
    _count_sms_code(limits, body, identity.normalize_phone(body.phone))
    issued = identity.start_link(session, body.channel, body.channel_user_id, body.phone, sms)
    return CodeSent(phone=mask_phone(issued.phone), expires_at=issued.expires_at)


@router.post("/phone-links/confirm", response_model=PhoneLinked, dependencies=[ServiceDep])
def confirm_phone_link(body: CodeIn, session: SessionDep) -> PhoneLinked:
    link, unread = personal.confirm_link(session, body.channel, body.channel_user_id, body.code)
    return PhoneLinked(phone=mask_phone(link.phone), linked_at=link.linked_at, unread=unread)


@router.get("/personal-notices", response_model=list[PersonalNoticeListed], dependencies=[ServiceDep])
def my_personal_notices(
    session: SessionDep, channel: str, channel_user_id: Annotated[str, Query(max_length=128)]
) -> list[PersonalNoticeListed]:
    """The citizen's notices: sender and date; the title only of those already read."""
    return [
        PersonalNoticeListed(
            id=n.id,
            department=n.department,
            sent_at=n.sent_at,
            read=n.read_at is not None,
            title=n.title if n.read_at else None,
        )
        for n in personal.notices_of(session, channel, channel_user_id)
    ]


@router.post("/personal-notices/{notice_id}/code", response_model=CodeSent, status_code=202, dependencies=[ServiceDep])
def request_identity_code(
    notice_id: Id, body: ChannelUser, session: SessionDep, sms: SmsDep, limits: RateLimitsDep
) -> CodeSent:
    _count_sms_code(limits, body, personal.code_recipient(session, notice_id, body.channel, body.channel_user_id))
    issued = personal.request_identity_code(session, notice_id, body.channel, body.channel_user_id, sms)
    return CodeSent(phone=mask_phone(issued.phone), expires_at=issued.expires_at)


@router.post("/personal-notices/{notice_id}/confirm", response_model=PersonalNoticeListed, dependencies=[ServiceDep])
def confirm_identity(notice_id: Id, body: CodeIn, session: SessionDep) -> PersonalNoticeListed:
    n = personal.confirm_identity(session, notice_id, body.channel, body.channel_user_id, body.code)
    return PersonalNoticeListed(
        id=n.id, department=n.department, sent_at=n.sent_at, read=n.read_at is not None, title=None
    )


@router.post("/personal-notices/{notice_id}/read", response_model=PersonalNoticeContent, dependencies=[ServiceDep])
def read_personal_notice(notice_id: Id, body: ChannelUser, session: SessionDep) -> PersonalNoticeContent:
    """The content, for the gateway to show the citizen (it never passes through Rasa): only in the conversation
    where the identity code was entered, and only shortly after (else 403)."""
    n = personal.read(session, notice_id, body.channel, body.channel_user_id)
    return PersonalNoticeContent(
        id=n.id, department=n.department, title=n.title, body=n.body, sent_at=n.sent_at, read_at=n.read_at
    )


# --- certified personal notices: staff --------------------------------------------------------------------------


def personal_status(session: Session, notice: PersonalNotice) -> PersonalNoticeStatus:
    return PersonalNoticeStatus(
        id=notice.id,
        phone=mask_phone(notice.phone),
        department=notice.department,
        title=notice.title,
        sent_at=notice.sent_at,
        delivered_at=personal.delivered_at(session, notice),
        identity_confirmed_at=notice.identity_confirmed_at,
        read_at=notice.read_at,
        paper_mail_at=notice.paper_mail_at,
    )


@router.post("/personal-notices", response_model=PersonalNoticeStatus, status_code=201, tags=["staff"])
def send_personal_notice(
    body: PersonalNoticeIn, session: SessionDep, user: StaffDep, quiet: QuietDep
) -> PersonalNoticeStatus:
    """Needs the personal_notices.send permission."""
    return personal_status(session, personal.send(session, body, user, quiet))


@router.get("/personal-notices/{notice_id}", response_model=PersonalNoticeStatus, tags=["staff"])
def personal_notice_status(notice_id: Id, session: SessionDep, user: StaffDep) -> PersonalNoticeStatus:
    """The delivery record (phone masked); reading it is audited."""
    return personal_status(session, personal.read_record(session, notice_id, user))


def certificate_response(session: Session, notice_id: int, user: "StaffUser") -> Response:
    """The certificate as a JSON file to download."""
    document = personal.certificate(session, notice_id, user)
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="paju-notice-{notice_id}-certificate.json"'},
    )


@router.get("/personal-notices/{notice_id}/certificate", tags=["staff"])
def personal_notice_certificate(notice_id: Id, session: SessionDep, user: StaffDep) -> Response:
    """Needs the personal_notices.certificate permission."""
    return certificate_response(session, notice_id, user)
