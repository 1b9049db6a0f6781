"""Typed errors of the open-data domain, each with its reason in English and Korean."""

from api.core.errors import InvalidInput, NotFound


class DatasetNotFound(NotFound):
    code = "dataset_not_found"


class ChartNotFound(NotFound):
    code = "chart_not_found"


class PlaceNotFound(NotFound):
    code = "place_not_found"


class MalformedFile(InvalidInput):
    """A CSV file that cannot become a version of a dataset; `line` is the file line at fault, if one is."""

    code = "malformed_file"

    def __init__(self, detail: str, detail_ko: str | None = None, line: int | None = None) -> None:
        super().__init__(detail, detail_ko)
        self.line = line


class InvalidMetadata(InvalidInput):
    code = "invalid_metadata"


class InvalidFilter(InvalidInput):
    code = "invalid_filter"


class QueryNotComputable(InvalidInput):
    code = "query_not_computable"


class ChartFontMissing(RuntimeError):
    """The Korean font charts need is not installed: an installation fault, not a user's."""
