"""Korea's public holidays for any year, from the maintained `holidays` package, plus the city's own days off."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays

# The package's language codes for the conversation's languages.
_LANGUAGES = {"ko": "ko", "en": "en_US"}
_CITY_HOLIDAY = {"ko": "임시공휴일", "en": "City holiday"}


@lru_cache(maxsize=32)
def _korean(year: int, language: str) -> dict[date, str]:
    # Lunar New Year, Chuseok, substitute and election days included; computed once per year and language.
    return dict(holidays.country_holidays("KR", years=year, language=_LANGUAGES[language]))


@dataclass(frozen=True)
class PublicHolidays:
    """Days the city office and the DMZ tour are closed: Korea's public holidays and the days the city adds."""

    extra: frozenset[date] = frozenset()

    @classmethod
    def with_extra(cls, days: Iterable[date]) -> "PublicHolidays":
        return cls(frozenset(days))

    def __contains__(self, day: date) -> bool:
        return day in self.extra or day in _korean(day.year, "ko")

    def name(self, day: date, language: str = "ko") -> str | None:
        """The holiday's name in the citizen's language, or None on an ordinary day."""
        found = _korean(day.year, language if language in _LANGUAGES else "ko").get(day)
        if found is None and day in self.extra:
            return _CITY_HOLIDAY.get(language, _CITY_HOLIDAY["ko"])
        return found
