"""The city's field departments that handle citizen reports, and how soon each answers first.

Separate from the handoff departments (api/conversations/departments.py): those answer chats, these go out
to the street.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldDepartment:
    code: str
    name_ko: str
    name_en: str
    # The first answer is due this many working hours (office hours only) after the report was received.
    first_answer_hours: int

    def name(self, language: str) -> str:
        return self.name_ko if language == "ko" else self.name_en


FIELD_DEPARTMENTS: dict[str, FieldDepartment] = {
    department.code: department
    for department in (
        FieldDepartment("traffic", "교통행정과", "Traffic Administration", 4),
        FieldDepartment("roads", "도로관리과", "Road Management", 8),
        FieldDepartment("environment", "자원순환과", "Resource Recycling", 8),
        FieldDepartment("urban_design", "도시경관과", "Urban Landscape", 16),
        FieldDepartment("parks", "공원녹지과", "Parks and Green Spaces", 16),
        FieldDepartment("water", "상수도사업소", "Waterworks", 4),
        FieldDepartment("civil_affairs", "민원여권과", "Civil Affairs", 8),
    )
}
DEFAULT_FIELD_DEPARTMENT = "civil_affairs"


def department_name(code: str, language: str) -> str:
    """The department's name in the language; its code when it is not (or no longer) a known department."""
    department = FIELD_DEPARTMENTS.get(code)
    return department.name(language) if department else code


def first_answer_hours(code: str) -> int:
    department = FIELD_DEPARTMENTS.get(code) or FIELD_DEPARTMENTS[DEFAULT_FIELD_DEPARTMENT]
    return department.first_answer_hours
