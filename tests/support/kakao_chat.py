"""One KakaoTalk user in a test, talking to the gateway's skill through the fake Kakao platform."""

from __future__ import annotations

from typing import Any

from tests.support.fake_kakao import FakeKakao, SkillExchange, bot_user_key


class KakaoChat:
    """One KakaoTalk user: each turn returns the outputs the user sees, the callback's when the skill asked for one.

    `callback`: whether the requests carry a callbackUrl, as they do once callback is on for the block.
    """

    def __init__(self, fake: FakeKakao, name: str, language: str = "ko", callback: bool = True) -> None:
        self.fake, self.language, self.callback = fake, language, callback
        self.user_key = bot_user_key(name)
        self.exchange: SkillExchange | None = None
        self.answer: dict = {}  # the response whose outputs the user sees

    # --- turns ------------------------------------------------------------------------------------------------

    def say(self, words: str) -> list[dict]:
        return self._turn(self.fake.text(self.user_key, words, self.language, self.callback))

    def press(self, choice: int | str = 0) -> list[dict]:
        """Presses a button of the last answer, by index or label: the cards' message and block buttons in order,
        then the quick replies."""
        on, button = self._pressable(choice)
        return self._turn(self.fake.press(self.user_key, button, self.language, self.callback, on=on))

    def share_location(self, latitude: float, longitude: float) -> list[dict]:
        return self._turn(self.fake.location(self.user_key, latitude, longitude, self.language, self.callback))

    def send_photo(self, photos: list[bytes] | None = None) -> list[dict]:
        return self._turn(self.fake.photo(self.user_key, self.language, self.callback, photos))

    def _turn(self, request: dict) -> list[dict]:
        self.exchange = self.fake.send(request)
        assert self.exchange.status == 200, (self.exchange.status, self.exchange.answer)
        answer = self.exchange.answer
        if self.exchange.used_callback:
            answer = self.fake.wait_for_callback(self.exchange)
        self.answer = answer if isinstance(answer, dict) else {}
        return self.outputs

    # --- what the user sees -----------------------------------------------------------------------------------

    @property
    def outputs(self) -> list[dict]:
        return list(self.answer.get("template", {}).get("outputs", []))

    @property
    def quick_replies(self) -> list[dict]:
        return list(self.answer.get("template", {}).get("quickReplies", []))

    @property
    def replies(self) -> list[str]:
        """The words of each output: a text's text, a card's title and description, a list's header and items."""
        return [_words(output) for output in self.outputs]

    @property
    def text(self) -> str:
        return answer_text(self.answer)

    @property
    def images(self) -> list[str]:
        """The address of every image shown: simple images and card thumbnails."""
        urls = []
        for output in self.outputs:
            for kind, component in output.items():
                cards = component.get("items", []) if kind == "carousel" else [component]
                urls += [card["imageUrl"] for card in cards if kind == "simpleImage" and "imageUrl" in card]
                urls += [card["thumbnail"]["imageUrl"] for card in cards if "imageUrl" in card.get("thumbnail", {})]
        return urls

    @property
    def buttons(self) -> list[tuple[str, dict]]:
        """What can be pressed, as (where, button): card buttons and list items that send a message or call a
        block, then the quick replies. Links and phone numbers open outside the chat."""
        found: list[tuple[str, dict]] = []
        for output in self.outputs:
            for kind, component in output.items():
                cards = component.get("items", []) if kind == "carousel" else [component]
                for card in cards:
                    found += [("CARD", b) for b in card.get("buttons", []) if b.get("action") in ("message", "block")]
                    if kind == "listCard":
                        items = card.get("items", [])
                        found += [("LISTITEM", i) for i in items if i.get("action") in ("message", "block")]
        return found + [("QUICKREPLY", reply) for reply in self.quick_replies]

    def _pressable(self, choice: int | str) -> tuple[str, dict]:
        buttons = self.buttons
        if isinstance(choice, int):
            return buttons[choice]
        for matches in (lambda label: label == choice, lambda label: choice in label):
            found = [(on, button) for on, button in buttons if matches(button.get("label", button.get("title", "")))]
            if found:
                return found[0]
        labels = [button.get("label", button.get("title")) for _, button in buttons]
        raise AssertionError(f"no button {choice!r} in the last answer, only {labels}")


def answer_text(answer: dict) -> str:
    """All the words of a skill response's outputs, one output a line."""
    return "\n".join(_words(output) for output in answer.get("template", {}).get("outputs", []))


def _words(output: dict[str, Any]) -> str:
    [(kind, component)] = output.items()
    if kind == "simpleText":
        return component.get("text", "")
    if kind == "simpleImage":
        return component.get("altText", "")
    if kind == "carousel":
        return "\n".join(_words({component.get("type", ""): card}) for card in component.get("items", []))
    if kind == "listCard":
        lines = [component.get("header", {}).get("title", "")]
        lines += [" ".join(filter(None, (i.get("title"), i.get("description")))) for i in component.get("items", [])]
        return "\n".join(lines)
    return "\n".join(filter(None, (component.get("title"), component.get("description"))))
