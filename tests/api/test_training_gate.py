"""The safety gate before activation: the candidate and the live model measured on the same messages, activation of
a worse candidate refused without a recorded reason, the regression set extended from the console.

A stand-in evaluation script (below) answers as scripts/evaluate_nlu.py does, getting wrong exactly the messages a
test says, for the candidate's file or the live model's: the api's side is tested without TensorFlow.
tests/e2e/test_training_gate.py does it with real models.
"""

import json
import os
import re
import sys

import pytest
from sqlalchemy import select

from api.staff.models import AuditEntry, StaffUser
from api.training import regression
from api.training.models import InboxItem
from tests.api.conftest import SERVICE_HEADERS
from tests.api.test_training_console import HOME, _signed_in
from tests.api.training_fixtures import ADMIN, bearer, training_environment, wait_for_run

# Which model gets which messages wrong: {set name: {expected intent: predicted}}, read from a file named by the
# environment, so each test decides. Set names: regression and candidate_held_out (the candidate's file),
# live_regression and live_held_out (the live model's file), held_out (the held-out model).
EVALUATOR = """#!{python}
import json, os, sys
_script, job_path, result_path = sys.argv[1:]
job = json.load(open(job_path))
wrong = json.load(open(os.environ["GATE_TEST_WRONG"])) if os.environ.get("GATE_TEST_WRONG") else {{}}
predictions = {{}}
for entry in job["trainings"] + job["models"]:
    print("evaluation step 1/1: classifying", flush=True)
    for name, messages in entry["sets"].items():
        for message in messages:
            predicted = wrong.get(name, {{}}).get(message["expected"], message["expected"])
            predictions.setdefault(name, []).append(
                {{"text": message["text"], "expected": message["expected"], "predicted": predicted, "confidence": 0.8}}
            )
json.dump({{"predictions": predictions, "job": job}}, open(result_path, "w"))
"""


@pytest.fixture
def training(database_url, tmp_path, monkeypatch):
    with training_environment(database_url, tmp_path) as environment:
        python = environment.settings.training_rasa_env / "bin" / "python"
        python.write_text(EVALUATOR.format(python=sys.executable))
        wrong = tmp_path / "wrong.json"
        wrong.write_text("{}")
        monkeypatch.setenv("GATE_TEST_WRONG", str(wrong))
        environment.wrong = wrong
        # Signed in once: sign-ins are rate-limited per client.
        environment.headers = bearer(environment.client)
        yield environment


def _train(training, wrong: dict | None = None) -> dict:
    training.wrong.write_text(json.dumps(wrong or {}))
    response = training.client.post("/api/training/runs", json={}, headers=training.headers)
    assert response.status_code == 202, response.text
    run = wait_for_run(training.client, response.json()["id"])
    assert run.status == "succeeded", run.error
    model = training.client.get(f"/api/training/models/{run.model_id}", headers=training.headers).json()
    return model | {"run_id": run.id}


def _activate(training, model_id: int, body: dict | None = None, language: str = "en"):
    headers = training.headers | {"Accept-Language": language}
    return training.client.post(f"/api/training/models/{model_id}/activate", json=body, headers=headers)


def _live_id(training) -> int:
    return training.client.get("/api/training/live", headers=training.headers).json()["model"]["id"]


# --- the comparison ---------------------------------------------------------------------------------------


def test_the_candidate_and_the_live_model_file_classify_the_same_held_out_split_and_regression_set(training):
    model = _train(training)
    comparison = model["evaluation"]["comparison"]
    assert comparison["live_file"] == training.live_model.name
    for set_name in ("held_out", "regression"):
        ours, theirs = comparison[set_name]["candidate"], comparison[set_name]["live"]
        assert ours["count"] == theirs["count"] > 0, set_name
        assert {n: i["support"] for n, i in ours["intents"].items()} == {
            n: i["support"] for n, i in theirs["intents"].items()
        }
    # The held-out split is the one the held-out model was measured on.
    assert comparison["held_out"]["candidate"]["count"] == model["evaluation"]["held_out"]["count"]
    # The live model trained outside the console now has regression figures of its own in the list.
    models = training.client.get("/api/training/models", headers=training.headers).json()
    live = next(m for m in models if m["live"])
    assert live["evaluation"]["regression"]["count"] == comparison["regression"]["live"]["count"]


def test_a_candidate_as_good_as_the_live_model_is_activated_without_a_reason(training):
    model = _train(training)
    gate = training.client.get(f"/api/training/models/{model['id']}/gate", headers=training.headers).json()
    assert gate["compared"] and not gate["blocked"] and gate["reasons"] == []
    assert {change["set_name"] for change in gate["changes"]} == {"held_out", "regression"}
    activated = _activate(training, model["id"])
    assert activated.status_code == 200, activated.text
    assert activated.json()["confirm_reason"] is None and _live_id(training) == model["id"]


# --- blocking -------------------------------------------------------------------------------------------------


def test_a_candidate_worse_on_the_regression_set_is_refused_without_a_reason_in_the_callers_language(training):
    model = _train(training, {"regression": {"greet": "out_of_scope"}})
    gate = training.client.get(f"/api/training/models/{model['id']}/gate", headers=training.headers).json()
    assert gate["blocked"]
    assert any("Regression accuracy falls" in reason for reason in gate["reasons"])
    (greet,) = [c for c in gate["changes"] if c["intent"] == "greet" and c["set_name"] == "regression"]
    assert greet["blocks"] and greet["live_f1"] == 1.0 and greet["candidate_f1"] == 0.0 and greet["change"] == -1.0

    for body in (None, {}, {"confirm_reason": "   "}):
        refused = _activate(training, model["id"], body)
        assert refused.status_code == 409, body
        assert refused.json()["code"] == "model_gated"
        assert "greet" in refused.json()["detail"] and "confirm_reason" in refused.json()["detail"]
    korean = _activate(training, model["id"], language="ko").json()["detail"]
    assert "안전 검사에서 막혔어요" in korean and "회귀 세트 정확도" in korean
    assert _live_id(training) != model["id"]

    reason = "인사 문장은 다음 학습에서 고칠 예정이고, 새 의도가 급해요"
    activated = _activate(training, model["id"], {"confirm_reason": reason})
    assert activated.status_code == 200, activated.text
    assert activated.json()["confirm_reason"] == reason
    assert any("greet" in blocked for blocked in activated.json()["gate_reasons"])
    assert _live_id(training) == model["id"]
    history = training.client.get("/api/training/activations", headers=training.headers).json()
    assert history[0]["confirm_reason"] == reason
    with training.client.app.state.sessionmaker() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "model_activate"))
        assert reason in entry.reason and entry.subject == f"model:{model['id']}"


def test_an_intent_falling_by_more_than_the_margin_on_the_held_out_split_blocks_and_a_smaller_fall_does_not(
    training,
):
    # Every greeting of the held-out split wrong for the candidate only: greet's F1 falls from 1 to 0.
    model = _train(training, {"candidate_held_out": {"greet": "goodbye"}})
    gate = training.client.get(f"/api/training/models/{model['id']}/gate", headers=training.headers).json()
    assert gate["blocked"] and any("'greet'" in reason for reason in gate["reasons"])
    assert "greet" in {c["intent"] for c in gate["changes"] if c["blocks"] and c["set_name"] == "held_out"}
    # With a margin above the fall it passes (the regression set is unchanged).
    training.settings.training_gate_f1_drop = 1.0
    assert _activate(training, model["id"]).status_code == 200


def test_rolling_back_is_never_gated_and_a_comparison_with_a_model_no_longer_live_blocks(training):
    worse = _train(training, {"regression": {"greet": "out_of_scope"}})
    better = _train(training)
    assert _activate(training, better["id"]).status_code == 200
    # `worse` was compared with the model live then, which no longer is: it must be compared again or confirmed.
    gate = training.client.get(f"/api/training/models/{worse['id']}/gate", headers=training.headers).json()
    assert gate["blocked"] and not gate["compared"] and training.live_model.name in gate["reasons"][0]
    # Back to the first model: no gate stands in the way of undoing.
    rollback = training.client.post("/api/training/rollback", headers=training.headers)
    assert rollback.status_code == 200, rollback.text
    assert rollback.json()["kind"] == "rollback" and rollback.json()["confirm_reason"] is None


# --- the regression set ---------------------------------------------------------------------------------------


def _inbox_item(training, text: str) -> int:
    body = {"channel": "web", "channel_user_id": "c1", "channel_message_id": text, "text": text}
    sent = training.client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS)
    report = {"message_id": sent.json()["message_id"], "text": text, "language": "ko", "intent": "greet"}
    report["confidence"] = 0.3
    assert training.client.post("/api/training/inbox", json=report, headers=SERVICE_HEADERS).status_code == 202
    with training.client.app.state.sessionmaker() as session:
        return session.scalar(select(InboxItem.id).where(InboxItem.text == text))


def test_an_inbox_message_added_to_the_regression_set_is_tested_on_the_next_run_and_can_be_removed(training):
    headers = training.headers
    shipped = training.client.get("/api/training/regression", headers=headers).json()
    assert len(shipped) >= 40 and all(entry["id"] is None for entry in shipped)
    item_id = _inbox_item(training, "DMZ 버스 몇 시에 떠나요")
    added = training.client.post(
        f"/api/training/inbox/{item_id}/regression", json={"intent": "tour_info"}, headers=headers
    )
    assert added.status_code == 201, added.text
    assert added.json()["intent"] == "tour_info" and added.json()["added_by"] == "김관리"
    again = training.client.post(
        f"/api/training/inbox/{item_id}/regression", json={"intent": "tour_info"}, headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "duplicate_regression_message"
    # A shipped sentence, an intent no example has and an empty text are refused with a reason.
    for body, status in (
        ({"language": "ko", "intent": shipped[0]["intent"], "text": shipped[0]["text"]}, 409),
        ({"language": "ko", "intent": "no_such_intent", "text": "아무 문장"}, 422),
        ({"language": "ko", "intent": "greet", "text": "   "}, 422),
    ):
        refused = training.client.post("/api/training/regression", json=body, headers=headers)
        assert refused.status_code == status, (body, refused.text)
        assert refused.json()["detail"]

    # The next run classifies it with both models, the candidate getting it wrong: the gate blocks.
    model = _train(training, {"regression": {"tour_info": "tour_list"}})
    errors = model["evaluation"]["comparison"]["regression"]["candidate"]["errors"]
    assert {
        "text": "DMZ 버스 몇 시에 떠나요",
        "expected": "tour_info",
        "predicted": "tour_list",
        "confidence": 0.8,
    } in errors
    assert model["evaluation"]["regression"]["count"] == len(shipped) + 1

    removed = training.client.delete(f"/api/training/regression/{added.json()['id']}", headers=headers)
    assert removed.status_code == 204
    assert len(training.client.get("/api/training/regression", headers=headers).json()) == len(shipped)
    assert training.client.delete(f"/api/training/regression/{added.json()['id']}", headers=headers).status_code == 404
    with training.client.app.state.sessionmaker() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"regression_add", "regression_remove"} <= actions


def test_regression_messages_of_the_file_and_the_console_are_one_set_without_repeats(training):
    with training.client.app.state.sessionmaker() as session:
        admin = session.scalar(select(StaffUser).where(StaffUser.email == ADMIN))
        regression.add(session, training.settings, admin, "en", "greet", "hey there assistant")
        messages = regression.messages(session, training.settings)
    assert messages.count({"text": "hey there assistant", "expected": "greet"}) == 1
    assert len(messages) == len(regression.file_entries(training.settings)) + 1


# --- the console ----------------------------------------------------------------------------------------------


def test_activation_in_the_console_asks_first_and_a_gated_model_needs_a_reason_shown_in_the_history(training):
    model = _train(training, {"regression": {"greet": "out_of_scope"}})
    browser, csrf = _signed_in(training.client, ADMIN)
    model_page = browser.get(f"{HOME}/models/{model['id']}").text
    assert 'data-testid="gate" data-blocked="true"' in model_page
    assert 'data-intent="greet" data-set="regression" class="blocks"' in model_page
    # The run's page shows the same gate as soon as the run is done.
    assert 'data-testid="gate" data-blocked="true"' in browser.get(f"{HOME}/runs/{model['run_id']}").text
    # The button is a link to a confirmation page; nothing changes until its form is sent.
    assert f'href="{HOME}/models/{model["id"]}/activate" data-testid="activate-button"' in model_page
    confirm = browser.get(f"{HOME}/models/{model['id']}/activate").text
    assert "전환할까요?" in confirm and 'data-testid="confirm-reason"' in confirm and "회귀 세트 정확도" in confirm
    assert _live_id(training) != model["id"]

    refused = browser.post(f"{HOME}/models/{model['id']}/activate", data={"csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 409 and "안전 검사에서 막혔어요" in refused.text
    sent = {"csrf_token": csrf, "confirm_reason": "시민 민원이 급해 먼저 반영"}
    activated = browser.post(f"{HOME}/models/{model['id']}/activate", data=sent, follow_redirects=False)
    assert activated.status_code == 303
    history = browser.get(f"{HOME}/models").text
    assert re.search(r'data-testid="activation-reason">시민 민원이 급해 먼저 반영<', history)

    # Rolling back asks too, without a gate.
    rollback = browser.get(f"{HOME}/rollback").text
    assert "되돌릴까요?" in rollback and 'data-testid="confirm-reason"' not in rollback
    back = browser.post(f"{HOME}/rollback", data={"csrf_token": csrf}, follow_redirects=False)
    assert back.status_code == 303 and _live_id(training) != model["id"]


def test_an_admin_adds_an_inbox_message_to_the_regression_set_in_one_click_and_removes_it(training):
    item_id = _inbox_item(training, "투어 버스 어디서 타요")
    browser, csrf = _signed_in(training.client, ADMIN)
    inbox = browser.get(f"{HOME}/inbox", params={"kind": "all"}).text
    assert f'formaction="{HOME}/inbox/{item_id}/regression"' in inbox
    form = {"csrf_token": csrf, "intent": "tour_info", "text": "투어 버스 어디서 타요", "back": f"{HOME}/inbox"}
    added = browser.post(f"{HOME}/inbox/{item_id}/regression", data=form, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (303, f"{HOME}/inbox")
    page = browser.get(f"{HOME}/regression").text
    row = re.search(r'data-testid="regression-row" data-id="(\d+)"', page)
    assert row and "투어 버스 어디서 타요" in page
    removed = browser.post(
        f"{HOME}/regression/{row.group(1)}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "투어 버스 어디서 타요" not in browser.get(f"{HOME}/regression").text


def test_deleting_a_model_file_asks_first_and_keeps_the_live_and_rollback_models(training):
    model = _train(training)
    browser, csrf = _signed_in(training.client, ADMIN)
    assert f'href="{HOME}/models/{model["id"]}/delete"' in browser.get(f"{HOME}/models/{model['id']}").text
    asked = browser.get(f"{HOME}/models/{model['id']}/delete").text
    assert "파일을 지울까요?" in asked and 'data-testid="confirm-button"' in asked
    assert os.path.exists(model["path"])
    deleted = browser.post(f"{HOME}/models/{model['id']}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert deleted.status_code == 303 and not os.path.exists(model["path"])
    # Its record stays; it can no longer go live, nor be tried.
    assert _activate(training, model["id"]).json()["code"] == "model_file_missing"
    tried = training.client.post(f"/api/training/models/{model['id']}/trial/start", headers=training.headers)
    assert tried.status_code == 409
    live = training.client.delete(f"/api/training/models/{_live_id(training)}", headers=training.headers)
    assert live.status_code == 409 and live.json()["code"] == "model_kept"
    assert training.live_model.exists()
