"""Try before deploy: the console's test chat starts a staging Rasa with the candidate, talks to it on a scratch
conversation of its own, shows each reply with the parsed intent, and stops it when idle.

A stand-in `rasa run` (below) answers as Rasa's HTTP api and the gateway channel do, behind the JWT secret it was
started with, after a second of "loading"; tests/e2e/test_training_gate.py talks to a real one.
"""

import sys
import time

import httpx
import pytest

from api.core.rate_limits import RateLimits
from api.training import trial
from tests.api.test_training_console import HOME, _signed_in
from tests.api.training_fixtures import ADMIN, STAFF, bearer, training_environment, write_model

STAGING_RASA = '''#!{python}
"""`rasa run --enable-api` as the test chat uses it: /status, and the gateway channel's webhook with the parse."""
import base64, hashlib, hmac, json, sys, tarfile, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
assert args[0] == "run" and "--enable-api" in args, args
port, secret = int(args[args.index("--port") + 1]), args[args.index("--jwt-secret") + 1]
assert args[args.index("--interface") + 1] == "127.0.0.1"
with tarfile.open(args[args.index("--model") + 1]) as archive:
    model_id = json.load(archive.extractfile("metadata.json"))["model_id"]
senders_file = {senders!r}
time.sleep(1)  # loading the model


def signed(header):
    signing_input, _, signature = header.removeprefix("Bearer ").rpartition(".")
    expected = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return bool(signing_input) and signature == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self):
        if not signed(self.headers.get("Authorization", "")):
            return self._answer(401, {{}})
        self._answer(200, {{"model_id": model_id}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(senders_file, "a") as senders:
            senders.write(body["sender"] + "\\n")
        button = {{"title": "투어 예약", "payload": "/book_tour"}}
        replies = [{{"text": "시험 답: " + body["message"], "buttons": [button]}}]
        parse = {{"intent": {{"name": "tour_info", "confidence": 0.93}}, "entities": []}}
        self._answer(200, {{"messages": replies, "parse": parse if body.get("parse") else None}})


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''


@pytest.fixture
def training(database_url, tmp_path):
    with training_environment(database_url, tmp_path) as environment:
        senders = tmp_path / "senders.txt"
        rasa = environment.settings.training_rasa_env / "bin" / "rasa"
        rasa.write_text(STAGING_RASA.format(python=sys.executable, senders=str(senders)))
        environment.senders = senders
        environment.candidate = environment.settings.training_models_dir / "paju-fedcba9876543210.tar.gz"
        write_model(environment.candidate, trained_at="2026-11-25T10:00:00")
        environment.headers = bearer(environment.client)
        models = environment.client.get("/api/training/models", headers=environment.headers).json()
        environment.model_id = next(m["id"] for m in models if m["file_name"] == environment.candidate.name)
        try:
            yield environment
        finally:
            trial.for_app(environment.client.app.state).stop()


def _wait_for(training, status: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = training.client.get("/api/training/trial", headers=training.headers).json()
        if found["status"] == status:
            return found
        time.sleep(0.2)
    raise AssertionError(f"the test chat is not {status} after {timeout}s: {found}")


def test_an_admin_talks_to_a_candidate_on_a_staging_rasa_and_sees_each_reply_with_its_intent(training):
    url = f"/api/training/models/{training.model_id}/trial"
    started = training.client.post(f"{url}/start", headers=training.headers)
    assert started.status_code == 200 and started.json()["status"] == "starting"
    # While it loads, a message is refused with a reason, never lost silently nor a 500.
    loading = training.client.post(
        url, json={"text": "투어 언제 있어요"}, headers=training.headers | {"Accept-Language": "ko"}
    )
    assert loading.status_code == 409 and loading.json()["code"] == "trial_not_ready"
    assert "불러오는 중" in loading.json()["detail"]
    _wait_for(training, "ready")

    answered = training.client.post(url, json={"text": "투어 언제 있어요"}, headers=training.headers)
    assert answered.status_code == 200, answered.text
    (turn,) = answered.json()["turns"]
    assert turn["text"] == "투어 언제 있어요" and turn["intent"] == "tour_info" and turn["confidence"] == 0.93
    assert turn["replies"][0]["text"] == "시험 답: 투어 언제 있어요"
    training.client.post(url, json={"text": "고마워요"}, headers=training.headers)
    assert [t["text"] for t in _wait_for(training, "ready")["turns"]] == ["투어 언제 있어요", "고마워요"]

    # One scratch conversation of its own on the staging Rasa; the live Rasa was never sent a message.
    senders = set(training.senders.read_text().split())
    assert len(senders) == 1 and senders.pop().startswith("console-trial:")
    assert not [path for path in training.rasa.requested if "webhook" in path or "parse" in path]


def test_the_test_chat_refuses_bad_input_and_too_many_messages_and_is_for_admins_only(training):
    url = f"/api/training/models/{training.model_id}/trial"
    for text in ("", "가" * 1001):
        assert training.client.post(url, json={"text": text}, headers=training.headers).status_code == 422
    assert training.client.post(url, json={"text": "안녕"}, headers=bearer(training.client, STAFF)).status_code == 403
    assert training.client.post(url, json={"text": "안녕"}).status_code == 401
    assert (
        training.client.post(
            "/api/training/models/999/trial", json={"text": "안녕"}, headers=training.headers
        ).status_code
        == 404
    )

    settings = training.settings.model_copy(update={"rate_limit_model_trial_per_user": "3/minute"})
    training.client.app.state.rate_limits = RateLimits(settings)
    training.client.post(f"{url}/start", headers=training.headers)
    _wait_for(training, "ready")
    statuses = [
        training.client.post(url, json={"text": f"질문 {n}"}, headers=training.headers).status_code for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_the_staging_rasa_stops_after_idling_and_trying_another_model_replaces_it(training):
    training.settings.training_trial_idle_seconds = 2
    url = f"/api/training/models/{training.model_id}/trial"
    training.client.post(f"{url}/start", headers=training.headers)
    _wait_for(training, "ready")
    staging = trial.for_app(training.client.app.state).current()
    _wait_for(training, "stopped", timeout=15)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{staging.url}/status", timeout=1)

    # Trying the live model meanwhile stops the other one: one staging Rasa at a time.
    models = training.client.get("/api/training/models", headers=training.headers).json()
    live_id = next(m["id"] for m in models if m["live"])
    training.settings.training_trial_idle_seconds = 600
    training.client.post(f"{url}/start", headers=training.headers)
    first = trial.for_app(training.client.app.state).current()
    second = training.client.post(f"/api/training/models/{live_id}/trial/start", headers=training.headers).json()
    assert second["model_id"] == live_id and first.stop.is_set()


def test_the_console_test_chat_works_without_javascript(training):
    browser, csrf = _signed_in(training.client, ADMIN)
    page = f"{HOME}/models/{training.model_id}/try"
    assert 'data-testid="trial-start"' in browser.get(page).text
    started = browser.post(f"{page}/start", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303
    assert 'http-equiv="refresh"' in browser.get(page).text  # reloads itself while the model loads
    _wait_for(training, "ready")
    sent = browser.post(page, data={"csrf_token": csrf, "text": "DMZ 투어 알려줘"}, follow_redirects=False)
    assert (sent.status_code, sent.headers["location"]) == (303, page)
    shown = browser.get(page).text
    assert "시험 답: DMZ 투어 알려줘" in shown and 'data-intent="tour_info"' in shown and "93.0%" in shown
    assert "투어 예약" in shown  # the reply's button
    empty = browser.post(page, data={"csrf_token": csrf, "text": "  "}, follow_redirects=False)
    assert empty.status_code == 422 and "보낼 문장을 적어 주세요" in empty.text
