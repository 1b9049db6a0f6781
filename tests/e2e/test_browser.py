"""A person uses the web chat in headless Chromium (Debian's chromium and chromedriver)."""

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import PHONE, chromium

pytestmark = pytest.mark.stack


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "profile", PHONE)
    yield driver
    driver.quit()


def _bot_bubbles(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#messages .bubble.out")


def test_a_person_types_a_greeting_and_reads_the_reply_then_presses_a_button(browser, stack, tmp_path):
    browser.get(stack.url("gateway") + "/")
    wait = WebDriverWait(browser, 30)
    box = wait.until(ec.element_to_be_clickable((By.ID, "message")))
    box.send_keys("안녕하세요", Keys.ENTER)

    wait.until(lambda b: len(_bot_bubbles(b)) >= 1)
    greeting = _bot_bubbles(browser)[0]
    assert "파주시 시민 도우미" in greeting.text
    user_bubble = browser.find_element(By.CSS_SELECTOR, "#messages .bubble.in")
    assert user_bubble.text == "안녕하세요"

    help_button = greeting.find_element(By.XPATH, ".//button[contains(., '무엇을 할 수 있나요?')]")
    help_button.click()
    wait.until(lambda b: len(_bot_bubbles(b)) >= 2)
    assert "도와드릴 수 있는 일" in _bot_bubbles(browser)[1].text
    assert not help_button.is_enabled(), "a pressed button group can't be pressed twice"

    # The page fits a phone: nothing scrolls sideways.
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(tmp_path / "web-chat.png"))

    # A reload shows the same conversation from the transcript.
    browser.refresh()
    wait.until(lambda b: len(_bot_bubbles(b)) >= 2)
    assert "파주시 시민 도우미" in _bot_bubbles(browser)[0].text

    # Who the citizen is lives in a cookie the page's script cannot read, and nowhere else in the browser.
    [cookie] = browser.get_cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("paju_chat", True, "Lax")
    assert "paju_chat" not in browser.execute_script("return document.cookie")
    assert browser.execute_script("return window.localStorage.length + window.sessionStorage.length") == 0


def test_another_browser_starts_its_own_conversation_and_sees_nothing_of_the_first(browser, stack, tmp_path):
    browser.get(stack.url("gateway") + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(ec.element_to_be_clickable((By.ID, "message"))).send_keys("안녕하세요", Keys.ENTER)
    wait.until(lambda b: len(_bot_bubbles(b)) >= 1)

    other = chromium(tmp_path / "other-profile", PHONE)
    try:
        other.get(stack.url("gateway") + "/")
        WebDriverWait(other, 30).until(ec.element_to_be_clickable((By.ID, "message")))
        time.sleep(1)  # the page has asked for its history
        assert other.find_elements(By.CSS_SELECTOR, "#messages .bubble") == []
        assert other.get_cookies()[0]["value"] != browser.get_cookies()[0]["value"]
    finally:
        other.quit()
