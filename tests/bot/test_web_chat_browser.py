"""The web chat's link buttons in headless Chromium, against the gateway and the api in this process: a link opens in
a new tab and says nothing to the assistant."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app as create_api
from bot.gateway.api_client import ApiClient
from bot.gateway.app import create_app as create_gateway
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limits import GatewayLimits
from bot.gateway.router import MessageRouter
from bot.gateway.settings import GatewaySettings
from tests.support.browser import CHROMEDRIVER, CHROMIUM, PHONE, chromium

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason="no chromium: `make browser` installs it"
)

TOKEN = "web-chat-browser-test-token-0123"
LINK = "https://paju.example/www/contents.do?key=2871&tab=passport"


class Answerer:
    """A Rasa that answers the knowledge question with a link, a javascript: address and a postback."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(json.loads(request.content)["message"])
        buttons = [
            {"title": "자세히 보기 (누리집)", "payload": LINK},
            {"title": "위험한 링크", "payload": "javascript:alert(document.cookie)"},
            {"title": "도움이 됐어요", "payload": '/knowledge_feedback{"ask_id":"1","helpful":"yes"}'},
        ]
        text = "여권은 시청 민원여권과에서 발급해요.\n민원여권과 031-940-4000"
        return httpx.Response(200, json={"messages": [{"text": text, "buttons": buttons}], "parse": None})


@pytest.fixture
def rasa() -> Answerer:
    return Answerer()


@pytest.fixture
def gateway_url(tmp_path, rasa) -> Iterator[str]:
    """The gateway on a loopback port (without its lifespan: no Telegram, no outbox loop), calling the api app."""
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    api_app = create_api(Settings(database_url=url, service_token=TOKEN))
    settings = GatewaySettings(_env_file=None, service_token=TOKEN, web_session_secret="browser-test-secret-0123456789")
    gateway = create_gateway(settings)
    gateway.state.api = ApiClient("http://api", TOKEN, 5, transport=httpx.ASGITransport(app=api_app))
    gateway.state.router = MessageRouter(
        gateway.state.api, RasaClient("http://rasa.test", 5, transport=httpx.MockTransport(rasa)), 1000
    )
    gateway.state.limits = GatewayLimits(settings)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(gateway, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()
        api_app.state.engine.dispose()


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "profile", PHONE)
    # Headless Chromium keeps a window at least 500 pixels wide: the page is told it is a phone's 390.
    width, height = (int(n) for n in PHONE.split(","))
    metrics = {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    yield driver
    driver.quit()


def _link_buttons(browser) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out .choices a.choice.link")


def test_a_link_button_is_an_anchor_to_a_new_tab_that_sends_nothing_and_a_javascript_one_is_not_shown(
    browser, gateway_url, rasa, tmp_path
):
    browser.get(gateway_url + "/")
    wait = WebDriverWait(browser, 20)
    wait.until(ec.element_to_be_clickable((By.ID, "message"))).send_keys("여권 어디서 만들어요?", Keys.ENTER)
    wait.until(lambda b: _link_buttons(b))

    [link] = _link_buttons(browser)
    assert link.tag_name == "a" and link.get_attribute("href") == LINK
    assert (link.get_attribute("target"), link.get_attribute("rel")) == ("_blank", "noopener noreferrer")
    assert link.find_elements(By.CSS_SELECTOR, "svg.icon"), "a small sign that the link leaves the chat"
    # Screen readers hear it too, in the browser's language.
    assert any(hint in link.get_attribute("textContent") for hint in ("(새 탭에서 열림)", "(opens in a new tab)"))
    choices = browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out .choices .choice")
    assert [c.tag_name for c in choices] == ["a", "button"], "the order Rasa gave, the unsafe one left out"
    assert "위험한 링크" not in browser.find_element(By.ID, "messages").text
    assert browser.execute_script("return document.querySelectorAll('[href^=\"javascript\" i]').length") == 0
    # Laid out for a phone: nothing scrolls sideways, and the link sits where the buttons do.
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(tmp_path / "web-chat-link-button.png"))

    link.click()
    wait.until(lambda b: len(b.window_handles) == 2)
    time.sleep(0.5)
    assert rasa.sent == ["여권 어디서 만들어요?"], "opening the link says nothing to the assistant"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.in")) == 1

    # After a reload the buttons of the old answer are spent, but its link still opens.
    browser.refresh()
    wait.until(lambda b: _link_buttons(b))
    [again] = _link_buttons(browser)
    assert again.get_attribute("href") == LINK and again.is_enabled()
    assert not browser.find_element(By.CSS_SELECTOR, "#messages .bubble.out button.choice").is_enabled()
