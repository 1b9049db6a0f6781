"""Seed open datasets: the catalogue in seed/catalog.yml, each imported like an admin's upload if missing."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from api.opendata import service
from api.opendata.models import Dataset
from api.opendata.schemas import DatasetMetadata

SEED_DIR = Path(__file__).parent / "seed"


@cache
def seed_catalog() -> tuple[dict[str, Any], ...]:
    with (SEED_DIR / "catalog.yml").open(encoding="utf-8") as file:
        return tuple(yaml.safe_load(file))


def seed_metadata(dataset_id: str) -> tuple[DatasetMetadata, Path]:
    entry = next(entry for entry in seed_catalog() if entry["id"] == dataset_id)
    fields = {key: value for key, value in entry.items() if key != "file"}
    return DatasetMetadata.model_validate(fields), SEED_DIR / entry["file"]


def seed_opendata(session: Session) -> int:
    added = 0
    for dataset in service.list_datasets(session):
        if dataset.shape_kind is None and service.live_version(session, dataset.id) is not None:
            service.live_frame(session, dataset)  # reads the shape of a dataset imported before shapes existed
    for entry in seed_catalog():
        if session.get(Dataset, entry["id"]) is not None:
            continue
        metadata, path = seed_metadata(entry["id"])
        service.import_version(session, metadata, path.read_bytes(), path.name, imported_by="seed")
        added += 1
    return added
