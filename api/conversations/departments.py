"""The departments whose staff take conversations over, defined once: codes, names in Korean and English, and the
one a request goes to when nobody guessed better."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    code: str
    name_ko: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_ko

    def staff_title(self, language: str) -> str:
        """How a citizen sees who writes to them: 관광과 상담원, Tourism staff."""
        return f"{self.name_en} staff" if language == "en" else f"{self.name_ko}과 상담원"


DEPARTMENTS: dict[str, Department] = {
    department.code: department
    for department in (
        Department("tourism", "관광", "Tourism"),
        Department("civil_affairs", "민원", "Civil affairs"),
        Department("open_data", "공공데이터", "Open data"),
    )
}
DEPARTMENT_CODES = tuple(DEPARTMENTS)
DEFAULT_DEPARTMENT = "civil_affairs"


def department_names(language: str) -> dict[str, str]:
    """Each department's code and name, for the console's lists."""
    return {code: department.name(language) for code, department in DEPARTMENTS.items()}
