"""The training domain's jobs: deleting old model files, which otherwise pile up at about 40 MB a training."""

import logging
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.automation.schedule import Daily, Job, JobContext
from api.training import registry
from api.training.models import TrainedModel

logger = logging.getLogger("api.automation")


def prune_models(ctx: JobContext) -> dict[str, Any]:
    """Deletes the files of models beyond the newest `training_keep_models` that are also older than
    `training_keep_model_days`; the live model and the one a rollback would restore are always kept. The rows stay,
    marked, for the activation history; activating such a model says its file is gone."""
    settings = ctx.settings
    live = registry.live_model(ctx.session, settings)
    back = registry.rollback_target(ctx.session, settings)
    kept = {model.id for model in (live, back) if model is not None}
    present = [
        model
        for model in ctx.session.scalars(
            select(TrainedModel)
            .where(TrainedModel.file_deleted_at.is_(None))
            .order_by(TrainedModel.trained_at.desc(), TrainedModel.id.desc())
        )
    ]
    kept |= {model.id for model in present[: settings.training_keep_models]}
    cutoff = ctx.now - timedelta(days=settings.training_keep_model_days)
    deleted = 0
    for model in present:
        if model.id in kept or model.trained_at >= cutoff:
            continue
        Path(model.path).unlink(missing_ok=True)
        model.file_deleted_at = ctx.now
        deleted += 1
        logger.info("model file deleted", extra={"model": model.file_name})
    if deleted:
        registry.write_recorded_list(ctx.session, settings)
    ctx.session.commit()
    return {"deleted": deleted, "kept": len(present) - deleted}


JOBS = (Job("model_housekeeping", "오래된 학습 모델 정리", Daily(time(4, 30)), prune_models),)
