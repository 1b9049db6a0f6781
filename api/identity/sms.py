"""Sending SMS (one-time codes): a development sender and an SMS provider's HTTP API; no code is logged or kept."""

import logging
from typing import Protocol

import httpx
from sqlalchemy.orm import Session

from api.core.settings import Settings
from api.identity.errors import SmsNotSent
from api.identity.models import SmsMessage
from common.masking import mask_phone

logger = logging.getLogger("api.sms")


class SmsSender(Protocol):
    name: str

    def send(self, session: Session, phone: str, text: str, code: str) -> None:
        """Sends `text`, which contains the one-time `code`, to `phone` (digits only) as part of the caller's
        transaction; raises SmsNotSent when it could not. The code reaches the phone and nothing else."""


def without_code(text: str, code: str) -> str:
    return text.replace(code, "*" * len(code))


def _record(session: Session, sender: str, phone: str, text: str, code: str) -> None:
    """The sms_outbox row and the log line of a sent message, both with the code masked."""
    masked = without_code(text, code)
    session.add(SmsMessage(phone=phone, text=masked, sender=sender))
    logger.info("sms sent", extra={"to": mask_phone(phone), "text": masked, "sender": sender})


class LogSmsSender:
    """Development: the message, phone and code masked, goes to the log and the sms_outbox table; no phone gets it."""

    name = "log"

    def send(self, session: Session, phone: str, text: str, code: str) -> None:
        _record(session, self.name, phone, text, code)


class HttpSmsSender:
    """An SMS provider's HTTP API: `POST <SMS_API_URL>` with the JSON `{"from": SMS_FROM, "to": "01012345678",
    "text": ...}` and the header `Authorization: Bearer <SMS_API_KEY>`; any 2xx answer means the provider took it.

    Anything else (no connection, a timeout, another status) raises SmsNotSent, and the caller's transaction,
    which holds the new code, is not committed: a code the citizen never got is never valid.
    """

    name = "http"

    def __init__(self, url: str, api_key: str, sender_number: str, timeout: httpx.Timeout) -> None:
        self._url, self._api_key, self._from, self._timeout = url, api_key, sender_number, timeout

    def send(self, session: Session, phone: str, text: str, code: str) -> None:
        # One attempt: after a timeout the provider may still deliver, and a second code would confuse the citizen.
        try:
            response = httpx.post(
                self._url,
                json={"from": self._from, "to": phone, "text": text},
                headers={"Authorization": f"Bearer {self._api_key}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            logger.warning("sms provider unreachable", extra={"to": mask_phone(phone), "error": type(error).__name__})
            raise _not_sent() from error
        if not response.is_success:
            logger.warning("sms provider refused", extra={"to": mask_phone(phone), "status": response.status_code})
            raise _not_sent()
        _record(session, self.name, phone, text, code)


def _not_sent() -> SmsNotSent:
    return SmsNotSent(
        "The code could not be sent by SMS just now; please ask for it again in a few minutes.",
        "지금 인증번호 문자를 보내지 못했어요. 몇 분 뒤에 다시 요청해 주세요.",
    )


def sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_sender == "http":
        timeout = httpx.Timeout(settings.sms_timeout_seconds, connect=settings.sms_connect_timeout_seconds)
        return HttpSmsSender(settings.sms_api_url, settings.sms_api_key.get_secret_value(), settings.sms_from, timeout)
    return LogSmsSender()
