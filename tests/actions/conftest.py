"""What the action tests share: the notice categories and departments as the api lists them for the action server,
without a network."""

import pytest

from actions import vocabulary
from actions.api_client import ApiClient

NOTICE_CATEGORIES = [
    {"code": code, "name_ko": ko, "name_en": en, "words": words, "urgent": code == "safety"}
    for code, ko, en, words in (
        ("administration", "행정", "Administration", ["행정", "민원", "administration"]),
        ("tax", "세무", "Tax", ["세금", "세무", "지방세", "납세", "tax"]),
        ("traffic", "교통·도로", "Traffic and roads", ["교통", "도로", "traffic", "road"]),
        ("culture", "문화·행사", "Culture and events", ["문화", "행사", "축제", "공연", "culture", "event"]),
        ("jobs", "일자리", "Jobs", ["일자리", "채용", "취업", "구인", "job"]),
        ("welfare", "복지", "Welfare", ["복지", "welfare"]),
        ("tourism", "관광", "Tourism", ["관광", "tourism"]),
        ("safety", "안전", "Safety", ["안전", "재난", "safety", "disaster"]),
    )
]
DEPARTMENTS = [
    {"code": "tourism", "name_ko": "관광", "name_en": "Tourism", "default": False},
    {"code": "civil_affairs", "name_ko": "민원", "name_en": "Civil affairs", "default": True},
    {"code": "open_data", "name_ko": "공공데이터", "name_en": "Open data", "default": False},
]
READ_CATEGORIES = ApiClient.notice_categories
READ_DEPARTMENTS = ApiClient.departments


@pytest.fixture(autouse=True)
def vocabulary_of_the_api(monkeypatch):
    """Each test reads the categories and departments afresh, from these lists instead of the api."""

    async def categories(self) -> list[dict]:
        return NOTICE_CATEGORIES

    async def departments(self) -> list[dict]:
        return DEPARTMENTS

    monkeypatch.setattr(ApiClient, "notice_categories", categories)
    monkeypatch.setattr(ApiClient, "departments", departments)
    monkeypatch.setattr(vocabulary, "_kept", {})
