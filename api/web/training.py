"""Admin console pages of the assistant's training: NLU inbox, examples, training runs, models, activation."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.core.errors import DomainError
from api.core.ids import Id
from api.core.settings import Settings
from api.deps import SessionDep
from api.knowledge import service as knowledge
from api.staff import service as staff
from api.training import answers, data, inbox, metrics, registry, runs
from api.training.errors import NewIntentUnconfirmed
from api.web import training_gate
from api.web.auth import AdminForm, AdminPage, Signed
from api.web.pages import error_page, render

router = APIRouter(prefix="/console/admin/training", include_in_schema=False)
HOME = "/console/admin/training"
INBOX = f"{HOME}/inbox"
EXAMPLES = f"{HOME}/examples"
MODELS = f"{HOME}/models"
ANSWERS = f"{HOME}/answers"
Line = Annotated[str, Form(max_length=1000)]
KIND_NAMES = {
    "review": "검토 필요 전체",
    "doubted": "확신했지만 틀린 듯",
    "low": "확신도 낮음",
    "fallback": "이해 못 함(폴백)",
    "handoff": "상담원 연결로 끝남",
    "all": "모든 문장",
}
ITEM_STATUSES = {
    "new": "미처리",
    "labelled": "학습 데이터로 추가",
    "out_of_scope": "범위 밖",
    "ignored": "무시",
    "all": "전체",
}
RUN_STATUSES = {"running": "진행 중", "succeeded": "완료", "failed": "실패"}
REPORT_NAMES = {
    "held_out": "보류 데이터 평가",
    "regression": "회귀 테스트 세트",
    "cross_validation": "교차 검증",
}
SHOWN_CHANGES = 100


# --- overview ----------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    settings = request.app.state.settings
    registry.discover(session, settings)
    live = registry.live_model(session, settings)
    training_data = data.load(settings)
    context = {
        "signed": signed,
        "live": live,
        "replicas": [
            (replica, registry.by_rasa_id(session, replica.rasa_model_id)) for replica in registry.replicas(settings)
        ],
        "pull_seconds": settings.model_pull_seconds,
        "changes": registry.changes_since(settings, live),
        "shown_changes": SHOWN_CHANGES,
        "warnings": data.warnings(training_data),
        "unanswered": answers.unanswered(settings, training_data),
        "example_count": len(training_data.examples),
        "review_count": inbox.count(session, settings, inbox.InboxFilter()),
        "running": runs.running(session),
        "runs": runs.runs(session, limit=10),
        "run_statuses": RUN_STATUSES,
        "rollback": registry.rollback_target(session, settings),
        "config": settings.training_config,
    }
    return render(request, "training.html", context)


# --- runs ----------------------------------------------------------------------------------------------


@router.post("/runs")
def start_run(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    cross_validation: Annotated[bool, Form()] = False,
) -> Response:
    settings = request.app.state.settings
    try:
        run = runs.start(session, settings, signed.user, cross_validation)
    except DomainError as error:
        return error_page(request, signed, error, HOME)
    runs.launch(request.app.state.sessionmaker, settings, run.id)
    return RedirectResponse(f"{HOME}/runs/{run.id}", status_code=303)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Id, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    runs.fail_stale_runs(session)
    try:
        run = runs.get_run(session, run_id)
    except DomainError as error:
        return error_page(request, signed, error, HOME)
    context = {"signed": signed, "run": run, "log": runs.log_tail(run), "run_statuses": RUN_STATUSES}
    if run.status == "succeeded" and run.model is not None:
        context |= {"gate": registry.gate_of(session, request.app.state.settings, run.model)}
        context |= {"set_names": training_gate.SET_NAMES}
    return render(request, "training_run.html", context)


# --- inbox ---------------------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    signed: AdminPage,
    kind: Annotated[str, Query(max_length=10)] = "review",
    status: Annotated[str, Query(max_length=12)] = "new",
    language: Annotated[str, Query(max_length=2)] = "",
    intent: Annotated[str, Query(max_length=64)] = "",
    order: Annotated[str, Query(max_length=10)] = "recent",
) -> HTMLResponse:
    settings = request.app.state.settings
    wanted = inbox.InboxFilter(
        kind=kind if kind in KIND_NAMES else "review",
        status=status if status in ITEM_STATUSES else "new",
        language=language if language in ("ko", "en") else "",
        intent=intent,
        order=order if order in inbox.ORDERS else "recent",
        limit=200,
    )
    found = inbox.items(session, settings, wanted)
    context = {
        "signed": signed,
        "items": found,
        "doubts": inbox.DOUBTS,
        "conversations": inbox.latest_conversations(session, [item.id for item in found]),
        "wanted": wanted,
        "kinds": KIND_NAMES,
        "item_statuses": ITEM_STATUSES,
        "predicted": sorted(set(inbox.predicted_intents(session)) - data.RESERVED_INTENTS),
        "intents": data.load(settings).intents(),
        "threshold": settings.nlu_inbox_confidence,
        "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "training_inbox.html", context)


def _back_to_inbox(back: str) -> str:
    return back if back.startswith(INBOX) and "//" not in back and "\\" not in back else INBOX


@router.post("/inbox/{item_id}/label")
def label_item(
    request: Request,
    item_id: Id,
    session: SessionDep,
    signed: AdminForm,
    intent: Annotated[str, Form(max_length=64)] = "",
    text: Line = "",
    back: Line = INBOX,
    new_intent: Annotated[bool, Form()] = False,
) -> Response:
    settings = request.app.state.settings
    try:
        inbox.label(session, settings, item_id, signed.user, intent, text or None, new_intent)
    except NewIntentUnconfirmed as unconfirmed:
        action = f"{INBOX}/{item_id}/label"
        return _confirm_new_intent(request, signed, unconfirmed, action, intent, {"text": text, "back": back}, back)
    except DomainError as error:
        return error_page(request, signed, error, _back_to_inbox(back))
    return _after_labelling(settings, intent.strip(), new_intent, _back_to_inbox(back))


@router.post("/inbox/{item_id}/out-of-scope")
def out_of_scope(request: Request, item_id: Id, session: SessionDep, signed: AdminForm, back: Line = INBOX) -> Response:
    try:
        inbox.mark_out_of_scope(session, request.app.state.settings, item_id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, _back_to_inbox(back))
    return RedirectResponse(_back_to_inbox(back), status_code=303)


@router.post("/inbox/{item_id}/ignore")
def ignore_item(request: Request, item_id: Id, session: SessionDep, signed: AdminForm, back: Line = INBOX) -> Response:
    try:
        inbox.ignore(session, item_id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, _back_to_inbox(back))
    return RedirectResponse(_back_to_inbox(back), status_code=303)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def exchange_page(request: Request, conversation_id: Id, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    """One conversation's exchange with each message's intent, to label a message in its context."""
    turns = inbox.exchange(session, conversation_id)
    staff.audit(session, signed.user, "training_exchange_read", f"conversation:{conversation_id}")
    session.commit()
    context = {
        "signed": signed,
        "turns": turns,
        "doubts": inbox.DOUBTS,
        "intents": data.load(request.app.state.settings).intents(),
        "conversation_id": conversation_id,
    }
    return render(request, "training_exchange.html", context)


# --- examples ------------------------------------------------------------------------------------------


@router.get("/examples", response_class=HTMLResponse)
def examples_page(
    request: Request,
    signed: AdminPage,
    q: Annotated[str, Query(max_length=200)] = "",
    intent: Annotated[str, Query(max_length=64)] = "",
    language: Annotated[str, Query(max_length=2)] = "",
) -> HTMLResponse:
    training_data = data.load(request.app.state.settings)
    language = language if language in ("ko", "en") else ""
    searched = bool(q or intent or language)
    context = {
        "signed": signed,
        "counts": data.intent_counts(training_data),
        "warnings": data.warnings(training_data),
        "answered": answers.answers(request.app.state.settings),
        "declared": answers.declared_intents(request.app.state.settings),
        "examples": data.search(training_data, q, intent, language) if searched else [],
        "searched": searched,
        "q": q,
        "intent": intent,
        "language": language,
        "min_examples": data.MIN_EXAMPLES,
    }
    return render(request, "training_examples.html", context)


def _examples_back(intent: str, language: str) -> str:
    return f"{EXAMPLES}?intent={intent}&language={language}" if data.INTENT_NAME.fullmatch(intent) else EXAMPLES


@router.post("/examples")
def add_example(
    request: Request,
    signed: AdminForm,
    language: Annotated[str, Form(max_length=2)] = "",
    intent: Annotated[str, Form(max_length=64)] = "",
    text: Line = "",
    new_intent: Annotated[bool, Form()] = False,
) -> Response:
    settings = request.app.state.settings
    try:
        data.check_language(language), data.check_example(text)  # a bad example is refused as such first
        answers.confirm_new_intent(settings, intent, new_intent)
    except NewIntentUnconfirmed as unconfirmed:
        fields = {"language": language, "text": text}
        return _confirm_new_intent(request, signed, unconfirmed, EXAMPLES, intent, fields, EXAMPLES)
    except DomainError as error:
        return error_page(request, signed, error, EXAMPLES)
    added = _change_examples(request, signed, data.add_example, language, intent, text)
    if added.status_code != 303:
        return added
    return _after_labelling(settings, intent.strip(), new_intent, _examples_back(intent.strip(), language))


@router.post("/examples/remove")
def remove_example(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    language: Annotated[str, Form(max_length=2)] = "",
    intent: Annotated[str, Form(max_length=64)] = "",
    text: Line = "",
) -> Response:
    removed = _change_examples(request, signed, data.remove_example, language, intent, text)
    if removed.status_code == 303:
        inbox.example_removed(session, language, intent.strip(), text)
    return removed


def _change_examples(
    request: Request, signed: Signed, change: Callable[..., object], language: str, intent: str, text: str
) -> Response:
    """Adds or removes one example in the admin file, then back to that intent's examples."""
    try:
        change(request.app.state.settings, language, intent, text)
    except DomainError as error:
        return error_page(request, signed, error, EXAMPLES)
    return RedirectResponse(_examples_back(intent.strip(), language), status_code=303)


# --- new intents and their answers ---------------------------------------------------------------------------


def _confirm_new_intent(
    request: Request,
    signed: Signed,
    unconfirmed: NewIntentUnconfirmed,
    action: str,
    intent: str,
    fields: dict[str, str],
    back: str,
) -> HTMLResponse:
    """ "새 의도를 만들까요?": the same form again with the intent confirmed, or one of the look-alike names."""
    context = {
        "signed": signed,
        "intent": intent.strip(),
        "near": unconfirmed.near,
        "action": action,
        "fields": fields,
        "back": back,
    }
    return render(request, "training_new_intent.html", context, status_code=409)


def _after_labelling(settings: Settings, intent: str, new_intent: bool, back: str) -> RedirectResponse:
    """A new topic goes on to its answer; an intent the assistant already answers goes back where it came from."""
    if new_intent and intent not in answers.declared_intents(settings):
        return RedirectResponse(f"{ANSWERS}/{intent}?created=1", status_code=303)
    return RedirectResponse(back, status_code=303)


def _answer_page(
    request: Request,
    session: Session,
    signed: Signed,
    intent: str,
    answer: answers.Answer | None,
    created: bool = False,
) -> HTMLResponse:
    settings = request.app.state.settings
    written = answers.answers(settings)
    context = {
        "signed": signed,
        "intent": intent,
        "answer": answer or written.get(intent) or answers.Answer(intent, "", ""),
        "exists": intent in written,
        "shipped": intent in answers.declared_intents(settings) and intent not in written,
        "created": created,
        "entries": knowledge.list_entries(session, status="published"),
    }
    return render(request, "training_answer.html", context)


@router.get("/answers/{intent}", response_class=HTMLResponse)
def answer_page(
    request: Request,
    session: SessionDep,
    signed: AdminPage,
    intent: Annotated[str, Path(max_length=64)],
    created: bool = False,
) -> HTMLResponse:
    try:
        intent = data.check_intent(intent)
    except DomainError as error:
        return error_page(request, signed, error, EXAMPLES)
    return _answer_page(request, session, signed, intent, None, created)


@router.post("/answers/{intent}/from-knowledge", response_class=HTMLResponse)
def answer_from_knowledge(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    intent: Annotated[str, Path(max_length=64)],
    entry_id: Annotated[Id, Form()],
) -> HTMLResponse:
    """The form filled from a published entry (its answer, department and phone, its link), to check and save."""
    try:
        intent = data.check_intent(intent)
        entry = knowledge.get_entry(session, entry_id)
    except DomainError as error:
        return error_page(request, signed, error, f"{ANSWERS}/{intent}")
    contact_ko = " · ".join(part for part in (entry.department_ko, entry.phone) if part)
    contact_en = " · ".join(part for part in (entry.department_en or entry.department_ko, entry.phone) if part)
    answer = answers.Answer(
        intent,
        f"{entry.answer_ko}\n문의: {contact_ko}" if contact_ko else entry.answer_ko,
        f"{entry.answer_en or entry.answer_ko}\nContact: {contact_en}" if contact_en else entry.answer_en or "",
        "자세히 보기" if entry.link else "",
        "More details" if entry.link else "",
        entry.link or "",
    )
    return _answer_page(request, session, signed, intent, answer)


@router.post("/answers/{intent}")
def save_answer(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    intent: Annotated[str, Path(max_length=64)],
    text_ko: Annotated[str, Form(max_length=1000)] = "",
    text_en: Annotated[str, Form(max_length=1000)] = "",
    link_url: Annotated[str, Form(max_length=500)] = "",
    link_title_ko: Annotated[str, Form(max_length=40)] = "",
    link_title_en: Annotated[str, Form(max_length=40)] = "",
    handoff: Annotated[bool, Form()] = False,
) -> Response:
    answer = answers.Answer(intent, text_ko, text_en, link_title_ko, link_title_en, link_url, handoff)
    try:
        answers.save(request.app.state.settings, answer)
    except DomainError as error:
        return error_page(
            request, signed, error, f"{ANSWERS}/{intent}" if data.INTENT_NAME.fullmatch(intent) else EXAMPLES
        )
    return RedirectResponse(f"{EXAMPLES}?intent={intent}&saved=answer", status_code=303)


@router.post("/answers/{intent}/remove")
def remove_answer(request: Request, signed: AdminForm, intent: Annotated[str, Path(max_length=64)]) -> Response:
    try:
        answers.remove(request.app.state.settings, intent)
    except DomainError as error:
        return error_page(request, signed, error, EXAMPLES)
    return RedirectResponse(f"{EXAMPLES}?intent={intent}", status_code=303)


# --- models --------------------------------------------------------------------------------------------


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    settings = request.app.state.settings
    registry.discover(session, settings)
    live = registry.live_model(session, settings)
    context = {
        "signed": signed,
        "models": registry.models(session),
        "live": live,
        "replicas": registry.replicas(settings),
        "pull_seconds": settings.model_pull_seconds,
        "activations": registry.activations(session, limit=20),
    }
    return render(request, "training_models.html", context)


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(request: Request, model_id: Id, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    settings = request.app.state.settings
    try:
        model = registry.get_model(session, model_id)
    except DomainError as error:
        return error_page(request, signed, error, MODELS)
    live = registry.live_model(session, settings)
    reports = []
    for name, title in REPORT_NAMES.items():
        ours = model.evaluation.get(name)
        theirs = live.evaluation.get(name) if live and live.id != model.id else None
        if ours or theirs:
            reports.append(
                {
                    "name": name,
                    "title": title,
                    "ours": ours,
                    "theirs": theirs,
                    "rows": metrics.side_by_side(ours, theirs),
                }
            )
    context = {
        "signed": signed,
        "model": model,
        "live": live,
        "reports": reports,
        "held_out_percent": model.evaluation.get("held_out_percent"),
        "folds": model.evaluation.get("folds"),
        "gate": registry.gate_of(session, settings, model),
        "set_names": training_gate.SET_NAMES,
    }
    return render(request, "training_model.html", context)


@router.post("/models/{model_id}/activate")
def activate(
    request: Request,
    model_id: Id,
    session: SessionDep,
    signed: AdminForm,
    confirm_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The confirmation page's form (api/web/training_gate.py); a model the gate blocks needs `confirm_reason`."""
    try:
        registry.activate(session, request.app.state.settings, model_id, signed.user, confirm_reason)
    except DomainError as error:
        return error_page(request, signed, error, f"{MODELS}/{model_id}/activate")
    return RedirectResponse(MODELS, status_code=303)


@router.post("/rollback")
def rollback(request: Request, session: SessionDep, signed: AdminForm) -> Response:
    settings = request.app.state.settings
    target = registry.rollback_target(session, settings)
    if target is None:
        return error_page(request, signed, "되돌아갈 이전 모델이 없어요.", HOME)
    try:
        registry.activate(session, settings, target.id, signed.user)
    except DomainError as error:
        return error_page(request, signed, error, HOME)
    return RedirectResponse(MODELS, status_code=303)


# Confirmation pages, the regression set and the test chat (api/web/training_gate.py).
router.include_router(training_gate.router)
