"""HTTP routes of the safety gate, the console's part of the regression set and the test chat (admins only)."""

from fastapi import APIRouter, Request, status

from api.core.errors import preferred_language
from api.core.ids import Id
from api.core.rate_limits import RateLimitsDep
from api.deps import AdminDep, SessionDep
from api.training import registry, regression, trial
from api.training.schemas import (
    GateOut,
    IntentChangeOut,
    RegressionFromInboxIn,
    RegressionIn,
    RegressionOut,
    TrialIn,
    TrialOut,
    TrialTurnOut,
)

router = APIRouter()


@router.get("/training/models/{model_id}/gate", response_model=GateOut)
def model_gate(model_id: Id, request: Request, session: SessionDep, admin: AdminDep) -> GateOut:
    """Whether activating the model now needs a reason, and the per-intent changes against the live model."""
    settings = request.app.state.settings
    found = registry.gate_of(session, settings, registry.get_model(session, model_id))
    korean = preferred_language(request) == "ko"
    return GateOut(
        blocked=found.blocked,
        compared=found.compared,
        compared_with=found.compared_with,
        margin=found.margin,
        reasons=[reason.korean if korean else reason.english for reason in found.reasons],
        accuracy=found.accuracy,
        changes=[IntentChangeOut(**vars(change), change=change.change) for change in found.changes],
    )


@router.delete("/training/models/{model_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model_file(model_id: Id, request: Request, session: SessionDep, admin: AdminDep) -> None:
    """Deletes the model's file (the record stays for the history); 409 for the live model and the rollback one."""
    registry.delete_file(session, request.app.state.settings, model_id, admin)


@router.get("/training/regression", response_model=list[RegressionOut])
def list_regression(request: Request, session: SessionDep, admin: AdminDep) -> list[RegressionOut]:
    return [RegressionOut(**vars(entry)) for entry in regression.entries(session, request.app.state.settings)]


@router.post("/training/regression", response_model=RegressionOut, status_code=status.HTTP_201_CREATED)
def add_regression(body: RegressionIn, request: Request, session: SessionDep, admin: AdminDep) -> RegressionOut:
    settings = request.app.state.settings
    added = regression.add(session, settings, admin, body.language, body.intent, body.text)
    return _regression_out(added)


@router.post("/training/inbox/{item_id}/regression", response_model=RegressionOut, status_code=status.HTTP_201_CREATED)
def add_regression_from_inbox(
    item_id: Id, request: Request, session: SessionDep, admin: AdminDep, body: RegressionFromInboxIn | None = None
) -> RegressionOut:
    settings = request.app.state.settings
    intent = body.intent if body else None
    return _regression_out(regression.add_from_inbox(session, settings, admin, item_id, intent or ""))


@router.delete("/training/regression/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_regression(message_id: Id, session: SessionDep, admin: AdminDep) -> None:
    regression.remove(session, admin, message_id)


def _regression_out(message) -> RegressionOut:
    added_by = message.added_by.name if message.added_by else None
    return RegressionOut(
        id=message.id, language=message.language, text=message.text, intent=message.intent, added_by=added_by
    )


@router.post("/training/models/{model_id}/trial", response_model=TrialOut)
def talk_to_model(
    model_id: Id, body: TrialIn, request: Request, session: SessionDep, admin: AdminDep, limits: RateLimitsDep
) -> TrialOut:
    """Sends a message to the model in the test chat (starting its staging Rasa first): 409 `trial_not_ready`
    while it loads."""
    limits.hit(("model_trial_per_user", f"admin:{admin.id}"))
    model = registry.get_model(session, model_id)
    chat = trial.for_app(request.app.state)
    chat.send(model, admin.id, body.text)
    return _trial_out(chat, model.id, admin.id)


@router.post("/training/models/{model_id}/trial/start", response_model=TrialOut)
def start_trial(model_id: Id, request: Request, session: SessionDep, admin: AdminDep) -> TrialOut:
    """Loads the model into the staging Rasa without a message yet (the console does it on opening the chat)."""
    model = registry.get_model(session, model_id)
    chat = trial.for_app(request.app.state)
    chat.start(model)
    return _trial_out(chat, model.id, admin.id)


@router.get("/training/trial", response_model=TrialOut)
def trial_status(request: Request, admin: AdminDep) -> TrialOut:
    chat = trial.for_app(request.app.state)
    staging = chat.current()
    return _trial_out(chat, staging.model_id if staging else None, admin.id)


@router.delete("/training/trial", status_code=status.HTTP_204_NO_CONTENT)
def stop_trial(request: Request, admin: AdminDep) -> None:
    trial.for_app(request.app.state).stop()


def _trial_out(chat: trial.TrialChat, model_id: int | None, user_id: int) -> TrialOut:
    staging = chat.current()
    running = staging is not None and staging.model_id == model_id
    turns = chat.turns(model_id, user_id) if running else []
    return TrialOut(
        model_id=model_id,
        status=staging.status if running else "stopped",
        turns=[TrialTurnOut(**vars(turn)) for turn in turns],
    )
