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
