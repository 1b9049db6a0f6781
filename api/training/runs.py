"""Training runs: one at a time, in the background, in the Rasa environment; the live model is never touched.

A run copies the project's config, domain and data (a snapshot: edits made meanwhile wait for the next
run), trains a full model with `rasa train` into a new file in the models folder, then evaluates it:
an NLU model trained without a held-out part of the examples classifies that part (and, on request,
k-fold cross-validation), and the new model's file and the live model's classify the same held-out
messages and the regression set (the shipped file and the console's additions) for the safety gate.
The processes run at low priority (`nice`), so the assistant keeps answering while a model trains.

Across api replicas: a run is failed, with a reason the console shows, by whichever replica looks once its heartbeat
is `training_stale_seconds` old (its api process died), which frees the slot at once. Its `rasa train` dies with
that process (Linux's parent-death signal), and a model file is moved into the models folder and recorded only
while its run is still running, so a run already failed leaves no model behind.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.core.settings import PROJECT_ROOT, Settings, get_settings
from api.training import answers, data, metrics, registry, texts
from api.training import regression as regression_set
from api.training.errors import RunNotFound, TrainingBusy
from api.training.models import TrainedModel, TrainingRun
from common.clock import utcnow

if TYPE_CHECKING:  # types only: other domains' tables are not read here
    from api.staff.models import StaffUser

logger = logging.getLogger(__name__)
# The worker's heartbeat: this often, and at least six times within `training_stale_seconds`.
HEARTBEAT_SECONDS = 5
DIED_WITH_ITS_PROCESS = (
    "학습을 돌리던 api 프로세스가 멈춰 중단됐어요. 새 학습을 시작할 수 있어요. "
    "(The api process running this training stopped; a new run can be started.)"
)
# The training processes get SIGKILL when the api process (the thread that started them) dies, so that none
# goes on using the CPUs or writes a model for a run already failed: util-linux's setpriv (Essential in Debian).
PARENT_DEATH_SIGNAL = ["setpriv", "--pdeathsig", "KILL"]
LOG_TAIL_LINES = 200
# A group of examples (one intent in one language) this small stays whole in training.
MIN_GROUP_TO_HOLD_OUT = 5
STARTING = re.compile(r"Starting to train component '([^']+)'")
FINISHED = re.compile(r"Finished training component '([^']+)'")
EPOCHS = re.compile(r"Epochs:\s+(\d+)%")
EVALUATION_STEP = re.compile(r"evaluation step (\d+)/(\d+): (.+)")
# Predictions of the gate's comparison (api/training/gate.py), kept apart from the candidate's own figures.
COMPARED_SETS = ("candidate_held_out", "live_held_out", "live_regression")


# --- starting and reading runs ----------------------------------------------------------------------


def start(session: Session, settings: Settings, user: StaffUser, cross_validation: bool = False) -> TrainingRun:
    """Claims the one training slot (refused while another run is running) and records the run. Refused, with the
    names, while an intent has examples but no answer: the model would recognise it and the citizen get nothing."""
    answers.refuse_unanswered(settings, data.load(settings))
    fail_stale_runs(session, settings)
    now = utcnow()
    run = TrainingRun(
        status="running",
        cross_validation=cross_validation,
        started_by_id=user.id,
        started_at=now,
        heartbeat_at=now,
        stage="준비 중",
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError as error:
        raise TrainingBusy(
            "A training run is already running; start again when it has finished.",
            "이미 학습이 진행 중이에요. 끝난 뒤에 다시 시작해 주세요.",
        ) from error
    run.log_path = str(run_directory(settings, run.id) / "train.log")
    session.commit()
    return run


def launch(make_session: sessionmaker, settings: Settings, run_id: int) -> threading.Thread:
    thread = threading.Thread(target=TrainingJob(make_session, settings, run_id).run, name=f"training-{run_id}")
    thread.daemon = True
    thread.start()
    return thread


def fail_stale_runs(session: Session, settings: Settings | None = None) -> None:
    """Fails a running run whose heartbeat is older than `training_stale_seconds`: its api process died."""
    stale_after = timedelta(seconds=(settings or get_settings()).training_stale_seconds)
    session.execute(
        update(TrainingRun)
        .where(TrainingRun.status == "running", TrainingRun.heartbeat_at < utcnow() - stale_after)
        .values(status="failed", finished_at=utcnow(), error=DIED_WITH_ITS_PROCESS)
    )
    session.commit()


def runs(session: Session, limit: int = 30) -> list[TrainingRun]:
    fail_stale_runs(session)
    return list(session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)))


def get_run(session: Session, run_id: int) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise RunNotFound(f"training run {run_id} not found", f"학습 {run_id}이(가) 없어요.")
    return run


def running(session: Session) -> TrainingRun | None:
    fail_stale_runs(session)
    return session.scalar(select(TrainingRun).where(TrainingRun.status == "running"))


def log_tail(run: TrainingRun, lines: int = LOG_TAIL_LINES) -> str:
    if not run.log_path or not Path(run.log_path).exists():
        return ""
    return "\n".join(Path(run.log_path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def run_directory(settings: Settings, run_id: int) -> Path:
    return settings.training_runs_dir / f"run-{run_id}"


# --- the data a run learns from -----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    root: Path
    config: Path
    domain: Path
    data_dir: Path
    training_data: data.TrainingData
    fingerprint: str


def take_snapshot(settings: Settings, directory: Path) -> Snapshot:
    """Copies config, domain and data, and adds the intents only the data names to the run's domain."""
    project = settings.training_project_dir
    root = directory / "project"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with data.data_lock(settings):
        shutil.copyfile(project / settings.training_config, root / "config.yml")
        shutil.copytree(project / "domain", root / "domain")
        shutil.copytree(project / "data", root / "data", ignore=shutil.ignore_patterns(".*"))
    training_data = data.load_dir(root / "data", root)
    known = set()
    for path in (root / "domain").rglob("*.yml"):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        known |= {next(iter(i)) if isinstance(i, dict) else str(i) for i in content.get("intents") or []}
    # An intent admins created has no place in domain/ yet: Rasa must know it to keep it in a conversation.
    new_intents = sorted(set(training_data.intents()) - known)
    if new_intents:
        (root / "domain" / "admin_intents.yml").write_text(
            yaml.safe_dump({"version": "3.1", "intents": new_intents}, sort_keys=False), encoding="utf-8"
        )
    return Snapshot(root, root / "config.yml", root / "domain", root / "data", training_data, _fingerprint(root))


def _fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _rank(example: data.Example) -> str:
    """A stable order within an intent: an example keeps its side of the split as the data grows."""
    return hashlib.sha1(texts.key(example.text).encode()).hexdigest()


def _groups(training_data: data.TrainingData) -> list[list[data.Example]]:
    """The examples of each intent, each text once: the same words in the other language's file are the same
    example to the model, so they must not be on both sides of a split."""
    groups: dict[str, dict[str, data.Example]] = defaultdict(dict)
    for example in training_data.examples:
        groups[example.intent].setdefault(texts.key(example.text), example)
    return [sorted(group.values(), key=_rank) for _intent, group in sorted(groups.items())]


def held_out_split(training_data: data.TrainingData, percent: int) -> tuple[list[data.Example], list[data.Example]]:
    """(train, held out): `percent` of each intent's examples, the same ones every time."""
    train, held_out = [], []
    for group in _groups(training_data):
        count = round(len(group) * percent / 100) if len(group) >= MIN_GROUP_TO_HOLD_OUT else 0
        held_out += group[:count]
        train += group[count:]
    return train, held_out


def folds(training_data: data.TrainingData, k: int) -> list[tuple[list[data.Example], list[data.Example]]]:
    """k (train, test) pairs; every example of a group of at least k is tested exactly once."""
    pairs: list[tuple[list[data.Example], list[data.Example]]] = [([], []) for _ in range(k)]
    for group in _groups(training_data):
        for index, example in enumerate(group):
            for fold, (train, test) in enumerate(pairs):
                (test if len(group) >= k and index % k == fold else train).append(example)
    return pairs


def write_nlu_file(path: Path, examples: list[data.Example], other_entries: list[dict[str, Any]]) -> None:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example.text)
    entries = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in by_intent[intent])}
        for intent in sorted(by_intent)
    ]
    document = {"version": "3.1", "nlu": entries + other_entries}
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _messages(examples: list[data.Example]) -> list[dict[str, str]]:
    return [{"text": texts.plain(example.text), "expected": example.intent} for example in examples]


# --- the worker -------------------------------------------------------------------------------------------


class RunFailedElsewhere(RuntimeError):
    """Another replica failed the run (its heartbeat was stale): its worker stops and records nothing more."""

    def __init__(self) -> None:
        super().__init__("the run was marked failed meanwhile (not heard of for too long); nothing of it is recorded")


class TrainingJob:
    """Runs one training run to its end in a thread of the api process, recording progress as it goes."""

    def __init__(self, make_session: sessionmaker, settings: Settings, run_id: int) -> None:
        self._make_session = make_session
        self._settings = settings
        self._run_id = run_id
        self._directory = run_directory(settings, run_id)
        self._done = threading.Event()
        self._failed_elsewhere = threading.Event()
        self._process: subprocess.Popen | None = None
        self._heartbeat_seconds = min(HEARTBEAT_SECONDS, settings.training_stale_seconds / 6)
        self._last_progress = 0.0

    def run(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        heartbeat = threading.Thread(target=self._beat, name=f"training-{self._run_id}-heartbeat", daemon=True)
        heartbeat.start()
        try:
            self._train_and_evaluate()
        except Exception as error:  # the run fails, the api carries on
            logger.exception("training run failed", extra={"run": self._run_id})
            self._log(f"\nFAILED: {error}\n")
            self._finish("failed", str(error)[:2000])
        finally:
            self._done.set()
            shutil.rmtree(self._directory / "evaluation", ignore_errors=True)

    def _train_and_evaluate(self) -> None:
        with self._make_session() as session:
            run = get_run(session, self._run_id)
            cross_validation, started_by_id = run.cross_validation, run.started_by_id
        self._update(2, "학습 데이터 복사")
        snapshot = take_snapshot(self._settings, self._directory)
        self._settings.training_models_dir.mkdir(parents=True, exist_ok=True)
        # Written into the run's folder; only `_record_model` puts it where the models are.
        written_dir = self._directory / "model"
        written_dir.mkdir(exist_ok=True)
        name = f"paju-{snapshot.fingerprint}-r{self._run_id}"
        self._update(5, "모델 학습 시작")
        started = time.monotonic()
        components = self._component_count(snapshot.config)
        self._subprocess(
            [
                str(self._settings.training_rasa_env / "bin" / "rasa"),
                "train",
                "--config",
                str(snapshot.config),
                "--domain",
                str(snapshot.domain),
                "--data",
                str(snapshot.data_dir),
                "--out",
                str(written_dir.resolve()),
                "--fixed-model-name",
                name,
            ],
            lambda line, state: self._training_progress(line, state, components),
        )
        duration = time.monotonic() - started
        written = written_dir / f"{name}.tar.gz"
        if not written.is_file():
            raise RuntimeError(f"rasa train finished without writing {written}")
        path, model_id = self._record_model(written, snapshot, started_by_id, duration)
        self._update(70, "평가 준비")
        evaluation = self._evaluate(snapshot, path, cross_validation)
        with self._make_session() as session:
            model = session.get(TrainedModel, model_id)
            model.evaluation = evaluation
            session.commit()
        self._finish("succeeded")

    def _record_model(
        self, written: Path, snapshot: Snapshot, started_by_id: int | None, duration: float
    ) -> tuple[Path, int]:
        """Moves the new model into the models folder and records it, both only while the run is still running."""
        path = self._settings.training_models_dir / written.name
        # Copied beside its place (the models folder may be on another disk), then renamed into it at once: the
        # folder, which the registry reads, never shows part of a model nor one of a failed run.
        part = path.with_name(f"{path.name}.part")
        shutil.copyfile(written, part)
        written.unlink()
        with self._make_session() as session:
            if not self._still_running(session):
                part.unlink()
                raise RunFailedElsewhere()
            os.replace(part, path)
            model = registry.register(
                session,
                path,
                source="console",
                fingerprint=snapshot.fingerprint,
                config_name=self._settings.training_config,
                trained_by_id=started_by_id,
                duration_seconds=round(duration, 1),
                examples=data.snapshot(snapshot.training_data),
                evaluation={},
            )
            session.execute(update(TrainingRun).where(TrainingRun.id == self._run_id).values(model_id=model.id))
            session.commit()
            registry.write_recorded_list(session, self._settings)
            return path, model.id

    def _evaluate(self, snapshot: Snapshot, model_path: Path, cross_validation: bool) -> dict[str, Any]:
        work = self._directory / "evaluation"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        train, held_out = held_out_split(snapshot.training_data, self._settings.training_held_out_percent)
        write_nlu_file(work / "held_out_train.yml", train, snapshot.training_data.other_entries)
        trainings = [
            {"name": "held_out", "nlu": str(work / "held_out_train.yml"), "sets": {"held_out": _messages(held_out)}}
        ]
        if cross_validation:
            for number, (fold_train, fold_test) in enumerate(folds(snapshot.training_data, self._k), start=1):
                nlu = work / f"fold_{number}.yml"
                write_nlu_file(nlu, fold_train, snapshot.training_data.other_entries)
                trainings.append(
                    {"name": f"fold_{number}", "nlu": str(nlu), "sets": {"cross_validation": _messages(fold_test)}}
                )
        held_out_messages = _messages(held_out)
        with self._make_session() as session:
            regression = regression_set.messages(session, self._settings)
            live = registry.live_model(session, self._settings)
            live_id, live_file = (live.id, Path(live.path)) if live is not None else (None, None)
        # The gate's comparison: the candidate's file and the live model's classify the same messages, by the same
        # code, so neither is favoured by how it was measured (api/training/gate.py).
        candidate_sets = {"regression": regression, "candidate_held_out": held_out_messages}
        models = [{"path": str(model_path.resolve()), "sets": candidate_sets}]
        compare = live_file is not None and live_file.is_file() and live_file.resolve() != model_path.resolve()
        if compare:
            live_sets = {"live_regression": regression, "live_held_out": held_out_messages}
            models.append({"path": str(live_file.resolve()), "sets": live_sets})
        job = {
            "config": str(snapshot.config),
            "domain": str(snapshot.domain),
            "work_dir": str(work / "models"),
            "trainings": trainings,
            "models": models,
        }
        (work / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        self._subprocess(
            [
                str(self._settings.training_rasa_env / "bin" / "python"),
                str(PROJECT_ROOT / "scripts" / "evaluate_nlu.py"),
                str(work / "job.json"),
                str(work / "result.json"),
            ],
            self._evaluation_progress,
        )
        predictions = json.loads((work / "result.json").read_text(encoding="utf-8"))["predictions"]
        compared = {name: predictions.pop(name, []) for name in COMPARED_SETS}
        evaluation = {name: metrics.report(found) for name, found in predictions.items()}
        if compare:
            evaluation["comparison"] = {
                "live_model_id": live_id,
                "live_file": live_file.resolve().name,
                "held_out": {
                    "candidate": metrics.report(compared["candidate_held_out"]),
                    "live": metrics.report(compared["live_held_out"]),
                },
                "regression": {
                    "candidate": metrics.report(predictions.get("regression", [])),
                    "live": metrics.report(compared["live_regression"]),
                },
            }
            self._record_live_regression(live_id, evaluation["comparison"]["regression"]["live"])
        evaluation["held_out_percent"] = self._settings.training_held_out_percent
        if cross_validation:
            evaluation["folds"] = self._k
        return evaluation

    @property
    def _k(self) -> int:
        return self._settings.training_cross_validation_folds

    def _record_live_regression(self, live_id: int | None, report: dict[str, Any]) -> None:
        """The live model's latest figures on the regression set, shown beside every model's in the list."""
        if live_id is None or not report.get("count"):
            return
        with self._make_session() as session:
            live = session.get(TrainedModel, live_id)
            if live is not None:
                live.evaluation = {**(live.evaluation or {}), "regression": report}
                session.commit()

    # --- the processes and what they print ---

    def _subprocess(self, command: list[str], on_line) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TF_INTER_OP_PARALLELISM_THREADS": "1",
            "TF_INTRA_OP_PARALLELISM_THREADS": "2",
            # Components whose inputs did not change come from this cache on the next run.
            "RASA_CACHE_DIRECTORY": str((self._settings.training_runs_dir / "cache").resolve()),
        }
        self._log(f"$ {' '.join(command)}\n")
        guard = PARENT_DEATH_SIGNAL if shutil.which(PARENT_DEATH_SIGNAL[0]) else []
        if not guard:
            logger.warning("setpriv not found: a training process would outlive a killed api process")
        process = self._process = subprocess.Popen(
            [*guard, "nice", "-n", "10", *command],
            cwd=self._directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if self._failed_elsewhere.is_set():  # the heartbeat found the run failed before this process existed
            process.kill()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        state: dict[str, Any] = {}
        with open(self._log_path, "a", encoding="utf-8") as log:
            while chunk := process.stdout.read1(65536):
                pending += decoder.decode(chunk)
                *lines, pending = pending.split("\n")
                for line in lines:
                    # Progress bars redraw with \r: only the last drawing of a line is kept.
                    line = line.rsplit("\r", 1)[-1]
                    log.write(line + "\n")
                    on_line(line, state)
                if pending:
                    on_line(pending.rsplit("\r", 1)[-1], state)
                log.flush()
        process.wait()
        if self._failed_elsewhere.is_set():
            raise RunFailedElsewhere()
        if process.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} exited with status {process.returncode}; see the log")

    def _component_count(self, config: Path) -> int:
        content = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        return max(1, len(content.get("pipeline") or []) + len(content.get("policies") or []))

    def _training_progress(self, line: str, state: dict[str, Any], components: int) -> None:
        if match := STARTING.search(line):
            state["component"], state["epochs"] = match.group(1), None
        elif FINISHED.search(line):
            state["finished"] = state.get("finished", 0) + 1
            state["epochs"] = None
        elif match := EPOCHS.search(line):
            state["epochs"] = int(match.group(1))
        else:
            return
        done = state.get("finished", 0) + (state.get("epochs") or 0) / 100
        percent = 5 + 65 * min(done / components, 0.99)
        stage = f"모델 학습: {state.get('component', '')}"
        if state.get("epochs") is not None:
            stage += f" (에포크 {state['epochs']}%)"
        self._update(percent, stage)

    def _evaluation_progress(self, line: str, state: dict[str, Any]) -> None:
        if match := EVALUATION_STEP.search(line):
            step, steps = int(match.group(1)), int(match.group(2))
            self._update(70 + 27 * (step - 1) / steps, f"평가 {step}/{steps}: {match.group(3)}", force=True)

    # --- the run's record ---

    @property
    def _log_path(self) -> Path:
        return self._directory / "train.log"

    def _log(self, text: str) -> None:
        with open(self._log_path, "a", encoding="utf-8") as log:
            log.write(text)

    def _update(self, percent: float, stage: str, force: bool = False) -> None:
        # A database write a second at most: progress bars print far more often.
        now = time.monotonic()
        if not force and now - self._last_progress < 1:
            return
        self._last_progress = now
        with self._make_session() as session:
            session.execute(
                update(TrainingRun)
                .where(TrainingRun.id == self._run_id, TrainingRun.status == "running")
                .values(progress=int(percent), stage=stage[:200], heartbeat_at=utcnow())
            )
            session.commit()

    def _still_running(self, session: Session) -> bool:
        """Beats the heartbeat in the caller's transaction, which keeps the run running until it commits; False
        when another replica has failed it."""
        beaten = session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == self._run_id, TrainingRun.status == "running")
            .values(heartbeat_at=utcnow())
        )
        return beaten.rowcount == 1

    def _beat(self) -> None:
        while not self._done.wait(self._heartbeat_seconds):
            try:
                with self._make_session() as session:
                    still_running = self._still_running(session)
                    session.commit()
            except Exception:  # the database away for a moment: the next beat tries again
                logger.warning("training heartbeat not written", exc_info=True, extra={"run": self._run_id})
                continue
            if not still_running:
                self._failed_elsewhere.set()
                if self._process is not None:
                    self._process.kill()
                return

    def _finish(self, status: str, error: str | None = None) -> None:
        """Records the end, unless another replica failed the run meanwhile: its reason stays."""
        with self._make_session() as session:
            values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
            if status == "succeeded":
                values |= {"progress": 100, "stage": "완료"}
            session.execute(
                update(TrainingRun)
                .where(TrainingRun.id == self._run_id, TrainingRun.status == "running")
                .values(**values)
            )
            session.commit()
