"""A dataset's rows as the later steps select them: by a query's filters, and by the months each row covers."""

import pandas as pd

from api.opendata.models import DatasetColumn
from api.opendata.schemas import StructuredQuery


def filtered(frame: pd.DataFrame, query: StructuredQuery) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for condition in query.filters:
        mask &= frame[condition.column].isin(condition.values).fillna(False)
    return frame[mask]


def time_keys(frame: pd.DataFrame, column: DatasetColumn) -> pd.DataFrame:
    """Each row's first and last month ("2024-01", "2024-12" for a yearly row), by row index."""
    values = frame[column.name].dropna()
    if column.type == "year":
        start = values.astype(int).map(lambda year: f"{year:04d}-01")
        end = values.astype(int).map(lambda year: f"{year:04d}-12")
    elif column.type == "quarter":
        quarters = values.astype(str)
        start = quarters.map(lambda key: f"{key[:4]}-{int(key[-1]) * 3 - 2:02d}")
        end = quarters.map(lambda key: f"{key[:4]}-{int(key[-1]) * 3:02d}")
    else:
        start = end = values.astype(str).str.slice(0, 7)
    return pd.DataFrame({"start": start, "end": end})
