"""Answers of the intents admins create: what the assistant says when it recognises one.

An intent with examples but no answer is recognised and then met with "I did not understand": a new topic needs
its answer in the same place it gets its examples. The console writes each answer as Rasa reads it, in two
admin-owned files beside the examples' `admin.yml`, rewritten whole (temp file, then rename) under the data lock:

- `domain/admin.yml`: the intent, and its response `utter_<intent>` in Korean and English (the English one under
  the `language` slot's condition, as every shipped response), with an optional link button;
- `data/rules/admin.yml`: the rule that answers the intent with that response, then hands the conversation to a
  person when the answer says so.

The files themselves are the record: what they hold is what the next training learns, and what the console shows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from api.core.settings import Settings
from api.training import data
from api.training.errors import InvalidAnswer, NewIntentUnconfirmed, UnansweredIntents

ADMIN_DOMAIN = Path("domain") / "admin.yml"
ADMIN_RULES = Path("data") / "rules" / "admin.yml"
HANDOFF_ACTION = "action_request_human"
MAX_ANSWER_CHARS = 1000
MAX_TITLE_CHARS = 40
MAX_URL_CHARS = 500
# How alike two intent names must be for a new one to be flagged as a probable typo of the other.
NEAR_NAME = 0.8
HEADER = "# Written by the admin console (api/training/answers.py), which rewrites this file: change answers there.\n"


@dataclass(frozen=True)
class Answer:
    intent: str
    text_ko: str
    text_en: str
    link_title_ko: str = ""
    link_title_en: str = ""
    link_url: str = ""
    handoff: bool = False  # after the answer, the conversation goes to a person

    @property
    def response(self) -> str:
        return f"utter_{self.intent}"


# --- reading ----------------------------------------------------------------------------------------------


def answers(settings: Settings) -> dict[str, Answer]:
    """Every admin answer, by intent."""
    root = settings.training_project_dir
    domain = _read(root / ADMIN_DOMAIN)
    handed_off = {
        step_intent
        for rule in _read(root / ADMIN_RULES).get("rules") or []
        for step_intent in [_rule_intent(rule)]
        if step_intent and {"action": HANDOFF_ACTION} in (rule.get("steps") or [])
    }
    found = {}
    for name, variations in (domain.get("responses") or {}).items():
        intent = name.removeprefix("utter_")
        english = next((v for v in variations if v.get("condition")), {})
        korean = next((v for v in variations if not v.get("condition")), {})
        ko_link = (korean.get("buttons") or [{}])[0]
        en_link = (english.get("buttons") or [{}])[0]
        found[intent] = Answer(
            intent=intent,
            text_ko=korean.get("text", ""),
            text_en=english.get("text", ""),
            link_title_ko=ko_link.get("title", ""),
            link_title_en=en_link.get("title", ""),
            link_url=ko_link.get("payload", ""),
            handoff=intent in handed_off,
        )
    return found


def declared_intents(settings: Settings, project: Path | None = None) -> set[str]:
    """The intents the domain declares (the shipped files and the admins' answers): the ones the dialogue knows."""
    domain_dir = (project or settings.training_project_dir) / "domain"
    declared: set[str] = set()
    for path in domain_dir.rglob("*.yml"):
        for intent in _read(path).get("intents") or []:
            declared.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return declared


def unanswered(settings: Settings, training_data: data.TrainingData, project: Path | None = None) -> list[str]:
    """Intents with examples that the domain does not know: recognised, they would get no answer."""
    return sorted(set(training_data.intents()) - declared_intents(settings, project))


def refuse_unanswered(settings: Settings, training_data: data.TrainingData) -> None:
    missing = unanswered(settings, training_data)
    if missing:
        names = ", ".join(missing)
        raise UnansweredIntents(
            f"These intents have examples but no answer, so citizens would get 'I did not understand': {names}. "
            "Write their answers (Examples → the intent → Answer), or remove their examples, then train again.",
            f"예문은 있지만 답변이 없는 의도가 있어요: {names}. 이대로 학습하면 시민은 이 질문에 "
            "'잘 이해하지 못했어요'라는 답만 받아요. 예문 화면에서 의도를 눌러 답변을 쓰거나 예문을 지운 뒤 다시 "
            "학습해 주세요.",
        )


def near_names(name: str, known: set[str]) -> list[str]:
    """Existing intent names a new one is probably a typo of."""
    return difflib.get_close_matches(name, sorted(known), n=3, cutoff=NEAR_NAME)


def confirm_new_intent(settings: Settings, intent: str, confirmed: bool) -> None:
    """An intent name nobody used before is a new topic: it is created only when the admin said so, so that a typo
    does not silently start one. Refused with the names it is close to."""
    intent = data.check_intent(intent)
    known = declared_intents(settings) | set(data.load(settings).intents())
    if intent in known or confirmed:
        return
    close = near_names(intent, known)
    hint_en = f" It looks like {', '.join(close)}." if close else ""
    hint_ko = f" 비슷한 의도가 있어요: {', '.join(close)}." if close else ""
    raise NewIntentUnconfirmed(
        f"'{intent}' is a new intent. Confirm that you want to create it.{hint_en}",
        f"'{intent}'은(는) 새 의도예요. 새 의도를 만들까요?{hint_ko}",
        near=close,
    )


# --- writing ----------------------------------------------------------------------------------------------


def save(settings: Settings, answer: Answer) -> Answer:
    """Writes (or replaces) the answer of an intent and its rule."""
    answer = _checked(answer)
    with data.data_lock(settings):
        current = answers(settings)
        current[answer.intent] = answer
        _write(settings, current)
    return answer


def remove(settings: Settings, intent: str) -> None:
    intent = data.check_intent(intent)
    with data.data_lock(settings):
        current = answers(settings)
        if current.pop(intent, None) is not None:
            _write(settings, current)


def _checked(answer: Answer) -> Answer:
    intent = data.check_intent(answer.intent)
    text_ko, text_en = answer.text_ko.strip(), answer.text_en.strip()
    if not (0 < len(text_ko) <= MAX_ANSWER_CHARS and 0 < len(text_en) <= MAX_ANSWER_CHARS):
        raise InvalidAnswer(
            f"Write the answer in Korean and in English, each 1-{MAX_ANSWER_CHARS} characters.",
            f"답변을 한국어와 영어로 각각 1~{MAX_ANSWER_CHARS}자로 적어 주세요.",
        )
    url = answer.link_url.strip()
    titles = (answer.link_title_ko.strip(), answer.link_title_en.strip())
    if url and not (url.startswith("https://") and len(url) <= MAX_URL_CHARS and " " not in url):
        raise InvalidAnswer(
            f"A link is an https:// address of up to {MAX_URL_CHARS} characters.",
            f"링크는 https://로 시작하는 {MAX_URL_CHARS}자 이내의 주소여야 해요.",
        )
    if url and not all(0 < len(title) <= MAX_TITLE_CHARS for title in titles):
        raise InvalidAnswer(
            f"Name the link in Korean and in English (up to {MAX_TITLE_CHARS} characters each): citizens see the "
            "name, not the address.",
            f"링크 이름을 한국어와 영어로 {MAX_TITLE_CHARS}자 이내로 적어 주세요. 시민에게는 주소 대신 이름이 보여요.",
        )
    return Answer(intent, text_ko, text_en, *(titles if url else ("", "")), url, answer.handoff)


def _write(settings: Settings, current: dict[str, Answer]) -> None:
    root = settings.training_project_dir
    if not current:
        (root / ADMIN_DOMAIN).unlink(missing_ok=True)
        (root / ADMIN_RULES).unlink(missing_ok=True)
        return
    ordered = [current[intent] for intent in sorted(current)]
    domain = {
        "version": "3.1",
        "intents": [answer.intent for answer in ordered],
        "responses": {answer.response: _variations(answer) for answer in ordered},
    }
    rules = {"version": "3.1", "rules": [_rule(answer) for answer in ordered]}
    data.write_atomically(root / ADMIN_DOMAIN, HEADER + _dump(domain))
    data.write_atomically(root / ADMIN_RULES, HEADER + _dump(rules))


def _variations(answer: Answer) -> list[dict[str, Any]]:
    english: dict[str, Any] = {
        "condition": [{"type": "slot", "name": "language", "value": "en"}],
        "text": answer.text_en,
    }
    korean: dict[str, Any] = {"text": answer.text_ko}
    if answer.link_url:
        english["buttons"] = [{"title": answer.link_title_en, "payload": answer.link_url}]
        korean["buttons"] = [{"title": answer.link_title_ko, "payload": answer.link_url}]
    return [english, korean]


def _rule(answer: Answer) -> dict[str, Any]:
    steps: list[dict[str, str]] = [{"intent": answer.intent}, {"action": answer.response}]
    if answer.handoff:
        steps.append({"action": HANDOFF_ACTION})
    return {"rule": f"admin answer: {answer.intent}", "steps": steps}


def _rule_intent(rule: dict[str, Any]) -> str | None:
    steps = rule.get("steps") or []
    return steps[0].get("intent") if steps and isinstance(steps[0], dict) else None


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    return content if isinstance(content, dict) else {}


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000)
