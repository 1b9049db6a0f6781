"""The action server answers only Rasa: the shared ACTIONS_TOKEN, sent from endpoints.yml, on loopback by default."""

import os
import socket
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import respx
from httpx import Response
from rasa.utils.endpoints import ClientResponseError, read_endpoint_config
from sanic import Sanic

from actions.server import ActionServerSettings, create_app, presents_token

ROOT = Path(__file__).resolve().parents[2]
API = "http://api.test"
TOKEN = "actions-test-token"
BOOKING = {
    "code": "PJ-7Q2K",
    "status": "confirmed",
    "run": {
        "id": 1,
        "date": "2026-12-05",
        "starts_at": "2026-12-05T01:20:00Z",
        "option": "walk",
        "time": "10:20",
        "day_en": "Dec 5 (Sat)",
        "option_en": "on foot",
    },
    "party": {"adult": 2},
    "seats": 2,
    "total_fee": 18400,
    "booker_name": "김*수",
    "booker_phone": "010-****-5678",
}


def action_call(action: str = "action_my_bookings", sender: str = "telegram:someone-else") -> dict:
    """What Rasa posts to /webhook; a forger can write the same with any sender id."""
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {"language": "en"},
            "latest_message": {"text": "my bookings", "intent": {"name": "my_bookings"}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def api_env(monkeypatch):
    monkeypatch.setenv("API_URL", API)
    monkeypatch.setenv("SERVICE_TOKEN", "svc")
    # rasa_sdk names every app "rasa_sdk"; Sanic refuses a second app of one name outside test mode.
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        yield mock.get(f"{API}/api/bookings").mock(return_value=Response(200, json=[BOOKING]))


@asynccontextmanager
async def action_server(token: str = TOKEN):
    """The real app on a free loopback port, inside the test's event loop."""
    port = free_port()
    server = await create_app(token).create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def post_webhook(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/webhook", json=action_call(), headers=headers) as answer,
    ):
        return answer.status, await answer.json()


async def test_a_forged_call_without_a_token_is_refused_and_runs_no_action(api):
    async with action_server() as url:
        status, body = await post_webhook(url, {})
    assert status == 401
    assert "events" not in body
    assert not api.called


async def test_a_forged_call_with_a_wrong_token_is_refused_and_runs_no_action(api):
    async with action_server() as url:
        for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"Basic {TOKEN}", "Bearer "):
            status, _body = await post_webhook(url, {"Authorization": header})
            assert status == 401, header
    assert not api.called


def _other_endpoints(monkeypatch) -> None:
    """What the rest of endpoints.yml reads from the environment (API_URL is set for every test here): Rasa reads
    none of the file while one is unset."""
    for name, value in {
        "RASA_TRACKER_DB": "unused.db",
        "SERVICE_TOKEN": "unused",
        "MODEL_PULL_SECONDS": "10",
    }.items():
        monkeypatch.setenv(name, value)


async def test_rasa_sends_the_token_from_endpoints_yml_and_the_action_runs(api, monkeypatch):
    async with action_server() as url:
        monkeypatch.setenv("ACTIONS_URL", f"{url}/webhook")
        monkeypatch.setenv("ACTIONS_TOKEN", TOKEN)
        _other_endpoints(monkeypatch)
        # Rasa's own endpoint client, configured the way `rasa run --endpoints endpoints.yml` is.
        endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
        result = await endpoint.request(json=action_call(), method="post")
    assert api.call_count == 1
    assert api.calls.last.request.url.params["channel_user_id"] == "someone-else"
    assert [reply["response"] for reply in result["responses"]] == ["utter_booking_card"]


async def test_rasa_with_another_token_is_refused(api, monkeypatch):
    async with action_server() as url:
        monkeypatch.setenv("ACTIONS_URL", f"{url}/webhook")
        monkeypatch.setenv("ACTIONS_TOKEN", "not-the-servers-token")
        _other_endpoints(monkeypatch)
        endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
        with pytest.raises(ClientResponseError) as refused:
            await endpoint.request(json=action_call(), method="post")
    assert refused.value.status == 401
    assert not api.called


async def test_without_a_configured_token_every_call_is_refused(api):
    async with action_server(token="") as url:
        for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
            status, _body = await post_webhook(url, header)
            assert status == 401
    assert not api.called


async def test_health_answers_without_a_token_and_the_action_list_does_not():
    async with action_server() as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/health") as health:
            assert health.status == 200
        async with http.get(f"{url}/actions") as listing:
            assert listing.status == 401
        async with http.get(f"{url}/actions", headers={"Authorization": f"Bearer {TOKEN}"}) as listing:
            names = [action["name"] for action in await listing.json()]
    assert "action_my_bookings" in names


def test_endpoints_yml_refuses_to_load_without_actions_token(monkeypatch):
    monkeypatch.delenv("ACTIONS_TOKEN", raising=False)
    monkeypatch.setenv("ACTIONS_URL", "http://127.0.0.1:5055/webhook")
    _other_endpoints(monkeypatch)
    with pytest.raises(Exception, match="ACTIONS_TOKEN"):
        read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")


def test_the_server_listens_on_loopback_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("ACTIONS_HOST", raising=False)
    assert ActionServerSettings.from_env().host == "127.0.0.1"
    monkeypatch.setenv("ACTIONS_HOST", "0.0.0.0")
    assert ActionServerSettings.from_env().host == "0.0.0.0"


def test_the_server_will_not_start_without_actions_token():
    env = {key: value for key, value in os.environ.items() if key != "ACTIONS_TOKEN"}
    started = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", str(free_port())],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "ACTIONS_TOKEN is not set" in started.stderr


def test_only_the_exact_bearer_token_is_accepted():
    assert presents_token(f"Bearer {TOKEN}", TOKEN)
    assert presents_token(f"bearer {TOKEN}", TOKEN)
    assert not presents_token(f"Bearer {TOKEN}", "")
    assert not presents_token("", "")
    assert not presents_token("Bearer ", "")
    assert not presents_token(f"Token {TOKEN}", TOKEN)
