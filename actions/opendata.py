"""Actions of open-data questions: the api computes every figure; these only word and show its answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiUnavailable
from actions.tours import api, language_of, pick

EXPLANATION = "opendata_explanation"
TOPIC_BUTTON = '/opendata_catalog{{"topic":"{topic}"}}'


class ActionOpendataAnswer(Action):
    """Sends the citizen's own words to the api's question parser: a dataset uploaded today answers today."""

    def name(self) -> str:
        return "action_opendata_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        question = (tracker.latest_message or {}).get("text") or ""
        try:
            answer = await api().ask(question, language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if not answer["answered"]:
            # The api's answer already says why and names the closest datasets.
            dispatcher.utter_message(text=answer["answer"], buttons=[_catalog_button(language)])
            return [SlotSet(EXPLANATION, None)]
        dataset = answer["dataset"]
        source = pick(language, "출처", "Source")
        dispatcher.utter_message(text=f"{answer['answer']}\n\n{source}: {_title(dataset, language)}\n{dataset['link']}")
        if answer.get("chart_url"):
            dispatcher.utter_message(image=answer["chart_url"])
        return [SlotSet(EXPLANATION, answer.get("explanation"))]


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


class ActionOpendataCatalog(Action):
    """The datasets by topic: first the topics as buttons, then one topic's datasets."""

    def name(self) -> str:
        return "action_opendata_catalog"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        language = language_of(tracker)
        wanted = next(tracker.get_latest_entity_values("topic"), None)
        try:
            topics = await api().opendata_catalog(language)
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        chosen = next((topic for topic in topics if topic["topic"] == wanted), None)
        if chosen is None:
            buttons = [
                {
                    "title": f"{_label(topic, language)} ({len(topic['datasets'])})",
                    "payload": TOPIC_BUTTON.format(topic=topic["topic"]),
                }
                for topic in topics
            ]
            dispatcher.utter_message(response="utter_opendata_topics", buttons=buttons)
            return []
        lines = [f"{_label(chosen, language)}:"]
        for dataset in chosen["datasets"]:
            sample = pick(language, " (예시 자료)", " (sample data)") if dataset["is_sample"] else ""
            lines.append(f"• {_title(dataset, language)}{sample}\n  {dataset['link']}")
        lines.append(pick(language, "궁금한 것을 문장으로 물어보세요.", "Ask me about any of them in your own words."))
        dispatcher.utter_message(text="\n".join(lines))
        return []


def _title(dataset: dict[str, Any], language: str) -> str:
    return dataset.get(f"title_{language}") or dataset.get("title_ko") or dataset.get("title") or dataset["id"]


def _label(topic: dict[str, Any], language: str) -> str:
    return topic.get(f"label_{language}") or topic["topic"]


def _catalog_button(language: str) -> dict[str, str]:
    return {"title": pick(language, "데이터 목록 보기", "See the datasets"), "payload": "/opendata_catalog"}
