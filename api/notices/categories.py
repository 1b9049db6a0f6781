"""The notice categories, defined once: their codes, the names citizens read in Korean and English, whether
their notices are urgent, and the words that name them in a typed message. Adding a category is one line here."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NoticeCategory:
    code: str
    name_ko: str
    name_en: str
    # Words that name the category in a typed message ("교통 공지 알림 받을래", "safety notices").
    words: tuple[str, ...]
    # Its notices reach subscribers at once, also in quiet hours.
    urgent: bool = False

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_ko


CATEGORIES: dict[str, NoticeCategory] = {
    category.code: category
    for category in (
        NoticeCategory("administration", "행정", "Administration", ("행정", "민원", "administration")),
        NoticeCategory("tax", "세무", "Tax", ("세금", "세무", "지방세", "납세", "tax")),
        NoticeCategory("traffic", "교통·도로", "Traffic and roads", ("교통", "도로", "traffic", "road")),
        NoticeCategory(
            "culture",
            "문화·행사",
            "Culture and events",
            ("문화", "행사", "축제", "공연", "culture", "event", "festival"),
        ),
        NoticeCategory("jobs", "일자리", "Jobs", ("일자리", "채용", "취업", "구인", "job")),
        NoticeCategory("welfare", "복지", "Welfare", ("복지", "welfare")),
        NoticeCategory("tourism", "관광", "Tourism", ("관광", "tourism")),
        NoticeCategory("safety", "안전", "Safety", ("안전", "재난", "safety", "disaster"), urgent=True),
    )
}
CATEGORY_CODES = tuple(CATEGORIES)
