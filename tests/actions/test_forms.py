"""Every form: no complaint about a slot the citizen was not asked for and did not give (issue 21: "내 공인알림 보여줘"
answered with two errors before its first question), and leaving a form for a new topic forgets its answers."""

from pathlib import Path

import pytest
import respx
import yaml
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.events import ActionReverted, ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import ValidateChangeForm, ValidateLookupForm
from actions.forms import FORM_MEMORY, ActionLeaveForm
from actions.notices import ValidateNoticeSearchForm, ValidateNoticeUnlockForm, ValidatePhoneLinkForm
from actions.reports import ValidateRatingCommentForm, ValidateReportForm
from actions.tours import ValidateBookingForm

ROOT = Path(__file__).parents[2]
DOMAIN = Domain.load(ROOT / "domain").as_dict()
FORMS = sorted(DOMAIN["forms"])
VALIDATIONS = [
    ValidateBookingForm(),
    ValidateLookupForm(),
    ValidateChangeForm(),
    ValidatePhoneLinkForm(),
    ValidateNoticeUnlockForm(),
    ValidateNoticeSearchForm(),
    ValidateReportForm(),
    ValidateRatingCommentForm(),
]


def required(form: str) -> list[str]:
    return DOMAIN["forms"][form]["required_slots"]


def opening(form: str, intent: str, text: str, entities: list | None = None, given: dict | None = None) -> Tracker:
    """The tracker Rasa hands a form's validation when the form opens: the citizen's message (with what its own
    extraction set), an action that cleared the form's slots, then the form's run with Rasa's candidates."""
    cleared = [{"event": "slot", "name": slot, "value": None} for slot in required(form)]
    candidates = {slot: None for slot in required(form)} | (given or {})
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": entities or []}},
        *({"event": "slot", "name": slot, "value": value} for slot, value in (given or {}).items()),
        {"event": "action", "name": "action_that_starts_the_form"},
        *cleared,
        {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "action", "name": form},
        *({"event": "slot", "name": slot, "value": value} for slot, value in candidates.items()),
    ]
    return Tracker(
        sender_id="web:forms-test",
        slots={"language": "ko", "requested_slot": None, **candidates},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": form},
        latest_action_name=form,
    )


@pytest.mark.parametrize("validation", VALIDATIONS, ids=lambda v: v.name())
@respx.mock
async def test_a_form_opening_with_cleared_slots_asks_its_first_question_without_any_error(validation):
    api = respx.route().respond(500)
    dispatcher = CollectingDispatcher()
    form = validation.form_name()
    events = await validation.run(dispatcher, opening(form, "my_notices", "내 공인알림 보여줘"), DOMAIN)
    assert dispatcher.messages == []
    assert api.call_count == 0
    assert all(e["value"] is None for e in events if e["event"] == "slot" and e["name"] in required(form))


@respx.mock
async def test_a_day_the_opening_message_gave_is_still_checked():
    choices = respx.get(url__regex=r".*/runs/choices.*").respond(
        200, json={"closed": True, "runs": [], "nearest": [], "day_ko": "12월 7일 (월)", "day_en": "Mon, Dec 7"}
    )
    day = [{"entity": "date", "value": "모레", "resolved": "2026-12-07"}]
    current = opening("booking_form", "book_tour", "모레 DMZ 투어 예약", day, given={"tour_date": "모레"})
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, DOMAIN)
    assert choices.call_count == 1
    assert [m["response"] for m in dispatcher.messages] == ["utter_closed_day"]
    assert SlotSet("tour_date", None) in events


@respx.mock
async def test_the_slot_asked_for_is_checked_when_answered():
    api = respx.post(url__regex=r".*/phone-links$").respond(
        422, json={"detail": "휴대전화 번호를 010-1234-5678 형식으로 알려 주세요.", "code": "invalid_phone"}
    )
    current = Tracker(
        sender_id="web:forms-test",
        slots={"language": "ko", "requested_slot": "link_phone", "link_phone": "모르겠어요"},
        latest_message={"text": "모르겠어요", "intent": {"name": "inform", "confidence": 0.6}, "entities": []},
        events=[
            {"event": "user", "text": "모르겠어요"},
            {"event": "slot", "name": "link_phone", "value": "모르겠어요"},
            {"event": "slot", "name": "requested_slot", "value": "link_phone"},
            {"event": "action", "name": "phone_link_form"},
            {"event": "slot", "name": "link_phone", "value": "모르겠어요"},
        ],
        paused=False,
        followup_action=None,
        active_loop={"name": "phone_link_form"},
        latest_action_name="phone_link_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidatePhoneLinkForm().run(dispatcher, current, DOMAIN)
    assert api.call_count == 1
    assert dispatcher.messages[0]["text"].startswith("휴대전화 번호를")
    assert SlotSet("link_phone", None) in events


def leaving(form: str, slots: dict, language: str = "ko", entities: list | None = None) -> Tracker:
    return Tracker(
        sender_id="web:forms-test",
        slots={"language": language, "requested_slot": required(form)[0], **slots},
        latest_message={"text": "…", "intent": {"name": "book_tour", "confidence": 0.98}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": form},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize("form", FORMS)
async def test_leaving_any_form_says_so_forgets_its_answers_and_takes_itself_back(form):
    filled = {slot: "something" for slot in (*required(form), *FORM_MEMORY[form])}
    dispatcher = CollectingDispatcher()
    events = await ActionLeaveForm().run(dispatcher, leaving(form, filled), DOMAIN)
    # Taken back first, so that the rules read the citizen's message as if no form had been open.
    assert events[:3] == [ActionReverted(), ActiveLoop(None), SlotSet("requested_slot", None)]
    assert {e["name"] for e in events[3:] if e["value"] is None} == set(filled)
    assert [m["response"] for m in dispatcher.messages] == [f"utter_left_{form}"]


async def test_what_the_leaving_message_itself_named_is_kept_for_the_new_topic():
    slots = {"booking_code": "K7Q2ZD", "booker_phone": "010-2222-3333"}
    named = [{"entity": "booking_code", "value": "K7Q2ZD"}]
    events = await ActionLeaveForm().run(CollectingDispatcher(), leaving("lookup_form", slots, entities=named), DOMAIN)
    forgotten = {e["name"] for e in events if e.get("event") == "slot" and e["value"] is None}
    assert "booker_phone" in forgotten and "booking_code" not in forgotten


@pytest.mark.parametrize("form", FORMS)
def test_every_form_has_its_leaving_words_in_korean_and_english(form):
    variants = DOMAIN["responses"][f"utter_left_{form}"]
    english = [v["text"] for v in variants if v.get("condition")]
    korean = [v["text"] for v in variants if not v.get("condition")]
    assert english and korean
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in text) for text in korean)
    assert not any(ch.isascii() and ch.isalpha() for text in korean for ch in text)


def test_the_questions_forms_answer_in_the_middle_do_not_leave_them():
    """A rule that answers an intent while a form is open and goes back to it (help, a tour question while booking)
    must win over leaving: the policy's `stay` lists it for that form."""
    policy = next(p for p in yaml.safe_load((ROOT / "config.yml").read_text())["policies"] if "FormExit" in p["name"])
    assert set(policy["stay"]) <= set(FORMS)
    for path in (ROOT / "data" / "rules").glob("*.yml"):
        for rule in yaml.safe_load(path.read_text()).get("rules") or []:
            loops = [c["active_loop"] for c in rule.get("condition") or [] if c.get("active_loop")]
            steps = rule["steps"]
            intents = [s["intent"] for s in steps[:1] if "intent" in s] + [
                o["intent"] for s in steps[:1] for o in s.get("or") or []
            ]
            for form in loops:
                for intent in intents:
                    if intent in policy["leave_intents"]:
                        assert intent in policy["stay"].get(form, []), (rule["rule"], form, intent)
