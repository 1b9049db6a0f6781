"""Actions of open-data questions: the api computes every figure; these only word and show its answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ApiAction, language_of, pick
from actions.cards import link_button
from common.payloads import payload

EXPLANATION = "opendata_explanation"
# The query of the last answered question: a follow-up ("작년은?", "in 2024?") is asked in its context.
CONTEXT = "opendata_context"
# A choice button carries the complete question to ask instead (a row or measure the citizen picks).
CHOICE = "opendata_choice"


class ActionOpendataAnswer(ApiAction):
    """Sends the citizen's own words to the api's question parser: a dataset uploaded today answers today."""

    def name(self) -> str:
        return "action_opendata_answer"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        choice = next(tracker.get_latest_entity_values(CHOICE), None)
        if choice:
            # A choice is a complete question on its own; the context could only pull it back to the old one.
            question, context = str(choice), None
        else:
            question, context = (tracker.latest_message or {}).get("text") or "", tracker.get_slot(CONTEXT)
        answer = await self.api.ask(question, language, context)
        buttons = [_choice_button(option) for option in answer.get("choices") or []]
        if not answer["answered"]:
            # The api's answer already says why and names the closest datasets or the choices.
            dispatcher.utter_message(text=answer["answer"], buttons=buttons or [_catalog_button(language)])
            events = [SlotSet(EXPLANATION, None)]
            # The citizen may rephrase within the same data, unless there was no data to speak of.
            if answer.get("reason") == "no_dataset":
                events.append(SlotSet(CONTEXT, None))
            return events
        # The api's answer names its source once (title and publisher); its page is a named link, never an address.
        dispatcher.utter_message(text=answer["answer"], buttons=[*buttons, *_dataset_button(answer, language)])
        if answer.get("chart_url"):
            dispatcher.utter_message(image=answer["chart_url"])
        return [SlotSet(EXPLANATION, answer.get("explanation")), SlotSet(CONTEXT, answer.get("query"))]


class ActionOpendataExplain(Action):
    """'How was this computed?': the query behind the last figure, so anyone can reproduce it."""

    def name(self) -> str:
        return "action_opendata_explain"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        explanation = tracker.get_slot(EXPLANATION)
        if explanation:
            dispatcher.utter_message(text=explanation)
        else:
            dispatcher.utter_message(response="utter_no_figure_to_explain")
        return []


class ActionOpendataCatalog(ApiAction):
    """The datasets by topic: first the topics as buttons, then one topic's datasets."""

    def name(self) -> str:
        return "action_opendata_catalog"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        wanted = next(tracker.get_latest_entity_values("topic"), None)
        topics = await self.api.opendata_catalog(language)
        chosen = next((topic for topic in topics if topic["topic"] == wanted), None)
        if chosen is None:
            buttons = [
                {
                    "title": f"{_label(topic, language)} ({len(topic['datasets'])})",
                    "payload": payload("opendata_catalog", topic=topic["topic"]),
                }
                for topic in topics
            ]
            dispatcher.utter_message(response="utter_opendata_topics", buttons=buttons)
            return []
        lines = [f"{_label(chosen, language)}:"]
        for dataset in chosen["datasets"]:
            sample = pick(language, " (예시 자료)", " (sample data)") if dataset["is_sample"] else ""
            # Titles only: a dataset's link is the api's own address, never shown to citizens.
            lines.append(f"• {_title(dataset, language)}{sample}")
        lines.append(pick(language, "궁금한 것을 문장으로 물어보세요.", "Ask me about any of them in your own words."))
        dispatcher.utter_message(text="\n".join(lines))
        return []


def _title(dataset: dict[str, Any], language: str) -> str:
    return dataset.get(f"title_{language}") or dataset.get("title_ko") or dataset.get("title") or dataset["id"]


def _label(topic: dict[str, Any], language: str) -> str:
    return topic.get(f"label_{language}") or topic["topic"]


def _choice_button(choice: dict[str, str]) -> dict[str, str]:
    return {"title": choice["title"], "payload": payload("opendata_question", **{CHOICE: choice["question"]})}


def _dataset_button(answer: dict[str, Any], language: str) -> list[dict[str, str]]:
    """The dataset's readable page (title, source, period, a preview, the official link) as a named link."""
    page = (answer.get("dataset") or {}).get("page")
    button = link_button(pick(language, "데이터 자세히 보기", "See the data"), page)
    return [button] if button else []


def _catalog_button(language: str) -> dict[str, str]:
    return {"title": pick(language, "데이터 목록 보기", "See the datasets"), "payload": "/opendata_catalog"}
