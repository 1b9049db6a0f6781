"""The regression set: the shipped file's messages and those admins added in the console, each with its intent.

The file (TRAINING_REGRESSION_SET, tests/nlu/regression.yml) is the base every model was measured on; the console
adds to it in a table, so an admin can turn a citizen's message into a test without editing files, and removes only
what the console added. Neither part is training data: Rasa never learns from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.settings import Settings
from api.staff import service as staff_service
from api.training import data, texts
from api.training.errors import (
    DuplicateRegressionMessage,
    InboxItemNotFound,
    InvalidIntent,
    RegressionMessageNotFound,
)
from api.training.models import InboxItem, RegressionMessage
from common.clock import utcnow

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.staff.models import StaffUser

# Far above the shipped 45: enough for every intent's hard cases, few enough to classify in seconds per model.
MAX_CONSOLE_MESSAGES = 1000


@dataclass(frozen=True)
class Entry:
    """One message of the set as the console lists it; `id` is None for the shipped file's."""

    language: str
    text: str
    intent: str
    id: int | None = None
    added_by: str | None = None


def file_entries(settings: Settings) -> list[Entry]:
    path = settings.training_regression_set
    if not path.is_file():
        return []
    return [Entry(e.language, texts.plain(e.text), e.intent) for e in data.load_file(path).examples]


def console_entries(session: Session) -> list[RegressionMessage]:
    return list(session.scalars(select(RegressionMessage).order_by(RegressionMessage.id.desc())))


def entries(session: Session, settings: Settings) -> list[Entry]:
    """The whole set: the file's messages, then the console's (a text in both counts once, as the file says)."""
    found = file_entries(settings)
    seen = {(entry.language, texts.key(entry.text)) for entry in found}
    for message in reversed(console_entries(session)):
        if (message.language, texts.key(message.text)) not in seen:
            name = message.added_by.name if message.added_by else None
            found.append(Entry(message.language, message.text, message.intent, message.id, name))
    return found


def messages(session: Session, settings: Settings) -> list[dict[str, str]]:
    """The set as the evaluation classifies it: {"text", "expected"}."""
    return [{"text": entry.text, "expected": entry.intent} for entry in entries(session, settings)]


def add(
    session: Session,
    settings: Settings,
    user: StaffUser,
    language: str,
    intent: str,
    text: str,
    inbox_item_id: int | None = None,
) -> RegressionMessage:
    """Adds a message with the intent every model must give it; an intent the training data does not have is
    refused, since no model could pass it."""
    language = data.check_language(language)
    intent = data.check_intent(intent)
    text = texts.normalise(texts.plain(data.check_example(text)))
    if intent not in data.load(settings).intents():
        raise InvalidIntent(
            f"No training example has the intent '{intent}': add examples before testing it.",
            f"'{intent}' 의도의 예문이 없어요. 예문을 먼저 추가해 주세요.",
        )
    if any(entry.language == language and texts.key(entry.text) == texts.key(text) for entry in file_entries(settings)):
        raise DuplicateRegressionMessage(
            "This message is already in the regression set.", "이 문장은 이미 회귀 세트에 있어요."
        )
    if len(console_entries(session)) >= MAX_CONSOLE_MESSAGES:
        raise DuplicateRegressionMessage(
            f"The console's part of the regression set is full ({MAX_CONSOLE_MESSAGES}); remove some first.",
            f"콘솔에서 추가한 회귀 문장이 {MAX_CONSOLE_MESSAGES}개로 가득 찼어요. 몇 개를 지운 뒤 추가해 주세요.",
        )
    message = RegressionMessage(
        language=language,
        text=text,
        text_hash=texts.text_hash(text),
        intent=intent,
        inbox_item_id=inbox_item_id,
        added_by_id=user.id,
        added_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError as error:
        raise DuplicateRegressionMessage(
            "This message is already in the regression set.", "이 문장은 이미 회귀 세트에 있어요."
        ) from error
    staff_service.audit(session, user, "regression_add", f"regression:{message.id}", f"{intent}: {text}")
    session.commit()
    return message


def add_from_inbox(
    session: Session, settings: Settings, user: StaffUser, item_id: int, intent: str
) -> RegressionMessage:
    """An inbox message (already masked) becomes a regression message with the intent the admin gives it."""
    item = session.get(InboxItem, item_id)
    if item is None:
        raise InboxItemNotFound(f"inbox item {item_id} not found", f"받은 문장 {item_id}이(가) 없어요.")
    return add(session, settings, user, item.language, intent or item.label_intent or "", item.text, item.id)


def remove(session: Session, user: StaffUser, message_id: int) -> None:
    """Removes a message the console added; the shipped file's cannot be removed here."""
    message = session.get(RegressionMessage, message_id)
    if message is None:
        raise RegressionMessageNotFound(
            f"regression message {message_id} not found", f"회귀 문장 {message_id}이(가) 없어요."
        )
    staff_service.audit(
        session, user, "regression_remove", f"regression:{message.id}", f"{message.intent}: {message.text}"
    )
    session.delete(message)
    session.commit()
