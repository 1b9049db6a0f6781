"""Typed errors of the knowledge domain; each is raised with its reason in English and Korean."""

from api.core.errors import InvalidInput, NotFound


class EntryNotFound(NotFound):
    code = "knowledge_entry_not_found"


class AskNotFound(NotFound):
    code = "knowledge_ask_not_found"


class InvalidEntry(InvalidInput):
    """A field of an entry that is missing, too long or malformed (a link that is not https)."""

    code = "invalid_knowledge_entry"

    def __init__(self, detail: str, detail_ko: str, field: str) -> None:
        super().__init__(detail, detail_ko)
        self.field = field  # the form field at fault, for the console to point at
