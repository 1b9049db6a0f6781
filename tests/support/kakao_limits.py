"""What Kakao i Open Builder accepts (skill response version 2.0, Event API): each breach of a response, in words."""

from __future__ import annotations

from typing import Any

MAX_OUTPUTS = 3
MAX_SIMPLE_TEXT = 1000
MAX_QUICK_REPLIES = 10
MAX_LABEL = 14
MAX_CARD_TITLE = 50
MAX_BASIC_CARD_DESCRIPTION = 230
MAX_TEXT_CARD_DESCRIPTION = 400
MAX_TEXT_CARD_DESCRIPTION_IN_CAROUSEL = 128
MAX_LIST_ITEMS = 5
# Kakao's own limit for a list card; every other card takes three.
MAX_LIST_CARD_BUTTONS = 2
MAX_CARD_BUTTONS = 3
MAX_CAROUSEL_CARDS = 10
MAX_EVENT_USERS = 100
MAX_BOT_USER_KEY = 70
QUICK_REPLY_ACTIONS = {"message": "messageText", "block": "blockId"}
BUTTON_ACTIONS = {"message": "messageText", "webLink": "webLinkUrl", "phone": "phoneNumber", "block": "blockId"}
CAROUSEL_TYPES = {"basicCard", "textCard", "listCard"}
USER_ID_TYPES = {"botUserKey", "plusfriendUserKey", "appUserId"}


def skill_response_breaches(body: Any, *, callback_offered: bool = False) -> list[str]:
    """Every way `body` breaks the limits of a skill response; empty when Kakao would show it as meant.

    `callback_offered`: the request carried a callbackUrl, so a useCallback answer is allowed.
    """
    if not isinstance(body, dict):
        return [f"the response is not a JSON object: {body!r:.80}"]
    breaches = [] if body.get("version") == "2.0" else [f"version is {body.get('version')!r}, not '2.0'"]
    if "useCallback" in body:
        return breaches + _callback_answer_breaches(body, callback_offered)
    template = body.get("template")
    if not isinstance(template, dict):
        return [*breaches, "no template"]
    return breaches + _template_breaches(template)


def callback_body_breaches(body: Any) -> list[str]:
    """The real answer posted to a callbackUrl: a whole skill response, never another useCallback."""
    if isinstance(body, dict) and "useCallback" in body:
        return ["a callback body asks for a callback again"]
    return skill_response_breaches(body)


def event_breaches(body: Any) -> list[str]:
    """Every way an Event API request body (POST /v2/bots/{botId}/talk) is malformed."""
    if not isinstance(body, dict):
        return [f"the event request is not a JSON object: {body!r:.80}"]
    breaches = []
    event = body.get("event")
    if not isinstance(event, dict) or not _text(event.get("name")):
        breaches.append("event.name is missing")
    elif "data" in event and not isinstance(event["data"], dict):
        breaches.append("event.data is not an object")
    users = body.get("user")
    if not isinstance(users, list) or not 1 <= len(users) <= MAX_EVENT_USERS:
        breaches.append(f"user must list 1–{MAX_EVENT_USERS} users")
    else:
        for index, user in enumerate(users):
            where = f"user[{index}]"
            if not isinstance(user, dict) or user.get("type") not in USER_ID_TYPES:
                breaches.append(f"{where}.type is not one of {sorted(USER_ID_TYPES)}")
            elif not _text(user.get("id")) or len(user["id"]) > MAX_BOT_USER_KEY:
                breaches.append(f"{where}.id is empty or longer than {MAX_BOT_USER_KEY}")
    if "params" in body and not isinstance(body["params"], dict):
        breaches.append("params is not an object")
    return breaches


def _callback_answer_breaches(body: dict, callback_offered: bool) -> list[str]:
    breaches = []
    if body.get("useCallback") is not True:
        breaches.append(f"useCallback is {body.get('useCallback')!r}, not true")
    if not callback_offered:
        breaches.append("useCallback without a callbackUrl in the request")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        breaches.append("useCallback data is not an object")
    elif data and "text" in data:
        if not _text(data["text"]):
            breaches.append("useCallback data.text is empty")
        elif len(data["text"]) > MAX_SIMPLE_TEXT:
            breaches.append(f"useCallback data.text has {len(data['text'])} characters (> {MAX_SIMPLE_TEXT})")
    if "template" in body:
        breaches.append("a useCallback answer carries a template, which Kakao ignores")
    return breaches


def _template_breaches(template: dict) -> list[str]:
    breaches = []
    outputs = template.get("outputs")
    if not isinstance(outputs, list) or not 1 <= len(outputs) <= MAX_OUTPUTS:
        count = len(outputs) if isinstance(outputs, list) else outputs
        breaches.append(f"outputs: {count!r}, not 1–{MAX_OUTPUTS}")
        outputs = outputs if isinstance(outputs, list) else []
    for index, output in enumerate(outputs):
        breaches += _output_breaches(output, f"outputs[{index}]")
    if "quickReplies" in template:
        breaches += _quick_replies_breaches(template["quickReplies"])
    return breaches


def _output_breaches(output: Any, where: str) -> list[str]:
    if not isinstance(output, dict) or len(output) != 1:
        return [f"{where} must hold exactly one component"]
    [(kind, component)] = output.items()
    check = _COMPONENTS.get(kind)
    if check is None:
        return [f"{where}: unknown component {kind!r}"]
    if not isinstance(component, dict):
        return [f"{where}.{kind} is not an object"]
    return check(component, f"{where}.{kind}")


def _simple_text(component: dict, where: str) -> list[str]:
    text = component.get("text")
    if not _text(text):
        return [f"{where}.text is empty"]
    return [f"{where}.text has {len(text)} characters (> {MAX_SIMPLE_TEXT})"] if len(text) > MAX_SIMPLE_TEXT else []


def _simple_image(component: dict, where: str) -> list[str]:
    breaches = [] if _url(component.get("imageUrl")) else [f"{where}.imageUrl is not an http(s) URL"]
    return breaches + ([] if _text(component.get("altText")) else [f"{where}.altText is empty"])


def _basic_card(component: dict, where: str, in_carousel: bool = False) -> list[str]:
    breaches = _longer(component, "title", MAX_CARD_TITLE, where)
    breaches += _longer(component, "description", MAX_BASIC_CARD_DESCRIPTION, where)
    if "thumbnail" in component:
        thumbnail = component["thumbnail"]
        if not isinstance(thumbnail, dict) or not _url(thumbnail.get("imageUrl")):
            breaches.append(f"{where}.thumbnail has no imageUrl")
    return breaches + _buttons_breaches(component, where, MAX_CARD_BUTTONS)


def _text_card(component: dict, where: str, in_carousel: bool = False) -> list[str]:
    limit = MAX_TEXT_CARD_DESCRIPTION_IN_CAROUSEL if in_carousel else MAX_TEXT_CARD_DESCRIPTION
    breaches = _longer(component, "title", MAX_CARD_TITLE, where) + _longer(component, "description", limit, where)
    if not _text(component.get("title")) and not _text(component.get("description")):
        breaches.append(f"{where} has neither title nor description")
    return breaches + _buttons_breaches(component, where, MAX_CARD_BUTTONS)


def _list_card(component: dict, where: str, in_carousel: bool = False) -> list[str]:
    header = component.get("header")
    breaches = [] if isinstance(header, dict) and _text(header.get("title")) else [f"{where}.header has no title"]
    items = component.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LIST_ITEMS:
        count = len(items) if isinstance(items, list) else items
        breaches.append(f"{where}.items: {count!r}, not 1–{MAX_LIST_ITEMS}")
        items = items if isinstance(items, list) else []
    for index, item in enumerate(items):
        item_where = f"{where}.items[{index}]"
        if not isinstance(item, dict) or not _text(item.get("title")):
            breaches.append(f"{item_where} has no title")
            continue
        if "action" in item:
            breaches += _action_breaches(item, item_where, QUICK_REPLY_ACTIONS)
    return breaches + _buttons_breaches(component, where, MAX_LIST_CARD_BUTTONS)


def _carousel(component: dict, where: str) -> list[str]:
    kind = component.get("type")
    if kind not in CAROUSEL_TYPES:
        return [f"{where}.type is {kind!r}, not one of {sorted(CAROUSEL_TYPES)}"]
    items = component.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CAROUSEL_CARDS:
        count = len(items) if isinstance(items, list) else items
        return [f"{where}.items: {count!r} cards, not 1–{MAX_CAROUSEL_CARDS}"]
    check = {"basicCard": _basic_card, "textCard": _text_card, "listCard": _list_card}[kind]
    breaches = []
    for index, card in enumerate(items):
        card_where = f"{where}.items[{index}]"
        breaches += (
            check(card, card_where, in_carousel=True) if isinstance(card, dict) else [f"{card_where}: not a card"]
        )
    return breaches


def _buttons_breaches(component: dict, where: str, limit: int) -> list[str]:
    if "buttons" not in component:
        return []
    buttons = component["buttons"]
    if not isinstance(buttons, list) or len(buttons) > limit:
        count = len(buttons) if isinstance(buttons, list) else buttons
        return [f"{where}.buttons: {count!r}, more than {limit}"]
    breaches = []
    for index, button in enumerate(buttons):
        button_where = f"{where}.buttons[{index}]"
        if not isinstance(button, dict):
            breaches.append(f"{button_where}: not an object")
            continue
        breaches += _label_breaches(button, button_where) + _action_breaches(button, button_where, BUTTON_ACTIONS)
    return breaches


def _quick_replies_breaches(quick_replies: Any) -> list[str]:
    if not isinstance(quick_replies, list) or len(quick_replies) > MAX_QUICK_REPLIES:
        count = len(quick_replies) if isinstance(quick_replies, list) else quick_replies
        return [f"quickReplies: {count!r}, more than {MAX_QUICK_REPLIES}"]
    breaches = []
    for index, reply in enumerate(quick_replies):
        where = f"quickReplies[{index}]"
        if not isinstance(reply, dict):
            breaches.append(f"{where}: not an object")
            continue
        breaches += _label_breaches(reply, where) + _action_breaches(reply, where, QUICK_REPLY_ACTIONS)
        if "extra" in reply and not isinstance(reply["extra"], dict):
            breaches.append(f"{where}.extra is not an object")
    return breaches


def _label_breaches(button: dict, where: str) -> list[str]:
    label = button.get("label")
    if not _text(label):
        return [f"{where}.label is empty"]
    return [f"{where}.label {label!r} has {len(label)} characters (> {MAX_LABEL})"] if len(label) > MAX_LABEL else []


def _action_breaches(button: dict, where: str, actions: dict[str, str]) -> list[str]:
    action = button.get("action")
    if action not in actions:
        return [f"{where}.action is {action!r}, not one of {sorted(actions)}"]
    field = actions[action]
    return [] if _text(button.get(field)) else [f"{where}: action {action!r} without {field}"]


def _longer(component: dict, name: str, limit: int, where: str) -> list[str]:
    value = component.get(name)
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"{where}.{name} is not text"]
    return [f"{where}.{name} has {len(value)} characters (> {limit})"] if len(value) > limit else []


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > len("https://")


_COMPONENTS = {
    "simpleText": _simple_text,
    "simpleImage": _simple_image,
    "basicCard": _basic_card,
    "textCard": _text_card,
    "listCard": _list_card,
    "carousel": _carousel,
}
