"""Errors of the training domain, in English and Korean."""

from api.core.errors import Conflict, InvalidInput, NotFound


class InboxItemNotFound(NotFound):
    code = "inbox_item_not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class RunNotFound(NotFound):
    code = "run_not_found"


class InvalidIntent(InvalidInput):
    code = "invalid_intent"


class InvalidExample(InvalidInput):
    code = "invalid_example"


class DuplicateExample(Conflict):
    code = "duplicate_example"


class ExampleNotRemovable(Conflict):
    code = "example_not_removable"


class TrainingBusy(Conflict):
    code = "training_running"


class NoEarlierModel(Conflict):
    code = "no_earlier_model"


class ModelFileMissing(Conflict):
    code = "model_file_missing"


class NoLiveModel(NotFound):
    code = "no_live_model"


class InvalidAnswer(InvalidInput):
    code = "invalid_answer"


class UnansweredIntents(Conflict):
    code = "unanswered_intents"


class NewIntentUnconfirmed(Conflict):
    """An intent name nobody used before, not confirmed as a new topic; `near` names existing look-alikes."""

    code = "new_intent_unconfirmed"

    def __init__(self, detail: str, detail_ko: str, near: list[str]) -> None:
        super().__init__(detail, detail_ko)
        self.near = near


class RegressionMessageNotFound(NotFound):
    code = "regression_message_not_found"


class DuplicateRegressionMessage(Conflict):
    code = "duplicate_regression_message"


class ModelGated(Conflict):
    """The safety gate blocks the model: activating it needs an admin's reason."""

    code = "model_gated"


class TrialNotReady(Conflict):
    """The test chat's staging Rasa is still loading its model, or could not start."""

    code = "trial_not_ready"


class ModelKept(Conflict):
    code = "model_kept"
