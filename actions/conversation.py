"""Actions of the conversation itself: asking for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiClient, ApiUnavailable


class ActionRequestHuman(Action):
    """Queues the conversation for a city staff member and tells the citizen what happens next."""

    def __init__(self, api: ApiClient | None = None) -> None:
        self._api = api or ApiClient.from_env()

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            ticket = await self._api.request_handoff(tracker.sender_id, reason="request_human")
        except ApiUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        dispatcher.utter_message(response="utter_handoff_requested", waiting_ahead=ticket.waiting_ahead)
        return []
