"""The safety gate and the test chat with real models: a candidate trained so loosely that it is worse than the live
model on the regression set cannot be activated without a recorded reason; before that, an admin talks to it in the
console's test chat (a real staging Rasa), in real Chromium. Screenshots go to var/screenshots/."""

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.core.database import make_engine, make_sessionmaker
from api.core.settings import PROJECT_ROOT
from api.staff.service import create_user
from tests.support.browser import LAPTOP, chromium
from tests.support.stack import DEFAULT_MODEL, Stack

pytestmark = pytest.mark.stack

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
ADMIN_EMAIL, ADMIN_PASSWORD = "gate.admin@paju.example", "nlu-gate-2026!"
HOME = "/console/admin/training"


def _worse_config(project: Path) -> None:
    """The live pipeline with an intent classifier whose margin is so soft that it hardly learns: a model that is
    surely worse (about half of the held-out set wrong)."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    classifiers = [c for c in config["pipeline"] if c["name"].endswith("LinearIntentClassifier")]
    assert classifiers, "the live pipeline has no LinearIntentClassifier to make worse"
    for component in classifiers:
        component["C"] = 0.01
    (project / "config.worse.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[Stack]:
    """The api (with its training worker and test chat) and the action server; no live Rasa is needed."""
    root = tmp_path_factory.mktemp("gate")
    project, models = root / "project", root / "models"
    project.mkdir()
    shutil.copytree(PROJECT_ROOT / "domain", project / "domain")
    shutil.copytree(PROJECT_ROOT / "data", project / "data", ignore=shutil.ignore_patterns("admin.yml"))
    _worse_config(project)
    live = DEFAULT_MODEL.resolve()
    models.mkdir()
    shutil.copyfile(live, models / live.name)
    (models / "current.tar.gz").symlink_to(live.name)
    stack = Stack(
        root / "stack",
        model=models / "current.tar.gz",
        extra_env={
            "TRAINING_PROJECT_DIR": str(project),
            "TRAINING_MODELS_DIR": str(models),
            "TRAINING_RUNS_DIR": str(root / "runs"),
            "TRAINING_CONFIG": "config.worse.yml",
            "ADMIN_TOTP_REQUIRED": "false",
            "KNOWLEDGE_WARM_UP": "false",
        },
    )
    try:
        stack.start(only=("api", "actions"))
        engine = make_engine(stack.database_url)
        with make_sessionmaker(engine)() as session:
            create_user(session, ADMIN_EMAIL, "정관리", ADMIN_PASSWORD, role="admin")
            session.commit()
        engine.dispose()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture
def browser(tmp_path, api):
    driver = chromium(tmp_path / "profile", LAPTOP)
    yield driver
    driver.quit()


def _by(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def _shot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("document.body.style.zoom = '0.8'")
    browser.save_screenshot(str(SCREENSHOTS / f"training-gate-{name}.png"))
    browser.execute_script("document.body.style.zoom = '1'")


def _wait(condition, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s")


def test_a_worse_candidate_is_tried_in_the_test_chat_and_goes_live_only_with_a_recorded_reason(api, browser):
    client = httpx.Client(base_url=api.url("api"), timeout=60)
    token = client.post("/api/auth/sign-in", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    live_id = client.get("/api/training/live").json()["model"]["id"]

    started = time.monotonic()
    run = client.post("/api/training/runs", json={}).json()

    def finished():
        current = client.get(f"/api/training/runs/{run['id']}").json()
        return current if current["status"] != "running" else None

    run = _wait(finished, timeout=1500, every=5)
    assert run["status"] == "succeeded", (run["error"] or "") + "\n" + run["log"][-3000:]
    print(f"training and evaluating both models took {time.monotonic() - started:.0f} s")
    model = client.get(f"/api/training/models/{run['model_id']}").json()
    comparison = model["evaluation"]["comparison"]
    regression = comparison["regression"]
    assert regression["candidate"]["count"] == regression["live"]["count"] >= 40
    assert regression["candidate"]["accuracy"] < regression["live"]["accuracy"], regression
    assert comparison["held_out"]["live"]["count"] == comparison["held_out"]["candidate"]["count"] > 100

    gate = client.get(f"/api/training/models/{model['id']}/gate", headers={"Accept-Language": "ko"}).json()
    assert gate["blocked"] and any("회귀 세트 정확도" in reason for reason in gate["reasons"])
    refused = client.post(f"/api/training/models/{model['id']}/activate", json={})
    assert refused.status_code == 409 and refused.json()["code"] == "model_gated"
    assert client.get("/api/training/live").json()["model"]["id"] == live_id

    # In the console: the model page shows the gate; the test chat talks to the candidate before it is live.
    wait = WebDriverWait(browser, 60)
    browser.get(f"{api.url('api')}{HOME}/models/{model['id']}")
    wait.until(ec.element_to_be_clickable(_by("signin-email"))).send_keys(ADMIN_EMAIL)
    browser.find_element(*_by("signin-password")).send_keys(ADMIN_PASSWORD)
    browser.find_element(*_by("signin-submit")).click()
    gate_card = wait.until(ec.visibility_of_element_located(_by("gate")))
    assert gate_card.get_attribute("data-blocked") == "true"
    _shot(browser, "model")

    browser.find_element(*_by("try-link")).click()
    wait.until(ec.element_to_be_clickable(_by("trial-start"))).click()
    loading = time.monotonic()
    WebDriverWait(browser, 300, poll_frequency=2).until(ec.visibility_of_element_located(_by("trial-text")))
    print(f"the staging Rasa loaded the candidate in {time.monotonic() - loading:.0f} s")
    replied = time.monotonic()
    browser.find_element(*_by("trial-text")).send_keys("안녕하세요")
    browser.find_element(*_by("trial-send")).click()
    parsed = wait.until(ec.visibility_of_element_located(_by("trial-parsed")))
    print(f"the test chat answered in {time.monotonic() - replied:.1f} s")
    assert parsed.get_attribute("data-intent"), parsed.text
    assert browser.find_elements(*_by("trial-reply")) or browser.find_elements(*_by("trial-no-reply"))
    _shot(browser, "trial")

    # Activation asks first; the gated model needs a reason, which the history then shows.
    browser.get(f"{api.url('api')}{HOME}/models/{model['id']}/activate")
    reason = "시험 대화로 확인했고, 회귀 세트 하락은 다음 학습에서 고칠게요"
    wait.until(ec.visibility_of_element_located(_by("confirm-reason"))).send_keys(reason)
    _shot(browser, "confirm")
    browser.find_element(*_by("confirm-button")).click()
    shown = wait.until(ec.visibility_of_element_located(_by("activation-reason")))
    assert shown.text == reason
    _shot(browser, "history")
    (latest, *_) = client.get("/api/training/activations").json()
    assert latest["model_id"] == model["id"] and latest["confirm_reason"] == reason and latest["gate_reasons"]
    client.delete("/api/training/trial")
