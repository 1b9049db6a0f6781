"""Sending SMS (one-time codes): a pluggable sender. Only the development one exists; no real provider is connected."""

import logging
from typing import Protocol

from sqlalchemy.orm import Session

from api.core.privacy import mask_phone
from api.core.settings import Settings
from api.notices.models import SmsMessage

logger = logging.getLogger("api.sms")


class SmsSender(Protocol):
    def send(self, session: Session, phone: str, text: str) -> None:
        """Sends `text` to `phone` (digits only) as part of the caller's transaction."""


class LogSmsSender:
    """Development: the message goes to the log, the phone masked, and to the sms_outbox table."""

    name = "log"

    def send(self, session: Session, phone: str, text: str) -> None:
        session.add(SmsMessage(phone=phone, text=text, sender=self.name))
        logger.info("sms sent", extra={"to": mask_phone(phone), "text": text})


def sms_sender(settings: Settings) -> SmsSender:
    senders = {"log": LogSmsSender}
    return senders[settings.sms_sender]()
