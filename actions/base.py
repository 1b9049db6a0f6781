"""What every action shares: the citizen's language and words, and the one way to call the api, whose answer the
action renders, whose refusal it shows in the citizen's language, and whose outage it apologises for."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

from rasa_sdk import Action, Tracker
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
