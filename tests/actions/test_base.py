"""The one place actions meet the api: a refusal is the citizen's to read, an outage or a wrong token is an apology."""

from typing import ClassVar

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.api_client import ApiRefused, ApiUnavailable
from actions.base import ApiCaller


class Caller(ApiCaller):
    refusal_responses: ClassVar[dict[str, str]] = {"past_date": "utter_past_date"}

    def name(self) -> str:
        return "action_test"


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (ApiRefused(409, "sold_out", "남은 좌석이 없어요."), {"text": "남은 좌석이 없어요."}),
        (ApiRefused(422, "past_date", "지난 날짜예요."), {"response": "utter_past_date"}),
        (ApiRefused(429, "too_many_bookings", "예약 요청이 너무 많아요."), {"text": "예약 요청이 너무 많아요."}),
        (ApiRefused(401, "unauthorized", "invalid service token"), {"response": "utter_service_unavailable"}),
        (ApiRefused(403, "forbidden", "not allowed"), {"response": "utter_service_unavailable"}),
        (ApiUnavailable("timeout"), {"response": "utter_service_unavailable"}),
    ],
)
def test_a_refusal_is_shown_and_an_outage_or_a_wrong_token_is_apologised_for(problem, expected):
    dispatcher = CollectingDispatcher()
    Caller().explain(dispatcher, problem)
    [message] = dispatcher.messages
    assert {key: value for key, value in message.items() if key in expected} == expected
