"""The model registry: the model files the console knows, which one is live, switching between them.

The live model is the console's latest activation, else the file `models/current.tar.gz` names. Every Rasa
replica pulls it from `GET /api/models/live` (endpoints.yml `models:`), so a switch reaches replicas that share
no disk with the api, and conversations live in the tracker store, so none is dropped. Activating also points
`models/current.tar.gz` at the model, so a restart of `make run` on a fresh database keeps it; `models/activated`
names the model the console chose (scripts/train-model then leaves the link alone) and `models/recorded.txt`
the files scripts/train-model must not prune.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.settings import PROJECT_ROOT, Settings
from api.staff import service as staff_service
from api.training import data, gate
from api.training.errors import ModelFileMissing, ModelGated, ModelKept, ModelNotFound, NoLiveModel
from api.training.models import ModelActivation, TrainedModel
from common.clock import utcnow
from common.rasa_auth import rasa_authorization

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.staff.models import StaffUser

logger = logging.getLogger(__name__)
CURRENT_LINK = "current.tar.gz"
ACTIVATED_MARKER = "activated"
RECORDED_LIST = "recorded.txt"
SCRIPT_MODEL_NAME = re.compile(r"^paju-([0-9a-f]{16})\.tar\.gz$")
STATUS_TIMEOUT_SECONDS = 3.0
NEWEST_FIRST = ModelActivation.activated_at.desc(), ModelActivation.id.desc()


# --- the models the console knows -------------------------------------------------------------------


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata Rasa packs into a model file (model_id, trained_at, ...)."""
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if member.name.lstrip("./") == "metadata.json":
                return json.load(archive.extractfile(member))
    raise ValueError(f"{path} has no metadata.json: not a Rasa model")


def register(session: Session, path: Path, **fields: Any) -> TrainedModel:
    """Records a model file once; the same file registered again is the same model."""
    path = path.resolve()
    existing = session.scalar(select(TrainedModel).where(TrainedModel.path == str(path)))
    if existing and fields.get("source") == "console":
        # Seen in the folder before its run recorded it: the run knows better.
        for name, value in fields.items():
            setattr(existing, name, value)
    if existing:
        return existing
    metadata = read_metadata(path)
    trained_at = fields.pop("trained_at", None) or _parse_time(metadata.get("trained_at"))
    model = TrainedModel(
        path=str(path),
        file_name=path.name,
        rasa_model_id=metadata.get("model_id"),
        trained_at=trained_at or utcnow(),
        **fields,
    )
    try:
        with session.begin_nested():
            session.add(model)
    except IntegrityError:  # registered by another request meanwhile
        return session.scalar(select(TrainedModel).where(TrainedModel.path == str(path)))
    return model


def discover(session: Session, settings: Settings) -> None:
    """Registers model files in the models folder the console has not seen (trained by scripts/train-model)."""
    folder = settings.training_models_dir
    if not folder.is_dir():
        return
    known = set(session.scalars(select(TrainedModel.path)))
    found = {path.resolve() for path in folder.glob("*.tar.gz") if path.is_file()}
    for path in sorted(found - {Path(p) for p in known}):
        try:
            _register_found(session, settings, path)
        except (OSError, ValueError, tarfile.TarError) as error:
            logger.warning("not a readable Rasa model", extra={"path": str(path), "error": str(error)})
    session.commit()
    write_recorded_list(session, settings)


def _register_found(session: Session, settings: Settings, path: Path) -> TrainedModel:
    """A model file the console did not train (scripts/train-model's, or a test stack's)."""
    fingerprint = match.group(1) if (match := SCRIPT_MODEL_NAME.match(path.name)) else None
    examples = _current_examples_if_matching(settings, fingerprint)
    return register(session, path, source="found", fingerprint=fingerprint, examples=examples)


def _current_examples_if_matching(settings: Settings, fingerprint: str | None) -> list[list[str]] | None:
    """A model scripts/train-model made from exactly the current data learnt the current examples."""
    if fingerprint is None:
        return None
    script = PROJECT_ROOT / "scripts" / "model_fingerprint.py"
    try:
        spec = importlib.util.spec_from_file_location("model_fingerprint", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        current = module.fingerprint(settings.training_project_dir)
    except (OSError, ImportError, AttributeError):
        return None
    return data.snapshot(data.load(settings)) if current == fingerprint else None


def write_recorded_list(session: Session, settings: Settings) -> None:
    folder = settings.training_models_dir.resolve()
    names = sorted(
        Path(path).name for path in session.scalars(select(TrainedModel.path)) if Path(path).parent == folder
    )
    if folder.is_dir():
        data.write_atomically(folder / RECORDED_LIST, "".join(f"{name}\n" for name in names))


def models(session: Session) -> list[TrainedModel]:
    return list(session.scalars(select(TrainedModel).order_by(TrainedModel.trained_at.desc(), TrainedModel.id.desc())))


def get_model(session: Session, model_id: int) -> TrainedModel:
    model = session.get(TrainedModel, model_id)
    if model is None:
        raise ModelNotFound(f"model {model_id} not found", f"모델 {model_id}이(가) 없어요.")
    return model


def by_rasa_id(session: Session, rasa_model_id: str | None) -> TrainedModel | None:
    if not rasa_model_id:
        return None
    return session.scalar(
        select(TrainedModel).where(TrainedModel.rasa_model_id == rasa_model_id).order_by(TrainedModel.id).limit(1)
    )


# --- what is live -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveFile:
    """The live model's file, as Rasa replicas pull it; `etag` names the model: its Rasa model_id, quoted."""

    path: Path
    etag: str
    stat: os.stat_result


def _latest_activation(session: Session) -> ModelActivation | None:
    return session.scalar(select(ModelActivation).order_by(*NEWEST_FIRST).limit(1))


def live_path(session: Session, settings: Settings) -> Path:
    """Where the live model is: the file of the console's latest activation, else the one `current.tar.gz` names
    (TRAINING_LIVE_MODEL names another, as a test stack does)."""
    latest = _latest_activation(session)
    if latest is not None and Path(latest.model.path).is_file():
        return Path(latest.model.path)
    return settings.training_live_model or settings.training_models_dir / CURRENT_LINK


def live_file(session: Session, settings: Settings) -> LiveFile:
    """The live model's file and its ETag, the same on every api replica and after restarts."""
    path = live_path(session, settings)
    try:
        resolved = path.resolve(strict=True)
        stat = resolved.stat()
        model_id = _rasa_model_id(resolved, stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError, KeyError, tarfile.TarError) as error:
        raise NoLiveModel(
            f"There is no live model: {path.name} is missing or not a Rasa model.",
            f"운영할 모델이 없어요: {path.name}이(가) 없거나 Rasa 모델이 아니에요.",
        ) from error
    return LiveFile(resolved, f'"{model_id}"', stat)


@lru_cache(maxsize=32)
def _rasa_model_id(path: Path, mtime_ns: int, size: int) -> str:
    """Read once per version of a file (its mtime and size are in the key): metadata.json is the archive's last
    member, so finding it unpacks all of it, which no replica's pull should wait for."""
    return read_metadata(path)["model_id"]


def replica_has(if_none_match: str | None, etag: str) -> bool:
    """Whether a replica's If-None-Match names the live model, i.e. it runs it already (RFC 9110 weak comparison).
    A replica without a model sends a random fingerprint of its own, which names nothing."""
    tags = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    return etag in tags or "*" in tags


def live_model(session: Session, settings: Settings) -> TrainedModel | None:
    """The live model as the console knows it; a live file the console has not seen yet is registered."""
    try:
        path = live_path(session, settings).resolve(strict=True)
    except OSError:
        return None
    model = _by_path(session, path)
    if model is None:
        discover(session, settings)
        model = _by_path(session, path)
    if model is None:  # outside the models folder
        try:
            model = _register_found(session, settings, path)
        except (OSError, ValueError, tarfile.TarError):
            return None
        session.commit()
    return model


def _by_path(session: Session, path: Path) -> TrainedModel | None:
    return session.scalar(select(TrainedModel).where(TrainedModel.path == str(path)))


@dataclass(frozen=True)
class Replica:
    url: str
    rasa_model_id: str | None = None
    error: str | None = None


def _rasa_auth(settings: Settings) -> dict[str, str]:
    return rasa_authorization(settings.rasa_jwt_secret, "paju-api")


def replicas(settings: Settings) -> list[Replica]:
    """What each Rasa replica says it runs (`GET /status`): the live model once it has pulled it."""
    return [_replica(settings, url) for url in settings.rasa_replicas]


def _replica(settings: Settings, url: str) -> Replica:
    try:
        response = httpx.get(f"{url}/status", headers=_rasa_auth(settings), timeout=STATUS_TIMEOUT_SECONDS)
        response.raise_for_status()
        return Replica(url, response.json().get("model_id"))
    except (httpx.HTTPError, ValueError) as error:
        return Replica(url, error=str(error) or type(error).__name__)


# --- switching ---------------------------------------------------------------------------------------


def activate(
    session: Session, settings: Settings, model_id: int, user: StaffUser, confirm_reason: str | None = None
) -> ModelActivation:
    """Makes the model the live one: every Rasa replica pulls it at its next pull (MODEL_PULL_SECONDS), and a
    restart starts with it. Rolling back is activating an earlier model.

    A newer model the safety gate blocks (api/training/gate.py) goes live only with an admin's reason, recorded
    with the activation; a rollback is not gated, since it is how a bad model is undone in a hurry."""
    model = get_model(session, model_id)
    if not Path(model.path).is_file():
        raise ModelFileMissing(
            f"The model file {model.file_name} is gone.", f"모델 파일({model.file_name})이 없어 전환할 수 없어요."
        )
    previous = live_model(session, settings)
    earlier = previous is not None and previous.id != model.id and model.trained_at < previous.trained_at
    confirm_reason = (confirm_reason or "").strip() or None
    checked = gate_of(session, settings, model)
    blocked = checked.reasons
    if blocked and confirm_reason is None:
        raise ModelGated(*gate.refusal(checked))
    point_current_link(settings, Path(model.path))
    activation = ModelActivation(
        model_id=model.id,
        previous_model_id=previous.id if previous else None,
        kind="rollback" if earlier else "activate",
        activated_by_id=user.id,
        activated_at=utcnow(),
        confirm_reason=confirm_reason if blocked else None,
        gate_reasons=[reason.korean for reason in blocked] or None,
    )
    session.add(activation)
    detail = model.file_name + (f" · 안전 검사 무시 이유: {confirm_reason}" if blocked else "")
    staff_service.audit(session, user, f"model_{activation.kind}", f"model:{model.id}", detail)
    session.commit()
    return activation


def gate_of(session: Session, settings: Settings, model: TrainedModel) -> gate.Gate:
    """What the safety gate says of making `model` live now; an earlier model (a rollback) is never blocked."""
    live = live_model(session, settings)
    if live is not None and live.id != model.id and model.trained_at < live.trained_at:
        return gate.Gate(compared=False, margin=settings.training_gate_f1_drop)
    return gate.assess(model, live, settings.training_gate_f1_drop)


def delete_file(session: Session, settings: Settings, model_id: int, user: StaffUser) -> TrainedModel:
    """Deletes a model's file, as housekeeping does (api/training/scheduled.py), on an admin's confirmed request;
    the row stays for the activation history. The live model and the one a rollback would restore are kept."""
    model = get_model(session, model_id)
    kept = {found.id for found in (live_model(session, settings), rollback_target(session, settings)) if found}
    if model.id in kept:
        raise ModelKept(
            "The live model and the one a rollback would restore cannot be deleted.",
            "운영 중인 모델과 되돌리기에 쓰일 직전 모델은 지울 수 없어요.",
        )
    if model.file_deleted_at is None:
        Path(model.path).unlink(missing_ok=True)
        model.file_deleted_at = utcnow()
        staff_service.audit(session, user, "model_delete", f"model:{model.id}", model.file_name)
        session.commit()
        write_recorded_list(session, settings)
    return model


def rollback_target(session: Session, settings: Settings) -> TrainedModel | None:
    """The newest model older than the live one among those that have been live: one step back."""
    live = live_model(session, settings)
    if live is None:
        return None
    been_live = {
        model
        for activation in activations(session, limit=500)
        for model in (activation.model, activation.previous_model)
        if model is not None and model.id != live.id and model.trained_at < live.trained_at
    }
    return max(been_live, key=lambda model: (model.trained_at, model.id), default=None)


def activations(session: Session, limit: int = 50) -> list[ModelActivation]:
    return list(session.scalars(select(ModelActivation).order_by(*NEWEST_FIRST).limit(limit)))


def point_current_link(settings: Settings, model_path: Path) -> None:
    """`current.tar.gz` → the model (atomically), and `activated` says the console chose it."""
    folder = settings.training_models_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = model_path.name if model_path.resolve().parent == folder.resolve() else str(model_path.resolve())
    temporary = folder / f".{CURRENT_LINK}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, folder / CURRENT_LINK)
    data.write_atomically(folder / ACTIVATED_MARKER, target + "\n")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Rasa writes UTC without a zone (datetime.utcnow()).
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


# --- what changed since the live model ---------------------------------------------------------------


def changes_since(settings: Settings, model: TrainedModel | None) -> data.Changes | None:
    """The examples added and removed since `model` learnt; None when what it learnt is unknown."""
    if model is None or model.examples is None:
        return None
    return data.changes(model.examples, data.snapshot(data.load(settings)))
