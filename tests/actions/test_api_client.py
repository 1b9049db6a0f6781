"""The action server's one client of the api: one connection pool for the process, closed when the server stops."""

import respx

from actions import api_client
from actions.api_client import ApiClient
from actions.server import create_app
from tests.actions.test_action_server import TOKEN, free_port

API = "http://api.test"


@respx.mock
async def test_every_call_of_the_process_goes_through_one_connection_pool():
    route = respx.get(f"{API}/api/tours/dmz-peace").respond(200, json={})
    await ApiClient(API, "svc").tour("ko")
    pool = api_client._http()
    await ApiClient(API, "another-token").tour("en")
    assert api_client._http() is pool and not pool.is_closed
    assert [call.request.headers["Authorization"] for call in route.calls] == ["Bearer svc", "Bearer another-token"]
    await api_client.close_pool()
    assert pool.is_closed


async def test_the_pool_is_closed_when_the_action_server_stops(monkeypatch):
    monkeypatch.setattr("sanic.Sanic.test_mode", True)
    server = await create_app(TOKEN).create_server(
        host="127.0.0.1", port=free_port(), return_asyncio_server=True, access_log=False
    )
    await server.startup()
    pool = api_client._http()
    server.close()
    await server.wait_closed()
    await server.after_stop()
    assert pool.is_closed
