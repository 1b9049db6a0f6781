"""One Telegram user in a test, talking to the bot through the fake Bot API and waiting like a person."""

import time

from tests.support.fake_telegram import FakeTelegram


class Chat:
    """One Telegram user talking to the bot, waiting for each answer like a person would."""

    def __init__(self, fake: FakeTelegram, chat_id: int, language: str = "ko") -> None:
        self.fake, self.chat_id, self.language = fake, chat_id, language

    def _wait_new(self, before: int) -> list[dict]:
        self.fake.wait_for(lambda f: len(f.sent(self.chat_id)) > before)
        # The replies of one turn are sent one after another: wait until no more arrive.
        last = -1
        while last != len(self.fake.sent(self.chat_id)):
            last = len(self.fake.sent(self.chat_id))
            time.sleep(0.6)
        return self.fake.sent(self.chat_id)[before:]

    def say(self, words: str) -> str:
        before = len(self.fake.sent(self.chat_id))
        self.fake.send_text(self.chat_id, words, language_code=self.language)
        self.replies = self._wait_new(before)
        return " ".join(m.get("text") or "" for m in self.replies)

    def press(self, index: int = 0) -> str:
        with_buttons = [m for m in self.replies if m.get("reply_markup")]
        message = with_buttons[-1]
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        before = len(self.fake.sent(self.chat_id))
        self.fake.press_button(self.chat_id, message["message_id"], buttons[index]["callback_data"])
        self.replies = self._wait_new(before)
        return " ".join(m.get("text") or "" for m in self.replies)
