"""What every action shares: the citizen's language and words, and the one way to call the api, whose answer the
action renders, whose refusal it shows in the citizen's language, and whose outage it apologises for; and what every
form's validation shares: it checks only what the citizen was asked or actually said.

rasa_sdk validates every form slot set since the citizen's last message, including the ones an action cleared just
before the form opened: "내 공인알림 보여줘" cleared the phone and the code, and the citizen was told both were wrong
before being asked for either. `FormValidation` checks a slot only when it has a value that came from the citizen.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker, utils
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import ApiClient, ApiProblem, ApiRefused

logger = logging.getLogger(__name__)
T = TypeVar("T")


def language_of(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("language") == "en" else "ko"


def pick(language: str, ko: str, en: str) -> str:
    return en if language == "en" else ko


def entity(tracker: Tracker, name: str) -> dict[str, Any] | None:
    """The last entity of that name in the citizen's latest message."""
    found = [e for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == name]
    return found[-1] if found else None


class ApiCaller:
    """How an action or a form's validation calls the api and tells the citizen when it could not.

    A refusal (4xx, or the api's own 5xx with a reason) is shown as the api words it in the citizen's language,
    or as the response `refusal_responses` names for its code; an outage (timeout, 5xx, no connection) is logged
    and apologised for with `utter_service_unavailable`.
    """

    refusal_responses: ClassVar[Mapping[str, str]] = {}

    def __init__(self, api: ApiClient | None = None) -> None:
        self._api = api

    @property
    def api(self) -> ApiClient:
        return self._api or ApiClient.from_env()

    async def attempt(
        self, dispatcher: CollectingDispatcher, work: Awaitable[T], otherwise: Callable[[ApiProblem], T]
    ) -> T:
        """What `work` returns; when the api refused or failed, the citizen is told which and `otherwise` answers."""
        try:
            return await work
        except ApiProblem as problem:
            self.explain(dispatcher, problem)
            return otherwise(problem)

    def explain(self, dispatcher: CollectingDispatcher, problem: ApiProblem) -> None:
        # 401 and 403 say the action server's own token is wrong: the city's setup, not the citizen's request.
        if isinstance(problem, ApiRefused) and problem.status not in (401, 403):
            response = self.refusal_responses.get(problem.code)
            if response:
                dispatcher.utter_message(response=response)
            else:
                dispatcher.utter_message(text=problem.detail)
            return
        logger.warning("%s could not reach the api: %s", self.name(), problem)  # type: ignore[attr-defined]
        dispatcher.utter_message(response="utter_service_unavailable")


class ApiAction(ApiCaller, Action, ABC):
    """An action that renders what the api answers: `act` calls the api and lays out its answer; a refusal or an
    outage on the way is told to the citizen, and `after_problem` gives the events that follow it."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        def after(problem: ApiProblem) -> list[dict[str, Any]]:
            return self.after_problem(problem, dispatcher, tracker)

        return await self.attempt(dispatcher, self.act(dispatcher, tracker, domain), after)

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        """Calls the api and renders its answer; returns the events."""

    def after_problem(
        self, problem: ApiProblem, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[dict[str, Any]]:
        """The events once the citizen has been told of a refusal or an outage: none unless an action says so."""
        return []


def turn_slots(tracker: Tracker) -> tuple[dict[str, Any], dict[str, Any]]:
    """The slots set since the citizen's latest message: those its own extraction set (before any action ran), and
    those actions set afterwards, up to the form's run whose candidates Rasa appends last."""
    events = list(tracker.events or [])
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    start = users[-1] + 1 if users else 0
    actions = [i for i in range(start, len(events)) if events[i].get("event") == "action"]
    end = actions[-1] if actions else len(events)
    given: dict[str, Any] = {}
    by_actions: dict[str, Any] = {}
    acted = False
    for event in events[start:end]:
        if event.get("event") == "action":
            acted = True
        elif event.get("event") == "slot":
            (by_actions if acted else given)[event["name"]] = event.get("value")
    return given, by_actions


class FormValidation(FormValidationAction, ABC):
    """A form's validation that checks a slot only when the citizen gave it: the answer to the question asked, or what
    the latest message said (an entity, a button, a photo). A slot an action just cleared or prefilled is not an
    answer, and nothing at all is never an error: the form simply asks."""

    @abstractmethod
    def name(self) -> str:
        """validate_<form>; abstract, so that the action server does not register this base as an action."""

    def should_validate(self, slot: str, value: Any, tracker: Tracker) -> bool:
        if value is None:
            return False
        if slot == tracker.get_slot("requested_slot"):
            return True
        given, by_actions = turn_slots(tracker)
        # Set by an action in this turn and only repeated by Rasa as a candidate: not the citizen's.
        return slot in given or slot not in by_actions or by_actions[slot] != value

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # rasa_sdk's own loop, with `should_validate` in front of each slot.
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        slots: dict[str, Any] = {}
        for slot, value in tracker.slots_to_validate().items():
            if slot not in required:
                continue
            validate = getattr(self, f"validate_{slot.replace('-', '_')}", None)
            if validate is None or not self.should_validate(slot, value, tracker):
                slots[slot] = value  # kept as it was set: an extraction's value is only returned through here
                continue
            output = await utils.call_potential_coroutine(validate(value, dispatcher, tracker, domain))
            if isinstance(output, dict):
                slots.update(output)
                tracker.slots.update(output)
        return [SlotSet(slot, value) for slot, value in slots.items()]
