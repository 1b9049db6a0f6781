"""One citizen in the web chat, as their browser is: known to the gateway only by the cookie it gave them."""

import uuid

import httpx

from bot.gateway.channels.web import COOKIE


class WebChat:
    """Opens the chat page (which gives the cookie), then sends messages and reads history and updates with it."""

    def __init__(self, gateway_url: str, timeout: float = 30) -> None:
        self.client = httpx.Client(base_url=gateway_url, timeout=timeout)
        self.client.get("/").raise_for_status()

    @property
    def user_id(self) -> str:
        """The id inside the cookie: the test's view into the database, never sent by the page."""
        return self.client.cookies[COOKIE].partition(".")[0]

    def post(self, text: str = "", payload: str | None = None, message_id: str | None = None) -> httpx.Response:
        body = {"message_id": message_id or uuid.uuid4().hex, "text": text, "payload": payload}
        return self.client.post("/web/messages", json=body)

    def send(self, text: str = "", payload: str | None = None, message_id: str | None = None) -> list[dict]:
        response = self.post(text, payload, message_id)
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    def history(self) -> list[dict]:
        return self.client.get("/web/history").json()

    def updates(self) -> list[dict]:
        return self.client.get("/web/updates").json()

    def close(self) -> None:
        self.client.close()
