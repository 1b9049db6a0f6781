"""Rasa replies as Kakao i Open Builder skill responses (version 2.0), within Kakao's limits.

What Kakao shows: at most 3 outputs per response, a simpleText of at most 1,000 characters, at most 10 quick
replies and 3 buttons per card with labels of at most 14 characters, a listCard of at most 5 items, a carousel of
at most 10 cards. A quick reply can only say something, so a link button (an https payload) goes on a card as a
webLink button. `render` turns the replies into every output they need; `first_page` cuts that to one response
and, when more is left, ends it with a "더 보기" quick reply whose extra carries the rest (the channel seals it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.gateway.messages import Button, Reply, shown_buttons
from common import confidential
from common.button_keys import KEY_PREFIX, button_key

VERSION = "2.0"
MAX_OUTPUTS = 3
MAX_TEXT = 1000
MAX_QUICK_REPLIES = 10
MAX_LABEL = 14
MAX_CARD_BUTTONS = 3
MAX_CARD_TITLE = 50
MAX_TEXT_CARD_DESCRIPTION = 400
MAX_CAROUSEL_DESCRIPTION = 128
MAX_CAROUSEL_CARDS = 10
MAX_LIST_ITEMS = 5
MAX_LIST_DESCRIPTION = 100
MAX_ALT_TEXT = 50
# A payload travels in the button's extra and comes back in the request's clientExtra; like Telegram's callback
# data it is kept short, and a longer one travels as its key (the api finds it among the buttons it offered).
MAX_EXTRA_PAYLOAD_BYTES = 64

# The notice actions send each notice as a text with one button; Kakao users expect them as a list card.
LIST_CARDS = {"notice_read": "notices", "notice_open": "personal_notices"}

TEXTS = {
    "more": {"ko": "더 보기", "en": "More"},
    "choose": {"ko": "아래에서 골라 주세요.", "en": "Please choose below."},
    "links": {"ko": "관련 누리집", "en": "Related websites"},
    "notices": {"ko": "파주시 공지", "en": "Paju City notices"},
    "personal_notices": {"ko": "공인알림", "en": "Certified notices"},
    "image": {"ko": "이미지", "en": "Image"},
    "view_larger_title": {"ko": "이미지 크게 보기", "en": "See the image larger"},
    "view_larger": {"ko": "크게 보기", "en": "View larger"},
    "open_again": {
        "ko": "공인알림은 이 대화방에서 본인 확인 후에만 보여 드려요. '내 공인알림'이라고 보내 다시 열어 주세요.",
        "en": "A certified notice is shown only right after you confirm it is you. Send 'my notices' to open it again.",
    },
}

# Where a sentence ends (before the space that follows it), or a line does.
_BOUNDARY = re.compile(r"(?<=[.!?。！？…])[ \t]+|\n+")
_PARENTHESES = re.compile(r"\s*\([^()]*\)")
# Separators between the parts of a button title: "14:40 모노레일 · 40석".
_SEPARATOR = re.compile(r"(\s+[·|•]\s+|\s+-\s+|,\s+)")
_INTENT = re.compile(r"^/(\w+)")


@dataclass
class KakaoAnswer:
    """A whole answer: every output it needs, in order, and the quick replies that follow the last of them."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    quick_replies: list[dict[str, Any]] = field(default_factory=list)


def _say(name: str, language: str | None) -> str:
    return TEXTS[name]["en" if language == "en" else "ko"]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """The text in pieces of at most `limit` characters, each ending where a sentence or a line ends.

    Only a single sentence longer than the limit is cut inside, between words (or, without a space, anywhere).
    """
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for atom in _atoms(text):
        if len(current + atom.rstrip()) <= limit:
            current += atom
            continue
        if current.strip():
            chunks.append(current.strip())
        current = ""
        while len(atom.rstrip()) > limit:
            head, atom = _cut_between_words(atom, limit)
            chunks.append(head)
        current = atom
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _atoms(text: str) -> list[str]:
    """The text as sentences and lines, each with the spaces or line breaks that follow it."""
    atoms, start = [], 0
    for boundary in _BOUNDARY.finditer(text):
        atoms.append(text[start : boundary.end()])
        start = boundary.end()
    atoms.append(text[start:])
    return [atom for atom in atoms if atom]


def _cut_between_words(atom: str, limit: int) -> tuple[str, str]:
    space = atom.rfind(" ", 0, limit + 1)
    cut = space if space > limit // 2 else limit
    return atom[:cut].strip(), atom[cut:].lstrip()


def short_label(title: str, limit: int = MAX_LABEL) -> str:
    """A button's title within Kakao's label limit, keeping its meaning: the detail after a separator and words in
    parentheses go first, then words from the end (marked "…"). The whole title still travels as messageText."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    parts = _SEPARATOR.split(title)  # texts at even indexes, their separators between them
    candidates = ["".join(parts[:end]) for end in range(len(parts) - 2, 0, -2)]
    for candidate in [title, *candidates]:
        for shorter in (candidate, _PARENTHESES.sub("", candidate)):
            if len(shorter) <= limit:
                return shorter
    words = _PARENTHESES.sub("", candidates[-1] if candidates else title).split()
    while len(words) > 1 and len(" ".join(words)) + 1 > limit:
        words.pop()
    label = " ".join(words)
    # A single word longer than the label is cut; either way the "…" says something was left out.
    return (label if len(label) < limit else label[: limit - 1]) + "…"


def extra_payload(payload: str) -> str:
    """What a button carries back in clientExtra: the payload when short, else its key (as on Telegram)."""
    if len(payload.encode()) <= MAX_EXTRA_PAYLOAD_BYTES and not payload.startswith(KEY_PREFIX):
        return payload
    return button_key(payload)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit)
    return (text[:space] if space > limit // 2 else text[: limit - 1]).rstrip(" ,·") + "…"


def _message_button(button: Button) -> dict[str, Any]:
    """A quick reply or card button that says the button's whole title and carries its payload."""
    return {
        "label": short_label(button.title),
        "action": "message",
        "messageText": button.title,
        "extra": {"payload": extra_payload(button.payload)},
    }


def _card_button(button: Button) -> dict[str, Any]:
    """A card button: a link opens its address (its whole address, never a short key), any other says its title."""
    if url := button.url:
        return {"action": "webLink", "label": short_label(button.title), "webLinkUrl": url}
    return _message_button(button)


def _postbacks(reply: Reply) -> list[Button]:
    """The buttons of a reply that say something back to the assistant: the ones a quick reply can carry."""
    return [button for button in shown_buttons(reply.buttons) if not button.url]


def simple_text(text: str) -> dict[str, Any]:
    return {"simpleText": {"text": text}}


def _texts(text: str | None) -> list[dict[str, Any]]:
    return [simple_text(chunk) for chunk in split_text(text or "")]


def _list_kind(reply: Reply) -> str | None:
    """Which list card a reply belongs in: a notice (text and one read-more or open button), or none."""
    buttons = shown_buttons(reply.buttons)
    if not reply.text or len(buttons) != 1 or reply.image:
        return None
    intent = _INTENT.match(buttons[0].payload)
    return LIST_CARDS.get(intent.group(1)) if intent else None


def _list_item(reply: Reply, kind: str) -> dict[str, Any]:
    """A notice card's lines as a list item: "[category] title" over "date · department" (a certified notice's
    list shows its title over "department · date · read or not"); pressing it asks for the whole notice."""
    lines = [line.strip() for line in (reply.text or "").splitlines() if line.strip()]
    if kind == "personal_notices" and len(lines) > 1:
        lines = [lines[1], lines[0].lstrip("📨 "), *lines[2:]]
    [button] = shown_buttons(reply.buttons)
    title = _clip(lines[0], MAX_CARD_TITLE)
    item: dict[str, Any] = {
        "title": title,
        "action": "message",
        "messageText": f"{button.title}: {title}",
        "extra": {"payload": extra_payload(button.payload)},
    }
    if len(lines) > 1:
        item["description"] = _clip(lines[1], MAX_LIST_DESCRIPTION)
    return item


def _list_cards(group: list[Reply], kind: str, language: str | None) -> list[dict[str, Any]]:
    header = {"title": _say(kind, language)}
    items = [_list_item(reply, kind) for reply in group]
    return [
        {"listCard": {"header": header, "items": items[start : start + MAX_LIST_ITEMS]}}
        for start in range(0, len(items), MAX_LIST_ITEMS)
    ]


def _image(url: str, language: str | None) -> list[dict[str, Any]]:
    """The image itself, and a card whose button opens it large (Kakao shows a simpleImage small)."""
    if not url.startswith(("https://", "http://")):
        return []
    link = {"action": "webLink", "label": _say("view_larger", language), "webLinkUrl": url}
    return [
        {"simpleImage": {"imageUrl": url, "altText": _say("image", language)[:MAX_ALT_TEXT]}},
        {"textCard": {"title": _say("view_larger_title", language), "buttons": [link], "buttonLayout": "vertical"}},
    ]


def _card_buttons(text: str | None, buttons: list[Button], language: str | None) -> list[dict[str, Any]]:
    """A reply whose buttons cannot be the quick replies (or are links): its text with the buttons on cards, three to
    a card, in their order."""
    groups = [buttons[start : start + MAX_CARD_BUTTONS] for start in range(0, len(buttons), MAX_CARD_BUTTONS)]
    chunks = split_text(text or "")
    if len(groups) == 1:
        last = chunks.pop() if chunks and len(chunks[-1]) <= MAX_TEXT_CARD_DESCRIPTION else None
        heading = "links" if all(button.url for button in groups[0]) else "choose"
        card = {"description": last} if last else {"title": _say(heading, language)}
        card |= {"buttons": [_card_button(button) for button in groups[0]], "buttonLayout": "vertical"}
        return [*map(simple_text, chunks), {"textCard": card}]
    cards = [
        {
            "description": f"{_say('choose', language)} ({number}/{len(groups)})"[:MAX_CAROUSEL_DESCRIPTION],
            "buttons": [_card_button(button) for button in group],
            "buttonLayout": "vertical",
        }
        for number, group in enumerate(groups, start=1)
    ]
    carousels = [
        {"carousel": {"type": "textCard", "items": cards[start : start + MAX_CAROUSEL_CARDS]}}
        for start in range(0, len(cards), MAX_CAROUSEL_CARDS)
    ]
    return [*map(simple_text, chunks), *carousels]


def render(replies: list[Reply], language: str | None) -> KakaoAnswer:
    """Every output the replies need, in order, and their quick replies.

    Consecutive notice cards become list cards (five to a card, each item asking for the whole notice). The
    buttons of the last reply that has any become the quick replies (up to 10); any other buttons, and more than
    10, go on text cards, three to a card, several cards as a carousel. Links never are quick replies: they go on a
    text card under their reply's text, as webLink buttons. An image is a simpleImage with a card that opens it
    large. A long text is split where a sentence or line ends.
    """
    answer = KakaoAnswer()
    with_buttons = [index for index, reply in enumerate(replies) if _postbacks(reply) and not _list_kind(reply)]
    quick_index = with_buttons[-1] if with_buttons else None
    index = 0
    while index < len(replies):
        reply = replies[index]
        kind = _list_kind(reply)
        if kind:
            end = index
            while end < len(replies) and _list_kind(replies[end]) == kind:
                end += 1
            answer.outputs += _list_cards(replies[index:end], kind, language)
            index = end
            continue
        text = reply.text or (reply.custom or {}).get("text")
        if reply.image:
            answer.outputs += _image(reply.image, language)
        buttons = shown_buttons(reply.buttons)
        postbacks = _postbacks(reply)
        if postbacks and index == quick_index and len(postbacks) <= MAX_QUICK_REPLIES:
            links = [button for button in buttons if button.url]
            answer.outputs += _card_buttons(text, links, language) if links else _texts(text)
            answer.quick_replies = [_message_button(button) for button in postbacks]
        elif buttons:
            answer.outputs += _card_buttons(text, buttons, language)
        else:
            answer.outputs += _texts(text)
        index += 1
    return answer


def first_page(
    answer: KakaoAnswer, language: str | None, more: Callable[[KakaoAnswer], dict[str, Any]] | None
) -> dict[str, Any]:
    """One skill response of at most 3 outputs. When more is left, its only quick reply is "더 보기", whose extra is
    `more(the rest)`; the rest keeps the answer's own quick replies for its last page. Without `more` (a certified
    notice's content, which must not travel in a button that outlives its reading window) the rest is not carried:
    the last output asks the citizen to open the notice again."""
    outputs = answer.outputs or [simple_text(_say("choose", language))]
    quick_replies = answer.quick_replies
    if len(outputs) > MAX_OUTPUTS and more is None:
        outputs = [*outputs[: MAX_OUTPUTS - 1], simple_text(_say("open_again", language))]
    if len(outputs) > MAX_OUTPUTS:
        rest = KakaoAnswer(outputs[MAX_OUTPUTS:], quick_replies)
        outputs = outputs[:MAX_OUTPUTS]
        label = _say("more", language)
        quick_replies = [{"label": label, "action": "message", "messageText": label, "extra": more(rest)}]
    template: dict[str, Any] = {"outputs": outputs}
    if quick_replies:
        template["quickReplies"] = quick_replies
    return {"version": VERSION, "template": template}


def text_response(text: str) -> dict[str, Any]:
    """A skill response of one short text (within one simpleText)."""
    return {"version": VERSION, "template": {"outputs": _texts(text)[:1]}}


def callback_response(text: str) -> dict[str, Any]:
    """The answer that asks Kakao to wait for the callback: `text` shows meanwhile (the block's callback message
    shows it when set to the webhook's `text`)."""
    return {"version": VERSION, "useCallback": True, "data": {"text": text}}


def staff_prefixed(text: str, message: dict[str, Any]) -> str:
    """A staff member's outbox message starts with who writes ("[관광과 상담원] …"): an event message shows no other
    sign of it."""
    name = message.get("author_name")
    if message.get("author") != "staff" or not name or not text:
        return text
    return f"[{name}] {text}"


def plain_text(replies: list[Reply], language: str | None) -> tuple[str, list[dict[str, str]]]:
    """The replies as one text and the buttons of the last reply that has any, for a message without cards (the
    outbox's). A link is written into the text, as its title and address. A certified notice's content is never
    written there: the citizen is asked to open it again."""
    parts: list[str] = []
    buttons: list[dict[str, str]] = []
    for reply in replies:
        if confidential.is_confidential(reply.custom):
            parts.append(_say("open_again", language))
            continue
        text = reply.text or (reply.custom or {}).get("text")
        if reply.image:
            parts.append(f"{_say('view_larger', language)}: {reply.image}")
        if text:
            parts.append(text.strip())
        shown = shown_buttons(reply.buttons)
        if links := [f"{button.title}: {button.url}" for button in shown if button.url]:
            parts.append("\n".join(links))
        if postbacks := [button for button in shown if not button.url]:
            buttons = [{"title": button.title, "payload": button.payload} for button in postbacks]
    return "\n\n".join(parts) or _say("choose", language), buttons[:MAX_QUICK_REPLIES]
