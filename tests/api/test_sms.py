"""One-time codes by SMS: the code reaches the phone and nothing else; a provider that is down issues no code."""

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from api.core.settings import Settings
from api.identity.errors import SmsNotSent
from api.identity.models import SmsMessage, VerificationCode
from api.identity.sms import HttpSmsSender, LogSmsSender, sms_sender
from tests.api.conftest import SERVICE_HEADERS
from tests.support.fake_sms import API_KEY, SENDER_NUMBER, FakeSmsProvider

PHONE = "010-2345-6789"
KO = {"Accept-Language": "ko"}
WHO = {"channel": "telegram", "channel_user_id": "42"}


@pytest.fixture
def provider() -> Iterator[FakeSmsProvider]:
    running = FakeSmsProvider().start()
    yield running
    running.stop()


@pytest.fixture
def settings(settings: Settings, provider: FakeSmsProvider) -> Settings:
    sms = provider.settings() | {"sms_api_key": SecretStr(API_KEY), "sms_timeout_seconds": 0.5}
    return settings.model_copy(update=sms)


def _ask_for_code(client):
    body = {**WHO, "text": "안녕하세요", "language": "ko"}
    assert client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).status_code == 201
    return client.post("/api/phone-links", json={**WHO, "phone": PHONE}, headers=SERVICE_HEADERS | KO)


def _stored(client, table) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_the_development_sender_logs_and_keeps_the_message_with_phone_and_code_masked(client, caplog):
    with client.app.state.sessionmaker() as session, caplog.at_level(logging.INFO, logger="api.sms"):
        LogSmsSender().send(session, "01023456789", "[파주시] 인증번호 123456 · Paju City code: 123456", "123456")
        session.commit()
        kept = session.scalar(select(SmsMessage))
    assert kept.text == "[파주시] 인증번호 ****** · Paju City code: ******"
    [record] = [r for r in caplog.records if r.name == "api.sms"]
    assert record.to == "010-****-6789" and record.text == kept.text
    assert "123456" not in caplog.text


def test_the_http_sender_posts_the_code_to_the_provider_and_keeps_only_the_masked_text(client, provider, caplog):
    with caplog.at_level(logging.INFO, logger="api.sms"):
        response = _ask_for_code(client)
    assert response.status_code == 202, response.text
    [sms] = provider.received
    assert (sms.to, sms.sender, sms.authorization) == ("01023456789", SENDER_NUMBER, f"Bearer {API_KEY}")
    code = provider.last_code(PHONE)
    assert f"인증번호 {code}" in sms.text
    with client.app.state.sessionmaker() as session:
        kept = session.scalar(select(SmsMessage))
    assert kept.sender == "http" and code not in kept.text and "인증번호 ******" in kept.text
    assert code not in caplog.text and API_KEY not in caplog.text
    confirmed = client.post("/api/phone-links/confirm", json={**WHO, "code": code}, headers=SERVICE_HEADERS)
    assert confirmed.status_code == 200, confirmed.text


@pytest.mark.parametrize("trouble", ["refused", "timeout", "no_connection"])
def test_when_the_provider_is_down_the_citizen_hears_the_code_was_not_sent_and_no_code_is_issued(
    client, provider, trouble
):
    if trouble == "refused":
        provider.status = 503
    elif trouble == "timeout":
        provider.delay_seconds = 1.5
    else:
        provider.stop()
    response = _ask_for_code(client)
    assert response.status_code == 503
    assert response.json() == {
        "code": "sms_not_sent",
        "detail": "지금 인증번호 문자를 보내지 못했어요. 몇 분 뒤에 다시 요청해 주세요.",
    }
    assert _stored(client, VerificationCode) == 0 and _stored(client, SmsMessage) == 0
    confirm = client.post("/api/phone-links/confirm", json={**WHO, "code": "123456"}, headers=SERVICE_HEADERS)
    assert confirm.json()["code"] == "code_not_requested"


def test_the_http_sender_raises_a_domain_error_the_service_can_pass_on(client):
    sender = sms_sender(client.app.state.settings.model_copy(update={"sms_api_url": "http://127.0.0.1:9/sms"}))
    assert isinstance(sender, HttpSmsSender)
    with client.app.state.sessionmaker() as session, pytest.raises(SmsNotSent):
        sender.send(session, "01023456789", "인증번호 123456", "123456")


def test_sms_sender_http_refuses_to_start_without_url_key_and_sender_number(database_url):
    with pytest.raises(ValidationError, match="SMS_SENDER=http needs SMS_API_URL, SMS_API_KEY, SMS_FROM"):
        Settings(database_url=database_url, sms_sender="http")
    assert isinstance(sms_sender(Settings(database_url=database_url)), LogSmsSender)
