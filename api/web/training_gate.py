"""Admin console pages of the safety gate: confirming activation, rollback and deletion, the regression set, the test
chat.

Every change asks first: the buttons elsewhere lead to a page that says what will happen (and, for a model the gate
blocks, why and for what reason), and only its form changes anything, so it works without JavaScript.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.core.errors import DomainError
from api.core.ids import Id
from api.core.rate_limits import RateLimitsDep
from api.deps import SessionDep
from api.training import data, registry, regression, trial
from api.web.auth import AdminForm, AdminPage
from api.web.pages import error_page, render

# Mounted under /console/admin/training by api/web/training.py.
router = APIRouter()
HOME = "/console/admin/training"
MODELS = f"{HOME}/models"
REGRESSION = f"{HOME}/regression"
INBOX = f"{HOME}/inbox"
SET_NAMES = {"regression": "회귀 세트", "held_out": "보류 데이터"}
TRIAL_STATUSES = {
    "starting": "불러오는 중",
    "ready": "대화할 수 있어요",
    "failed": "띄우지 못했어요",
    "stopped": "꺼져 있어요",
}


# --- confirming activation and rollback ------------------------------------------------------------------


@router.get("/models/{model_id}/activate", response_class=HTMLResponse)
def confirm_activation(request: Request, model_id: Id, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    settings = request.app.state.settings
    try:
        model = registry.get_model(session, model_id)
    except DomainError as error:
        return error_page(request, signed, error, MODELS)
    live = registry.live_model(session, settings)
    context = {
        "signed": signed,
        "model": model,
        "live": live,
        "gate": registry.gate_of(session, settings, model),
        "set_names": SET_NAMES,
        "rollback": live is not None and live.id != model.id and model.trained_at < live.trained_at,
        "action": f"{MODELS}/{model.id}/activate",
    }
    return render(request, "training_confirm.html", context)


@router.get("/rollback", response_class=HTMLResponse)
def confirm_rollback(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    settings = request.app.state.settings
    target = registry.rollback_target(session, settings)
    if target is None:
        return error_page(request, signed, "되돌아갈 이전 모델이 없어요.", HOME)
    live = registry.live_model(session, settings)
    context = {
        "signed": signed,
        "model": target,
        "live": live,
        "gate": registry.gate_of(session, settings, target),
        "set_names": SET_NAMES,
        "rollback": True,
        "action": f"{HOME}/rollback",
    }
    return render(request, "training_confirm.html", context)


@router.get("/models/{model_id}/delete", response_class=HTMLResponse)
def confirm_deletion(request: Request, model_id: Id, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    try:
        model = registry.get_model(session, model_id)
    except DomainError as error:
        return error_page(request, signed, error, MODELS)
    return render(request, "training_delete.html", {"signed": signed, "model": model})


@router.post("/models/{model_id}/delete")
def delete_model_file(request: Request, model_id: Id, session: SessionDep, signed: AdminForm) -> Response:
    try:
        registry.delete_file(session, request.app.state.settings, model_id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, f"{MODELS}/{model_id}")
    return RedirectResponse(MODELS, status_code=303)


# --- the regression set ---------------------------------------------------------------------------------


@router.get("/regression", response_class=HTMLResponse)
def regression_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    settings = request.app.state.settings
    entries = regression.entries(session, settings)
    context = {
        "signed": signed,
        "entries": entries,
        "added": [entry for entry in entries if entry.id is not None],
        "shipped": [entry for entry in entries if entry.id is None],
        "intents": data.load(settings).intents(),
        "file": settings.training_regression_set.name,
    }
    return render(request, "training_regression.html", context)


@router.post("/regression")
def add_regression(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    language: Annotated[str, Form(max_length=2)] = "",
    intent: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        regression.add(session, request.app.state.settings, signed.user, language, intent, text)
    except DomainError as error:
        return error_page(request, signed, error, REGRESSION)
    return RedirectResponse(REGRESSION, status_code=303)


@router.post("/regression/{message_id}/remove")
def remove_regression(request: Request, message_id: Id, session: SessionDep, signed: AdminForm) -> Response:
    try:
        regression.remove(session, signed.user, message_id)
    except DomainError as error:
        return error_page(request, signed, error, REGRESSION)
    return RedirectResponse(REGRESSION, status_code=303)


@router.post("/inbox/{item_id}/regression")
def add_inbox_item_to_regression(
    request: Request,
    item_id: Id,
    session: SessionDep,
    signed: AdminForm,
    intent: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form(max_length=1000)] = INBOX,
) -> Response:
    """ "회귀 세트에 추가" on an inbox item: the message with the intent chosen beside it (else its label)."""
    back = back if back.startswith(INBOX) and "//" not in back and "\\" not in back else INBOX
    try:
        regression.add_from_inbox(session, request.app.state.settings, signed.user, item_id, intent)
    except DomainError as error:
        return error_page(request, signed, error, back)
    return RedirectResponse(back, status_code=303)


# --- the test chat -----------------------------------------------------------------------------------------


@router.get("/models/{model_id}/try", response_class=HTMLResponse)
def trial_page(request: Request, model_id: Id, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    try:
        model = registry.get_model(session, model_id)
    except DomainError as error:
        return error_page(request, signed, error, MODELS)
    chat = trial.for_app(request.app.state)
    staging = chat.current()
    running = staging if staging is not None and staging.model_id == model.id else None
    context = {
        "signed": signed,
        "model": model,
        "live": registry.live_model(session, request.app.state.settings),
        "status": running.status if running else "stopped",
        "statuses": TRIAL_STATUSES,
        "other": staging.model_file if staging is not None and running is None else None,
        "turns": chat.turns(model.id, signed.user.id),
        "idle_minutes": round(request.app.state.settings.training_trial_idle_seconds / 60),
    }
    return render(request, "training_trial.html", context)


def _trial_back(model_id: int) -> str:
    return f"{MODELS}/{model_id}/try"


@router.post("/models/{model_id}/try/start")
def start_trial(request: Request, model_id: Id, session: SessionDep, signed: AdminForm) -> Response:
    try:
        trial.for_app(request.app.state).start(registry.get_model(session, model_id))
    except DomainError as error:
        return error_page(request, signed, error, _trial_back(model_id))
    return RedirectResponse(_trial_back(model_id), status_code=303)


@router.post("/models/{model_id}/try")
def send_trial_message(
    request: Request,
    model_id: Id,
    session: SessionDep,
    signed: AdminForm,
    limits: RateLimitsDep,
    text: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if not text.strip():
        return error_page(request, signed, "보낼 문장을 적어 주세요.", _trial_back(model_id), status_code=422)
    try:
        limits.hit(("model_trial_per_user", f"admin:{signed.user.id}"))
        trial.for_app(request.app.state).send(registry.get_model(session, model_id), signed.user.id, text.strip())
    except DomainError as error:
        return error_page(request, signed, error, _trial_back(model_id))
    return RedirectResponse(_trial_back(model_id), status_code=303)


@router.post("/models/{model_id}/try/restart")
def restart_trial(request: Request, model_id: Id, signed: AdminForm) -> Response:
    trial.for_app(request.app.state).restart_conversation(model_id, signed.user.id)
    return RedirectResponse(_trial_back(model_id), status_code=303)


@router.post("/models/{model_id}/try/stop")
def stop_trial(request: Request, model_id: Id, signed: AdminForm) -> Response:
    trial.for_app(request.app.state).stop()
    return RedirectResponse(_trial_back(model_id), status_code=303)
