"""HTTP routes of the training domain: the gateway's parse reports and the live model Rasa replicas pull (service
token), everything else admins only."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import FileResponse

from api.core.ids import MAX_ID, Id
from api.deps import AdminDep, ServiceDep, SessionDep
from api.training import answers, data, gate_routes, inbox, registry, runs
from api.training.errors import NoEarlierModel
from api.training.schemas import (
    ActivateIn,
    ActivationOut,
    AnswerIn,
    AnswerOut,
    ChangesOut,
    ExampleAdded,
    ExampleIn,
    ExampleOut,
    InboxItemOut,
    IntentCountOut,
    IntentsOut,
    LabelIn,
    LiveOut,
    ModelOut,
    ParseReportIn,
    ReplicaOut,
    RunIn,
    RunOut,
)

router = APIRouter(prefix="/api", tags=["training"])


@router.post("/training/inbox", status_code=status.HTTP_202_ACCEPTED, dependencies=[ServiceDep])
def report_parse(body: ParseReportIn, session: SessionDep) -> dict[str, int | None]:
    item = inbox.record(session, inbox.Parse(**body.model_dump()))
    return {"item_id": item.id if item else None}


@router.get("/training/inbox", response_model=list[InboxItemOut])
def list_inbox(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    kind: Annotated[str, Query(pattern="^(review|doubted|low|fallback|handoff|all)$")] = "review",
    item_status: Annotated[str, Query(alias="status", pattern="^(new|labelled|out_of_scope|ignored|all)$")] = "new",
    language: Annotated[str, Query(pattern="^(ko|en)?$")] = "",
    intent: Annotated[str, Query(max_length=64)] = "",
    order: Annotated[str, Query(pattern="^(recent|frequent)$")] = "recent",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[InboxItemOut]:
    wanted = inbox.InboxFilter(kind, item_status, language, intent, order, limit, offset)
    return [InboxItemOut.model_validate(item) for item in inbox.items(session, request.app.state.settings, wanted)]


@router.post("/training/inbox/{item_id}/label", response_model=InboxItemOut)
def label(item_id: Id, body: LabelIn, request: Request, session: SessionDep, admin: AdminDep) -> InboxItemOut:
    settings = request.app.state.settings
    item = inbox.label(session, settings, item_id, admin, body.intent, body.text, body.new_intent)
    return InboxItemOut.model_validate(item)


@router.post("/training/inbox/{item_id}/out-of-scope", response_model=InboxItemOut)
def out_of_scope(item_id: Id, request: Request, session: SessionDep, admin: AdminDep) -> InboxItemOut:
    settings = request.app.state.settings
    return InboxItemOut.model_validate(inbox.mark_out_of_scope(session, settings, item_id, admin))


@router.post("/training/inbox/{item_id}/ignore", response_model=InboxItemOut)
def ignore(item_id: Id, session: SessionDep, admin: AdminDep) -> InboxItemOut:
    return InboxItemOut.model_validate(inbox.ignore(session, item_id, admin))


@router.get("/training/intents", response_model=IntentsOut)
def intents(request: Request, admin: AdminDep) -> IntentsOut:
    training_data = data.load(request.app.state.settings)
    return IntentsOut(
        intents=[IntentCountOut(**vars(count)) for count in data.intent_counts(training_data)],
        warnings=[warning.message for warning in data.warnings(training_data)],
    )


def _example_out(example: data.Example) -> ExampleOut:
    return ExampleOut(
        language=example.language,
        intent=example.intent,
        text=example.text,
        file=example.file,
        removable=example.removable,
    )


@router.get("/training/examples", response_model=list[ExampleOut])
def examples(
    request: Request,
    admin: AdminDep,
    q: Annotated[str, Query(max_length=200)] = "",
    intent: Annotated[str, Query(max_length=64)] = "",
    language: Annotated[str, Query(pattern="^(ko|en)?$")] = "",
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[ExampleOut]:
    training_data = data.load(request.app.state.settings)
    return [_example_out(example) for example in data.search(training_data, q, intent, language, limit)]


@router.post("/training/examples", response_model=ExampleAdded, status_code=status.HTTP_201_CREATED)
def add_example(body: ExampleIn, request: Request, admin: AdminDep) -> ExampleAdded:
    settings = request.app.state.settings
    data.check_language(body.language), data.check_example(body.text)  # a bad example is refused as such first
    answers.confirm_new_intent(settings, body.intent, body.new_intent)
    example = data.add_example(settings, body.language, body.intent, body.text)
    relevant = [
        warning.message
        for warning in data.warnings(data.load(settings))
        if warning.intent == example.intent or example.intent in warning.message
    ]
    return ExampleAdded(example=_example_out(example), warnings=relevant)


@router.post("/training/examples/remove", status_code=status.HTTP_204_NO_CONTENT)
def remove_example(body: ExampleIn, request: Request, session: SessionDep, admin: AdminDep) -> None:
    data.remove_example(request.app.state.settings, body.language, body.intent, body.text)
    inbox.example_removed(session, body.language, body.intent.strip(), body.text)


@router.get("/training/answers", response_model=list[AnswerOut])
def list_answers(request: Request, admin: AdminDep) -> list[AnswerOut]:
    """The answers of the intents admins created (domain/admin.yml, data/rules/admin.yml)."""
    return [AnswerOut(**vars(answer)) for answer in answers.answers(request.app.state.settings).values()]


@router.put("/training/answers/{intent}", response_model=AnswerOut)
def save_answer(
    intent: Annotated[str, Path(max_length=64)], body: AnswerIn, request: Request, admin: AdminDep
) -> AnswerOut:
    saved = answers.save(request.app.state.settings, answers.Answer(intent=intent, **body.model_dump()))
    return AnswerOut(**vars(saved))


@router.delete("/training/answers/{intent}", status_code=status.HTTP_204_NO_CONTENT)
def remove_answer(intent: Annotated[str, Path(max_length=64)], request: Request, admin: AdminDep) -> None:
    answers.remove(request.app.state.settings, intent)


@router.get("/training/changes", response_model=ChangesOut)
def changes(request: Request, session: SessionDep, admin: AdminDep) -> ChangesOut:
    settings = request.app.state.settings
    live = registry.live_model(session, settings)
    found = registry.changes_since(settings, live)
    return ChangesOut(
        live_model_id=live.id if live else None,
        known=found is not None,
        added=found.added if found else [],
        removed=found.removed if found else [],
    )


def _run_out(run, with_log: bool = False) -> RunOut:
    out = RunOut.model_validate(run)
    return out.model_copy(update={"log": runs.log_tail(run)}) if with_log else out


@router.post("/training/runs", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
def start_run(body: RunIn, request: Request, session: SessionDep, admin: AdminDep) -> RunOut:
    settings = request.app.state.settings
    run = runs.start(session, settings, admin, body.cross_validation)
    runs.launch(request.app.state.sessionmaker, settings, run.id)
    return _run_out(run)


@router.get("/training/runs", response_model=list[RunOut])
def list_runs(session: SessionDep, admin: AdminDep) -> list[RunOut]:
    return [_run_out(run) for run in runs.runs(session)]


@router.get("/training/runs/{run_id}", response_model=RunOut)
def get_run(run_id: Id, session: SessionDep, admin: AdminDep) -> RunOut:
    runs.fail_stale_runs(session)
    return _run_out(runs.get_run(session, run_id), with_log=True)


def _model_out(model, live) -> ModelOut:
    return ModelOut.model_validate(model).model_copy(update={"live": live is not None and model.id == live.id})


@router.get("/training/models", response_model=list[ModelOut])
def list_models(request: Request, session: SessionDep, admin: AdminDep) -> list[ModelOut]:
    settings = request.app.state.settings
    registry.discover(session, settings)
    live = registry.live_model(session, settings)
    return [_model_out(model, live) for model in registry.models(session)]


@router.get("/training/models/{model_id}", response_model=ModelOut)
def get_model(model_id: Id, request: Request, session: SessionDep, admin: AdminDep) -> ModelOut:
    live = registry.live_model(session, request.app.state.settings)
    return _model_out(registry.get_model(session, model_id), live)


@router.post("/training/models/{model_id}/activate", response_model=ActivationOut)
def activate(
    model_id: Id, request: Request, session: SessionDep, admin: AdminDep, body: ActivateIn | None = None
) -> ActivationOut:
    """409 (`model_gated`) when the safety gate blocks the model and no `confirm_reason` is given."""
    reason = body.confirm_reason if body else None
    activation = registry.activate(session, request.app.state.settings, model_id, admin, reason)
    return ActivationOut.model_validate(activation)


@router.post("/training/rollback", response_model=ActivationOut)
def rollback(request: Request, session: SessionDep, admin: AdminDep) -> ActivationOut:
    """Back to the model that was live before the live one was activated."""
    settings = request.app.state.settings
    target = registry.rollback_target(session, settings)
    if target is None:
        raise NoEarlierModel("There is no earlier model to go back to.", "되돌아갈 이전 모델이 없어요.")
    return ActivationOut.model_validate(registry.activate(session, settings, target.id, admin))


@router.get("/training/live", response_model=LiveOut)
def live(request: Request, session: SessionDep, admin: AdminDep) -> LiveOut:
    settings = request.app.state.settings
    model = registry.live_model(session, settings)
    return LiveOut(
        model=_model_out(model, model) if model else None,
        replicas=[ReplicaOut(**vars(answer)) for answer in registry.replicas(settings)],
    )


@router.get("/training/activations", response_model=list[ActivationOut])
def activations(session: SessionDep, admin: AdminDep) -> list[ActivationOut]:
    return [ActivationOut.model_validate(activation) for activation in registry.activations(session)]


@router.get(
    "/models/live",
    dependencies=[ServiceDep],
    response_class=FileResponse,
    responses={304: {"description": "The caller's If-None-Match names the live model: it has it already."}},
)
def live_model_file(
    request: Request, session: SessionDep, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The live model's file, pulled by every Rasa replica (endpoints.yml `models:`); its ETag is the model's
    Rasa model_id."""
    live = registry.live_file(session, request.app.state.settings)
    # Rasa names the file it downloads after the `filename` header, so its /status shows which model it runs.
    headers = {"ETag": live.etag, "filename": live.path.name}
    if registry.replica_has(if_none_match, live.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": live.etag})
    return FileResponse(live.path, headers=headers, media_type="application/gzip", stat_result=live.stat)


# The safety gate, the console's regression messages and the test chat (api/training/gate_routes.py).
router.include_router(gate_routes.router)
