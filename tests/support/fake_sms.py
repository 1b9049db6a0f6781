"""A fake SMS provider on loopback: takes what `SMS_SENDER=http` posts, keeps it for the tests, or fails on request."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "test-sms-key"
SENDER_NUMBER = "0319404114"


@dataclass
class ReceivedSms:
    to: str
    text: str
    sender: str
    authorization: str


@dataclass
class FakeSmsProvider:
    received: list[ReceivedSms] = field(default_factory=list)
    # What the next requests get: an HTTP status other than 200, or a wait longer than the client's timeout.
    status: int = 200
    delay_seconds: float = 0.0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/messages"

    def settings(self) -> dict[str, str]:
        """The api settings that point `SMS_SENDER=http` here."""
        return {"sms_sender": "http", "sms_api_url": self.url, "sms_api_key": API_KEY, "sms_from": SENDER_NUMBER}

    def environment(self) -> dict[str, str]:
        return {name.upper(): value for name, value in self.settings().items()}

    def last_code(self, phone: str) -> str:
        """The code in the latest message to `phone`, as the citizen's phone shows it."""
        digits = re.sub(r"\D", "", phone)
        text = next(sms.text for sms in reversed(self.received) if sms.to == digits)
        return re.search(r"\b(\d{6})\b", text).group(1)

    def start(self) -> FakeSmsProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                time.sleep(provider.delay_seconds)
                if provider.status != 200:
                    self._answer(provider.status, {"error": "provider unavailable"})
                    return
                provider.received.append(
                    ReceivedSms(body.get("to"), body.get("text"), body.get("from"), self.headers.get("Authorization"))
                )
                self._answer(200, {"id": f"msg-{len(provider.received)}"})

            def _answer(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args) -> None:
                """Quiet: the test output is not the place for a request log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
