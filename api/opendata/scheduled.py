"""The open data domain's jobs: importing the CSV files dropped into the dataset inbox."""

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from api.automation.schedule import Every, Job, JobContext
from api.core.errors import DomainError
from api.opendata import service as opendata
from api.opendata.errors import MalformedFile
from api.opendata.schemas import DatasetMetadata
from common.clock import SEOUL

logger = logging.getLogger("api.automation")


def _move(path: Path, folder: Path, stamp: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    path.replace(target)
    return target


def _import_file(ctx: JobContext, path: Path) -> None:
    """Imports one dropped file as a new version of the dataset it is named after, as an upload would."""
    limit = ctx.settings.opendata_max_upload_bytes
    raw = path.read_bytes()
    if len(raw) > limit:
        raise MalformedFile(f"The file is larger than {limit:,} bytes.", f"파일이 {limit:,}바이트보다 커요.")
    metadata = DatasetMetadata(id=path.stem)
    opendata.get_dataset(ctx.session, metadata.id)  # only known datasets: a new one needs its registry entry
    opendata.import_version(ctx.session, metadata, raw, path.name, imported_by="dataset inbox")


def refresh_datasets(ctx: JobContext) -> dict[str, Any]:
    """Imports the CSV files dropped into the dataset inbox; each good one goes to done/, a bad one to rejected/
    with the reason next to it. A moved file is not seen again, so a second run imports nothing."""
    inbox = ctx.settings.dataset_inbox_dir
    counts = {"imported": 0, "rejected": 0}
    if not inbox.is_dir():
        return counts
    stamp = ctx.now.astimezone(SEOUL).strftime("%Y%m%d-%H%M%S")
    for path in sorted(inbox.glob("*.csv")):
        try:
            _import_file(ctx, path)
            ctx.session.commit()
        except (DomainError, ValidationError) as error:
            ctx.session.rollback()
            reason = f"{error.detail}\n{error.detail_ko}" if isinstance(error, DomainError) else str(error)
            target = _move(path, inbox / "rejected", stamp)
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
            counts["rejected"] += 1
            logger.warning("dataset file rejected", extra={"file": path.name, "reason": reason})
            continue
        _move(path, inbox / "done", stamp)
        counts["imported"] += 1
    return counts


JOBS = (Job("dataset_refresh", "공공데이터 파일 가져오기", Every(5), refresh_datasets),)
