"""The public gateway hides its API docs and tells browsers what the chat page may load and who may frame it."""

import re

import pytest
from fastapi.testclient import TestClient

from bot.gateway.app import create_app
from bot.gateway.security_headers import content_security_policy
from bot.gateway.settings import GatewaySettings


def gateway(**settings) -> TestClient:
    # No lifespan: these routes need neither the api nor Rasa.
    return TestClient(create_app(GatewaySettings(api_url="http://127.0.0.1:8000", **settings)))


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_the_gateway_serves_no_api_docs(path):
    assert gateway().get(path).status_code == 404


def test_the_chat_page_allows_only_its_own_script_style_and_calls_and_no_framing():
    page = gateway().get("/")
    assert page.status_code == 200
    policy = directives(page.headers["content-security-policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_charts_from_the_api_and_the_photo_a_citizen_is_sending_may_be_shown_in_the_chat():
    policy = directives(content_security_policy("http://127.0.0.1:8000/", "'none'"))
    assert policy["img-src"].split() == ["'self'", "data:", "blob:", "https:", "http://127.0.0.1:8000"]


def test_the_city_can_allow_its_own_site_to_frame_the_chat():
    page = gateway(chat_frame_ancestors="https://www.paju.go.kr").get("/")
    assert directives(page.headers["content-security-policy"])["frame-ancestors"] == "https://www.paju.go.kr"


def test_static_files_and_json_answers_carry_the_headers_too():
    client = gateway()
    for response in (client.get("/static/chat.js"), client.get("/health"), client.get("/no-such-page")):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_chat_page_has_no_inline_script_or_style_the_policy_would_block():
    html = gateway().get("/").text
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+\s*=", html)  # no onclick= and the like
