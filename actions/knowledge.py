"""Actions of answers from the city's knowledge base: the answer with its department, phone and source, "did you
mean", the honest decline, and the citizen's feedback on an answer.

Which entry answers, how sure that is and whom to call otherwise are the api's to say; these actions lay out its
answer. bot/nlu/knowledge_policy.py decides when a typed message is asked here instead of a flow.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ApiAction, entity, language_of, pick
from actions.conversation import (
    ANSWER_FROM_KNOWLEDGE,
    FALLBACKS_BEFORE_HANDOFF,
    KNOWLEDGE_DECLINED,
    HandOff,
    fallbacks_in_a_row,
)
from actions.notices import response_text
from common.payloads import payload

# Asked because the NLU had no flow's intent for the message (a city question is the knowledge base's own); any
# other intent is a flow's, weakly predicted.
NOT_A_FLOW = frozenset({"out_of_scope", "nlu_fallback", "city_question"})
ID = re.compile(r"[0-9]{1,12}")


class ActionAnswerFromKnowledge(HandOff):
    """A typed question no flow fits, answered from the knowledge base with its source, or declined with whom to
    call. For a flow intent the NLU was unsure of, only a strong match answers; otherwise this action takes itself
    back (`ActionReverted`), silent, and the flow the intent asked for runs. A second message in a row that is
    neither understood nor answered brings in a person, as `action_not_understood` does."""

    def name(self) -> str:
        return ANSWER_FROM_KNOWLEDGE

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        message = tracker.latest_message or {}
        strict = (message.get("intent") or {}).get("name") not in NOT_A_FLOW
        reply = await self.api.ask_knowledge(tracker.sender_id, message.get("text") or "", language, strict)
        if reply["answered"]:
            show_answer(dispatcher, reply, language, domain)
            return []
        if strict:
            return [ActionReverted()]
        if fallbacks_in_a_row(tracker) >= FALLBACKS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_still_not_understood")
            return await self.hand_off(dispatcher, tracker, reason="two_fallbacks")
        whom = reply["fallback"]
        dispatcher.utter_message(response=KNOWLEDGE_DECLINED, department=whom["department"], phone=whom["phone"])
        show_alternatives(dispatcher, reply)
        return []


class ActionKnowledgeShow(ApiAction):
    """A "did you mean" button: that entry's answer, laid out as any answer."""

    def name(self) -> str:
        return "action_knowledge_show"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        entry_id = _number_in(tracker, "entry_id")
        if entry_id is None:
            dispatcher.utter_message(response="utter_knowledge_button_invalid")
            return []
        reply = await self.api.knowledge_entry(str(entry_id), language)
        show_answer(dispatcher, reply, language, domain)
        return []


class ActionKnowledgeFeedback(ApiAction):
    """A feedback button under an answer: recorded with the api; "not helpful" also offers a person."""

    def name(self) -> str:
        return "action_knowledge_feedback"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        ask_id = _number_in(tracker, "ask_id")
        helpful = (entity(tracker, "helpful") or {}).get("value")
        if ask_id is None or helpful not in ("yes", "no"):
            dispatcher.utter_message(response="utter_knowledge_button_invalid")
            return []
        await self.api.knowledge_feedback(ask_id, helpful == "yes", language)
        # "Not helpful" offers a person: the question itself is already among the console's candidates.
        dispatcher.utter_message(
            response="utter_knowledge_thanks" if helpful == "yes" else "utter_knowledge_not_helpful"
        )
        return []


def show_answer(dispatcher: CollectingDispatcher, reply: dict[str, Any], language: str, domain: DomainDict) -> None:
    """The answer in one message (its text, whom to contact, the notes) with its link, source and feedback buttons;
    then the other close matches as buttons."""
    answer = reply["answer"]
    notes = []
    contact = " ".join(part for part in (answer.get("department"), answer.get("phone")) if part)
    if contact:
        notes.append(response_text(domain, "utter_knowledge_contact", language, contact=contact))
    if answer["sample"]:
        notes.append(response_text(domain, "utter_knowledge_sample", language))
    if language == "en" and answer["korean_only"]:
        notes.append(response_text(domain, "utter_knowledge_korean_only", language))
    text = "\n\n".join(part for part in (answer["text"].strip(), "\n".join(notes)) if part)
    # A current notice on the same subject as an entry's answer (extended hours, a changed fee) comes with it.
    related = [_source_button(s) for s in reply.get("sources", [])[1:] if s.get("kind") == "notice"]
    buttons = [*_source_buttons(answer, language), *related, *_feedback_buttons(reply.get("ask_id"), language)]
    dispatcher.utter_message(text=text, buttons=buttons)
    show_alternatives(dispatcher, reply)


def show_alternatives(dispatcher: CollectingDispatcher, reply: dict[str, Any]) -> None:
    """Other entries or notices close to the question, as "did you mean" buttons."""
    alternatives = reply.get("alternatives") or []
    if alternatives:
        buttons = [_source_button(source) for source in alternatives]
        dispatcher.utter_message(response="utter_knowledge_alternatives", buttons=buttons)


def _source_buttons(answer: dict[str, Any], language: str) -> list[dict[str, str]]:
    buttons = []
    link = answer.get("link") or ""
    # The gateway renders a payload that starts with https:// as a link button (and no other scheme).
    if link.startswith("https://"):
        buttons.append({"title": pick(language, "자세히 보기 (누리집)", "Open website"), "payload": link})
    source = answer.get("source") or {}
    if source.get("kind") == "notice":
        title = pick(language, "공지 전문 보기", "Read the notice")
        buttons.append({"title": title, "payload": payload("notice_read", notice_id=str(source["id"]))})
    return buttons


def _feedback_buttons(ask_id: int | None, language: str) -> list[dict[str, str]]:
    if ask_id is None:  # an entry opened from a button: not an asked question, nothing to rate
        return []
    return [
        {
            "title": pick(language, "도움이 됐어요", "That helped"),
            "payload": payload("knowledge_feedback", ask_id=str(ask_id), helpful="yes"),
        },
        {
            "title": pick(language, "도움이 안 됐어요", "That didn't help"),
            "payload": payload("knowledge_feedback", ask_id=str(ask_id), helpful="no"),
        },
    ]


def _source_button(source: dict[str, Any]) -> dict[str, str]:
    if source["kind"] == "notice":
        return {"title": source["title"], "payload": payload("notice_read", notice_id=str(source["id"]))}
    return {"title": source["title"], "payload": payload("knowledge_show", entry_id=str(source["id"]))}


def _number_in(tracker: Tracker, name: str) -> int | None:
    """A button's id entity ("12"), or None when it is missing or not a number."""
    value = str((entity(tracker, name) or {}).get("value", ""))
    return int(value) if ID.fullmatch(value) else None
