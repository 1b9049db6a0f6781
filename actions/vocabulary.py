"""Words the api defines and the chat uses, read from the api and kept for a few minutes: the notice categories
(their names and the words that name them when typed) and the departments a conversation can be handed to. A
category or department added in the api reaches the chat by itself."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from actions.api_client import ApiClient, ApiUnavailable

KEEP_SECONDS = 300.0
_kept: dict[str, tuple[float, Any]] = {}


async def _read(key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
    """The api's answer to `fetch`, asked again once it is older than KEEP_SECONDS."""
    kept = _kept.get(key)
    if kept and time.monotonic() - kept[0] < KEEP_SECONDS:
        return kept[1]
    try:
        value = await fetch()
    except ApiUnavailable:
        if kept:
            return kept[1]  # while the api is down, the words last read still name the same things
        raise
    _kept[key] = (time.monotonic(), value)
    return value


@dataclass(frozen=True)
class NoticeCategory:
    code: str
    name_ko: str
    name_en: str
    words: tuple[str, ...]  # that name the category in a typed message ("교통 공지 알림 받을래", "safety notices")

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_ko


async def notice_categories(api: ApiClient) -> dict[str, NoticeCategory]:
    """The notice categories by code, in the api's order."""
    listed = await _read("notice_categories", api.notice_categories)
    return {
        c["code"]: NoticeCategory(c["code"], c["name_ko"], c["name_en"], tuple(c.get("words") or ())) for c in listed
    }


@dataclass(frozen=True)
class Departments:
    codes: tuple[str, ...]
    default: str  # where a conversation goes when nothing the citizen asked points elsewhere


async def departments(api: ApiClient) -> Departments:
    listed = await _read("departments", api.departments)
    return Departments(tuple(d["code"] for d in listed), next(d["code"] for d in listed if d["default"]))
