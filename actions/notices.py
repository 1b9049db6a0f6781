"""Actions of the notices conversation: latest notices and search as cards, a notice in full, subscriptions by
category with recorded consent, and certified personal notices opened only after a one-time code.

Which notices match, who may read what and whether a code is right are the api's to say; these actions
pick the words out of the message, call the api and lay out its answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiClient, ApiProblem, ApiRefused
from actions.base import ApiAction, ApiCaller, FormValidation, entity, language_of, pick
from actions.cards import card, link_button
from actions.vocabulary import NoticeCategory, notice_categories
from common import confidential
from common.clock import SEOUL
from common.masking import mask_phone
from common.payloads import payload

ALL = "all"
ALL_WORDS = re.compile(r"전부|모두|전체|다\s*(?:그만|해지|취소)|\ball\b", re.IGNORECASE)
# What a search request wraps around its keyword ("주차 관련 공지 찾아줘", "find notices about road works").
SEARCH_FILLER = re.compile(
    r"공지\s*사항|공지|알림|소식|관련된|관련|에\s*관한|에\s*대한|관해서|대해서|찾아\s*(?:줘|주세요|줄래요?|봐|볼래)"
    r"|검색\s*(?:해\s*(?:줘|주세요|줄래요?))?|알려\s*(?:줘|주세요|줄래요?)|보여\s*(?:줘|주세요)"
    r"|있(?:어요|어|나요|니|을까요|는지)|올라온\s*거|얘기|이야기|내용|좀|혹시|뭐|"
    r"\b(?:search(?:\s+for)?|find|look\s+up|show(?:\s+me)?|any|notices?|announcements?|news|about|regarding"
    r"|for|on|the|a|an|please|is\s+there|are\s+there|city|paju)\b",
    re.IGNORECASE,
)
# Particles left on their own once the words around them are gone ("공지사항에서" → "에서").
LONE_PARTICLES = frozenset(("에서", "에", "의", "을", "를", "은", "는", "이", "가", "로", "으로", "도", "중", "중에"))
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# Refusals that end a code form: a new code has to be asked for.
CODE_DEAD_ENDS = {"code_locked", "code_expired", "code_not_requested", "phone_not_linked", "personal_notice_not_found"}
NOTICE_SLOTS = ("notice_query",)
LINK_SLOTS = ("link_phone", "link_code", "phone_link_needed")
UNLOCK_SLOTS = ("otp_code", "identity_code_sent", "personal_notice_id")


def category_in(tracker: Tracker, categories: dict[str, NoticeCategory]) -> str | None:
    """The category a button carries, or one named in the typed message."""
    mention = entity(tracker, "notice_category")
    if mention and mention.get("value") in (*categories, ALL):
        return mention["value"]
    text = (tracker.latest_message or {}).get("text") or ""
    if text.startswith("/"):
        return None
    lowered = text.lower()
    for category in categories.values():
        # English words at a word's start ("roads", not "broad"); Korean anywhere, particles glued on.
        if any(re.search(rf"\b{word}", lowered) if word.isascii() else word in lowered for word in category.words):
            return category.code
    return None


def search_keyword(text: str) -> str:
    """The words a search request is about, without the request around them."""
    if text.startswith("/"):
        return ""
    words = re.sub(r"[?!.,~]+", " ", SEARCH_FILLER.sub(" ", text)).split()
    return " ".join(word for word in words if word not in LONE_PARTICLES)


def code_in(text: str) -> str | None:
    match = CODE.search(re.sub(r"[\s-]", "", str(text or "")))
    return match.group(1) if match else None


def format_date(iso: str, language: str) -> str:
    local = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(SEOUL)
    return pick(language, f"{local.month}월 {local.day}일", f"{local:%b} {local.day}")


def category_buttons(intent: str, language: str, categories: list[NoticeCategory]) -> list[dict[str, str]]:
    return [{"title": c.name(language), "payload": payload(intent, notice_category=c.code)} for c in categories]


def read_more(notice: dict[str, Any], language: str) -> dict[str, str]:
    return {
        "title": pick(language, "자세히 보기", "Read more"),
        "payload": payload("notice_read", notice_id=str(notice["id"])),
    }


def notice_card(notice: dict[str, Any], title: str, date: str, body: str | None, language: str) -> dict[str, Any]:
    """A notice's `custom` card: what its text says, as fields."""
    fields = [
        (pick(language, "분야", "Category"), notice["category_name"]),
        (pick(language, "게시일", "Posted"), date),
        (pick(language, "담당 부서", "Department"), notice["department"]),
    ]
    return card("notice", title, fields, body)


def show_card(dispatcher: CollectingDispatcher, notice: dict[str, Any], language: str) -> None:
    """A notice as a short card: category, title, date and department, summary, and a read-more button."""
    english = language == "en"
    summary = (notice["summary_en"] or f"{notice['summary']} (Korean only)") if english else notice["summary"]
    title = (notice["title_en"] or notice["title"]) if english else notice["title"]
    date = format_date(notice["published_at"], language)
    dispatcher.utter_message(
        response="utter_notice_card",
        category=notice["category_name"],
        title=title,
        date=date,
        department=notice["department"],
        summary=summary,
        buttons=[read_more(notice, language)],
        json_message=notice_card(notice, title, date, summary, language),
    )


def response_text(domain: DomainDict, name: str, language: str, **values: Any) -> str:
    """A response's text as the citizen sees it in `language` (to record exactly what they agreed to)."""
    variations = domain.get("responses", {}).get(name, [])
    chosen = next(
        (v for v in variations if any(c.get("value") == language for c in v.get("condition") or [])),
        next((v for v in variations if not v.get("condition")), {"text": name}),
    )
    return chosen["text"].format(**values)


class ActionNoticeLatest(ApiAction):
    """The newest notices (of a category, if one is named), then category buttons to narrow down."""

    def name(self) -> str:
        return "action_notice_latest"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        categories = await notice_categories(self.api)
        category = categories.get(category_in(tracker, categories) or "")
        notices = await self.api.notices(language, category=category and category.code)
        if not notices:
            dispatcher.utter_message(response="utter_no_notices")
        else:
            dispatcher.utter_message(
                response="utter_notices_latest_in_category" if category else "utter_notices_latest",
                category=category and category.name(language),
            )
            for notice in notices:
                show_card(dispatcher, notice, language)
        others = [c for c in categories.values() if c != category]
        dispatcher.utter_message(
            response="utter_notice_narrow", buttons=category_buttons("notice_latest", language, others)
        )
        return []


class ValidateNoticeSearchForm(FormValidation):
    """The keyword: picked out of the search request, or the whole answer when it was asked for."""

    def name(self) -> str:
        return "validate_notice_search_form"

    async def validate_notice_query(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        keyword = search_keyword(str(slot_value or ""))[:100]
        return {"notice_query": keyword or None}


class ActionNoticeSearch(ApiAction):
    """The best matches for the keyword as cards; the keyword is forgotten afterwards."""

    def name(self) -> str:
        return "action_notice_search"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        query = tracker.get_slot("notice_query") or ""
        notices = await self.api.notices(language, q=query)
        if not notices:
            dispatcher.utter_message(
                response="utter_notice_search_none",
                query=query,
                buttons=[{"title": pick(language, "최신 공지 보기", "Latest notices"), "payload": "/notice_latest"}],
            )
            return [SlotSet("notice_query", None)]
        dispatcher.utter_message(response="utter_notice_search_results", query=query)
        for notice in notices:
            show_card(dispatcher, notice, language)
        return [SlotSet("notice_query", None)]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return [SlotSet("notice_query", None)]


class ActionNoticeRead(ApiAction):
    """A notice in full, from its read-more button; withdrawn or expired since the card was sent, the api says so."""

    def name(self) -> str:
        return "action_notice_read"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        mention = entity(tracker, "notice_id")
        if not mention or not str(mention.get("value", "")).isdigit():
            dispatcher.utter_message(response="utter_notice_which")
            return []
        notice = await self.api.notice(str(mention["value"]), language)
        english = language == "en"
        title = (notice["title_en"] or notice["title"]) if english else notice["title"]
        # Attachments by name in the text; each opens from its own named button, never as an address in the text.
        attachments = "".join(f"\n📎 {a['title']}" for a in notice["attachments"])
        links = [link_button(f"📎 {a['title']}", a.get("url")) for a in notice["attachments"]]
        expires = notice["expires_at"] and pick(
            language,
            f" · {format_date(notice['expires_at'], language)}까지",
            f" · until {format_date(notice['expires_at'], language)}",
        )
        date = format_date(notice["published_at"], language) + (expires or "")
        dispatcher.utter_message(
            response="utter_notice_full",
            category=notice["category_name"],
            title=title,
            department=notice["department"],
            date=date,
            summary=(notice["summary_en"] or notice["summary"]) if english else notice["summary"],
            body=notice["body"],
            attachments=attachments,
            buttons=[link for link in links if link],
            json_message=notice_card(notice, title, date, notice["body"], language),
        )
        return []


class ActionNoticeSubscribe(ApiAction):
    """Category buttons; then the consent statement; then, agreed, the subscription with that statement and time."""

    def name(self) -> str:
        return "action_notice_subscribe"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        categories = await notice_categories(self.api)
        category = categories.get(category_in(tracker, categories) or "")
        if category is None:
            buttons = category_buttons("notice_subscribe", language, list(categories.values()))
            dispatcher.utter_message(response="utter_ask_notice_subscribe_category", buttons=buttons)
            return []
        name = category.name(language)
        consent = entity(tracker, "notice_consent")
        if not consent or consent.get("value") != "yes":
            dispatcher.utter_message(
                response="utter_notice_subscribe_consent",
                category=name,
                buttons=[
                    {
                        "title": pick(language, "동의하고 받기", "Agree and subscribe"),
                        "payload": payload("notice_subscribe", notice_category=category.code, notice_consent="yes"),
                    },
                    {"title": pick(language, "받지 않기", "No, thanks"), "payload": "/deny"},
                ],
            )
            return []
        statement = response_text(domain, "utter_notice_subscribe_consent", language, category=name)
        await self.api.subscribe(tracker.sender_id, category.code, statement, language)
        dispatcher.utter_message(
            response="utter_notice_subscribed",
            category=name,
            buttons=[
                {"title": pick(language, "내 알림 구독 목록", "My subscriptions"), "payload": "/my_subscriptions"}
            ],
        )
        return []


class ActionNoticeUnsubscribe(ApiAction):
    """Stops the named category (or all); without one, offers the citizen's subscriptions as buttons."""

    def name(self) -> str:
        return "action_notice_unsubscribe"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        categories = await notice_categories(self.api)
        category = category_in(tracker, categories)
        text = (tracker.latest_message or {}).get("text") or ""
        if category is None and ALL_WORDS.search(text):
            category = ALL
        current = await self.api.subscriptions(tracker.sender_id, language)
        if not current:
            subscribe = {
                "title": pick(language, "공지 알림 받기", "Subscribe to notices"),
                "payload": "/notice_subscribe",
            }
            dispatcher.utter_message(response="utter_no_subscriptions", buttons=[subscribe])
            return []
        if category is None:
            buttons = [
                {"title": s["category_name"], "payload": payload("notice_unsubscribe", notice_category=s["category"])}
                for s in current
            ]
            if len(current) > 1:
                title = pick(language, "모두 그만 받기", "Stop them all")
                buttons.append({"title": title, "payload": payload("notice_unsubscribe", notice_category=ALL)})
            dispatcher.utter_message(response="utter_notice_unsubscribe_which", buttons=buttons)
            return []
        stopped = [s for s in current if category in (ALL, s["category"])]
        if not stopped:
            dispatcher.utter_message(response="utter_not_subscribed", category=categories[category].name(language))
            return []
        await self.api.unsubscribe(tracker.sender_id, None if category == ALL else category, language)
        names = ", ".join(s["category_name"] for s in stopped)
        dispatcher.utter_message(response="utter_notice_unsubscribed", categories=names)
        return []


class ActionMySubscriptions(ApiAction):
    def name(self) -> str:
        return "action_my_subscriptions"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        subscriptions = await self.api.subscriptions(tracker.sender_id, language)
        subscribe = {"title": pick(language, "공지 알림 받기", "Subscribe to notices"), "payload": "/notice_subscribe"}
        if not subscriptions:
            dispatcher.utter_message(response="utter_no_subscriptions", buttons=[subscribe])
            return []
        lines = [
            pick(
                language,
                f"• {s['category_name']} ({format_date(s['consented_at'], language)} 동의)",
                f"• {s['category_name']} (agreed {format_date(s['consented_at'], language)})",
            )
            for s in subscriptions
        ]
        unsubscribe = {"title": pick(language, "알림 그만 받기", "Unsubscribe"), "payload": "/notice_unsubscribe"}
        dispatcher.utter_message(
            response="utter_my_subscriptions", subscriptions="\n".join(lines), buttons=[subscribe, unsubscribe]
        )
        return []


# --- certified personal notices ----------------------------------------------------------------------------------


def open_button(notice: dict[str, Any], language: str) -> dict[str, str]:
    title = pick(language, "본인 확인하고 열기", "Confirm and open")
    return {"title": title, "payload": payload("notice_open", personal_notice_id=str(notice["id"]))}


async def list_personal_notices(
    api: ApiClient, dispatcher: CollectingDispatcher, tracker: Tracker, language: str
) -> bool:
    """Lists the citizen's certified notices; False when no phone is linked to this chat yet."""
    try:
        notices = await api.personal_notices(tracker.sender_id, language)
    except ApiRefused as refusal:
        if refusal.code == "phone_not_linked":
            return False
        raise
    if not notices:
        dispatcher.utter_message(response="utter_my_notices_none")
        return True
    unread = sum(1 for n in notices if not n["read"])
    dispatcher.utter_message(response="utter_my_notices", count=len(notices), unread=unread)
    for notice in notices:
        state = pick(language, "읽음", "read") if notice["read"] else pick(language, "안 읽음", "unread")
        dispatcher.utter_message(
            response="utter_personal_notice_item",
            department=notice["department"],
            date=format_date(notice["sent_at"], language),
            state=state,
            title=notice["title"] or pick(language, "(본인 확인 후 보여요)", "(shown once you confirm it is you)"),
            buttons=[open_button(notice, language)],
        )
    return True


class ActionMyNotices(ApiAction):
    """The citizen's certified notices, read and unread; without a linked phone, linking starts."""

    def name(self) -> str:
        return "action_my_notices"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        linked = await list_personal_notices(self.api, dispatcher, tracker, language_of(tracker))
        if not linked:
            dispatcher.utter_message(response="utter_phone_link_needed")
        return [SlotSet("phone_link_needed", not linked), SlotSet("link_phone", None), SlotSet("link_code", None)]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        forget = [SlotSet("link_phone", None), SlotSet("link_code", None)] if isinstance(problem, ApiRefused) else []
        return [SlotSet("phone_link_needed", False), *forget]


class ValidatePhoneLinkForm(ApiCaller, FormValidation):
    """The phone (a code is sent to it), then the code; a dead end fills the code slot with "failed"."""

    def name(self) -> str:
        return "validate_phone_link_form"

    async def validate_link_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        mention = entity(tracker, "phone")
        phone = mention["resolved"] if mention else str(slot_value or "")

        async def send_code() -> dict[str, Any]:
            sent = await self.api.start_phone_link(tracker.sender_id, phone, language_of(tracker))
            dispatcher.utter_message(response="utter_code_sent", phone=sent["phone"])
            return {"link_phone": phone}

        def otherwise(problem: ApiProblem) -> dict[str, Any]:
            # A refused number is asked again; without the api, the form ends.
            return (
                {"link_phone": None}
                if isinstance(problem, ApiRefused)
                else {"link_phone": phone, "link_code": "failed"}
            )

        return await self.attempt(dispatcher, send_code(), otherwise)

    async def validate_link_code(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value == "failed":
            return {"link_code": "failed"}
        code = code_in(slot_value)
        if code is None:
            dispatcher.utter_message(response="utter_invalid_code_format")
            return {"link_code": None}
        confirming = self.api.confirm_phone_link(tracker.sender_id, code, language_of(tracker))
        return await self.attempt(dispatcher, _code_ok("link_code", confirming), _code_verdict("link_code"))


class ActionPhoneLinked(ApiAction):
    """After the phone form: the notices waiting for that number, or how to try again."""

    def name(self) -> str:
        return "action_phone_linked"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        if tracker.get_slot("link_code") != "ok":
            dispatcher.utter_message(response="utter_phone_link_failed")
            return _forget(LINK_SLOTS)
        dispatcher.utter_message(response="utter_phone_linked", phone=mask_phone(tracker.get_slot("link_phone") or ""))
        await list_personal_notices(self.api, dispatcher, tracker, language_of(tracker))
        return _forget(LINK_SLOTS)

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return _forget(LINK_SLOTS)


class ActionNoticeOpen(ApiAction):
    """A certified notice's open button: a code goes to the citizen's phone, and the code form follows."""

    def name(self) -> str:
        return "action_notice_open"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        mention = entity(tracker, "personal_notice_id")
        notice_id = str(mention["value"]) if mention else tracker.get_slot("personal_notice_id")
        if not notice_id or not notice_id.isdigit():
            dispatcher.utter_message(response="utter_notice_which")
            return [SlotSet("identity_code_sent", False)]
        sent = await self.api.request_notice_code(tracker.sender_id, notice_id, language)
        dispatcher.utter_message(response="utter_identity_code_sent", phone=sent["phone"])
        return [
            SlotSet("personal_notice_id", notice_id),
            SlotSet("otp_code", None),
            SlotSet("identity_code_sent", True),
        ]

    def after_problem(self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
        return [SlotSet("identity_code_sent", False)]


class ValidateNoticeUnlockForm(ApiCaller, FormValidation):
    def name(self) -> str:
        return "validate_notice_unlock_form"

    async def validate_otp_code(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = code_in(slot_value)
        if code is None:
            dispatcher.utter_message(response="utter_invalid_code_format")
            return {"otp_code": None}
        notice_id = tracker.get_slot("personal_notice_id")
        confirming = self.api.confirm_notice_code(tracker.sender_id, notice_id, code, language_of(tracker))
        return await self.attempt(dispatcher, _code_ok("otp_code", confirming), _code_verdict("otp_code"))


class ActionShowPersonalNotice(Action):
    """After a correct code: a marked reference to the notice, which the gateway opens for this conversation.

    The content itself never comes here: Rasa's tracker store keeps every reply an action gives, so a letter
    passed through it would be kept there in full. The gateway fetches it from the api and shows it instead.
    """

    def name(self) -> str:
        return "action_show_personal_notice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        notice_id = tracker.get_slot("personal_notice_id")
        cleared = _forget(UNLOCK_SLOTS)
        if tracker.get_slot("otp_code") != "ok":
            again = {
                "title": pick(language, "인증번호 다시 받기", "Send a new code"),
                "payload": payload("notice_open", personal_notice_id=str(notice_id)),
            }
            dispatcher.utter_message(response="utter_identity_not_confirmed", buttons=[again])
            return cleared
        dispatcher.utter_message(json_message=confidential.notice_reference(notice_id, tracker.sender_id, language))
        return cleared


class ActionStopNoticeFlow(Action):
    """Leaves a notice search, phone linking or code entry; nothing is kept."""

    def name(self) -> str:
        return "action_stop_notice_flow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        dispatcher.utter_message(response="utter_notice_flow_stopped")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *_forget((*NOTICE_SLOTS, *LINK_SLOTS, *UNLOCK_SLOTS)),
        ]


def _forget(slots: tuple[str, ...]) -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in slots]


async def _code_ok(slot: str, confirming: Awaitable[Any]) -> dict[str, Any]:
    await confirming
    return {slot: "ok"}


def _code_verdict(slot: str) -> Callable[[ApiProblem], dict[str, Any]]:
    """A one-time code the api did not accept: asked again (None), or "failed" when retrying cannot help."""

    def verdict(problem: ApiProblem) -> dict[str, Any]:
        retry = isinstance(problem, ApiRefused) and problem.code not in CODE_DEAD_ENDS
        return {slot: None if retry else "failed"}

    return verdict
