"""The training data: Rasa's YAML under `data/` is the source of truth; admins' changes go to their own files.

Every file under `data/` with an `nlu:` section is read. Examples added in the console are written to
`data/nlu/<language>/admin.yml` (temp file, then rename: a reader never sees half a file). Only
examples in those files can be removed from the console: Rasa has no way to exclude an example
another file declares.
"""

import fcntl
import os
import re
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from api.core.settings import Settings
from api.training import texts
from api.training.errors import DuplicateExample, ExampleNotRemovable, InvalidExample, InvalidIntent
from common.language import SUPPORTED, detect_language
from common.masking import mask_personal_data

ADMIN_FILE = "admin.yml"
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
RESERVED_INTENTS = {"nlu_fallback"}
MIN_EXAMPLES = 10
MAX_EXAMPLE_CHARS = 300
ADMIN_HEADER = (
    'version: "3.1"\n\n'
    "# Examples added in the admin console (api/training/data.py), which rewrites this file:\n"
    "# change them there. Examples of the other files cannot be removed from the console.\n"
)
_thread_lock = threading.Lock()


@dataclass(frozen=True)
class Example:
    language: str
    intent: str
    text: str  # as written, entity markup included
    file: str  # relative to the project folder

    @property
    def plain(self) -> str:
        return texts.plain(self.text)

    @property
    def removable(self) -> bool:
        return Path(self.file).name == ADMIN_FILE


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    # lookup tables, synonyms and regexes, as read: a held-out training needs them too
    other_entries: list[dict[str, Any]] = field(default_factory=list)

    def intents(self) -> list[str]:
        return sorted({example.intent for example in self.examples})


@dataclass(frozen=True)
class IntentCount:
    intent: str
    counts: dict[str, int]  # language → examples
    admin_counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DataWarning:
    kind: str  # few_examples, same_text
    intent: str
    language: str
    message: str


def data_dir(settings: Settings) -> Path:
    return settings.training_project_dir / "data"


def admin_file(settings: Settings, language: str) -> Path:
    return data_dir(settings) / "nlu" / language / ADMIN_FILE


@contextmanager
def data_lock(settings: Settings) -> Iterator[None]:
    """One writer of the data at a time: across threads, and across api processes on this disk."""
    settings.training_runs_dir.mkdir(parents=True, exist_ok=True)
    with _thread_lock, open(settings.training_runs_dir / "data.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# --- reading ------------------------------------------------------------------------------------


def load(settings: Settings) -> TrainingData:
    return load_dir(data_dir(settings), settings.training_project_dir)


def load_dir(directory: Path, relative_to: Path) -> TrainingData:
    data = TrainingData()
    for path in sorted(directory.rglob("*.y*ml")):
        language = next((part for part in path.relative_to(directory).parts if part in SUPPORTED), None)
        _read_file(path, language, str(path.relative_to(relative_to)), data)
    return data


def load_file(path: Path) -> TrainingData:
    data = TrainingData()
    _read_file(path, None, path.name, data)
    return data


def _read_file(path: Path, file_language: str | None, name: str, data: TrainingData) -> None:
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(content, dict) or not isinstance(content.get("nlu"), list):
        return
    for entry in content["nlu"]:
        if not isinstance(entry, dict):
            continue
        if "intent" not in entry:
            data.other_entries.append(entry)
            continue
        for text in _example_texts(entry.get("examples")):
            language = file_language or detect_language(texts.plain(text)) or SUPPORTED[0]
            data.examples.append(Example(language, str(entry["intent"]), text, name))


def _example_texts(examples: Any) -> list[str]:
    if isinstance(examples, str):
        lines = (line.strip() for line in examples.splitlines())
        return [line[2:].strip() for line in lines if line.startswith("- ") and line[2:].strip()]
    if isinstance(examples, list):  # the long form: - text: ... metadata: ...
        return [str(item["text"]).strip() for item in examples if isinstance(item, dict) and item.get("text")]
    return []


# --- what the console shows -----------------------------------------------------------------------


def intent_counts(data: TrainingData) -> list[IntentCount]:
    counts: dict[str, Counter] = defaultdict(Counter)
    admin: dict[str, Counter] = defaultdict(Counter)
    for example in data.examples:
        counts[example.intent][example.language] += 1
        if example.removable:
            admin[example.intent][example.language] += 1
    return [
        IntentCount(intent, {lang: counts[intent][lang] for lang in SUPPORTED}, dict(admin[intent]))
        for intent in sorted(counts)
    ]


def warnings(data: TrainingData) -> list[DataWarning]:
    """Intents with fewer than 10 examples in a language; texts that are examples of two intents."""
    found = []
    for count in intent_counts(data):
        for language, number in count.counts.items():
            if number < MIN_EXAMPLES:
                name = _language_name(language)
                message = f"'{count.intent}' 의도의 {name} 예문이 {number}개뿐이에요 (10개 이상 권장)."
                found.append(DataWarning("few_examples", count.intent, language, message))
    by_text: dict[tuple[str, str], set[str]] = defaultdict(set)
    for example in data.examples:
        by_text[(example.language, texts.key(example.text))].add(example.intent)
    for (language, text), intents in sorted(by_text.items()):
        if len(intents) > 1:
            names = ", ".join(sorted(intents))
            message = f"'{text}' 문장이 여러 의도({names})의 예문이에요. 한 의도에만 두세요."
            found.append(DataWarning("same_text", sorted(intents)[0], language, message))
    return found


def search(
    data: TrainingData, query: str = "", intent: str = "", language: str = "", limit: int = 200
) -> list[Example]:
    needle = texts.key(query)
    matches = [
        example
        for example in data.examples
        if (not intent or example.intent == intent)
        and (not language or example.language == language)
        and (not needle or needle in texts.key(example.text))
    ]
    return matches[:limit]


def snapshot(data: TrainingData) -> list[list[str]]:
    """Every example as [language, intent, text without markup]: what a model learnt, for later comparison."""
    return sorted({(e.language, e.intent, texts.normalise(e.plain)) for e in data.examples})  # type: ignore[return-value]


@dataclass(frozen=True)
class Changes:
    added: list[tuple[str, str, str]]
    removed: list[tuple[str, str, str]]

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


def changes(before: list[list[str]], after: list[list[str]]) -> Changes:
    old, new = {tuple(e) for e in before}, {tuple(e) for e in after}
    return Changes(sorted(new - old), sorted(old - new))  # type: ignore[arg-type]


# --- changing the admin files ---------------------------------------------------------------------


def check_intent(intent: str) -> str:
    intent = intent.strip()
    if not INTENT_NAME.fullmatch(intent) or intent in RESERVED_INTENTS:
        raise InvalidIntent(
            "An intent name is 2-64 lower-case letters, digits and underscores, starting with a letter.",
            "의도 이름은 영문 소문자로 시작하는 2~64자의 소문자, 숫자, 밑줄(_)이어야 해요.",
        )
    return intent


def check_example(text: str) -> str:
    """The text to store: one line, personal data masked, well-formed entity markup."""
    text = mask_personal_data(texts.normalise(text))
    if not texts.plain(text).strip() or len(text) > MAX_EXAMPLE_CHARS:
        raise InvalidExample(
            f"An example is 1-{MAX_EXAMPLE_CHARS} characters.", f"예문은 1~{MAX_EXAMPLE_CHARS}자로 적어 주세요."
        )
    if not texts.markup_is_valid(text):
        raise InvalidExample(
            "Mark entities as [words](entity_name); no other square brackets.",
            "개체는 [단어](개체_이름)처럼 표시해 주세요. 그 밖의 대괄호는 쓸 수 없어요.",
        )
    return text


def check_language(language: str) -> str:
    if language not in SUPPORTED:
        raise InvalidExample("The language is ko or en.", "언어는 ko 또는 en이어야 해요.")
    return language


def add_example(settings: Settings, language: str, intent: str, text: str) -> Example:
    """Adds an example to the admin file of its language; the same text of the same intent twice is refused."""
    language, intent, text = check_language(language), check_intent(intent), check_example(text)
    with data_lock(settings):
        data = load(settings)
        same = [e for e in data.examples if e.language == language and texts.key(e.text) == texts.key(text)]
        if any(e.intent == intent for e in same):
            raise DuplicateExample("This text is already an example of that intent.", "이미 그 의도에 있는 예문이에요.")
        path = admin_file(settings, language)
        admin = _admin_examples(data, path, settings)
        admin.setdefault(intent, []).append(text)
        _write_admin_file(path, admin)
    return Example(language, intent, text, str(path.relative_to(settings.training_project_dir)))


def has_example(settings: Settings, language: str, intent: str, text: str) -> bool:
    data = load(settings)
    return any(
        e.language == language and e.intent == intent and texts.key(e.text) == texts.key(text) for e in data.examples
    )


def remove_example(settings: Settings, language: str, intent: str, text: str) -> None:
    language, intent = check_language(language), check_intent(intent)
    with data_lock(settings):
        data = load(settings)
        path = admin_file(settings, language)
        admin = _admin_examples(data, path, settings)
        kept = [t for t in admin.get(intent, []) if texts.key(t) != texts.key(text)]
        if len(kept) == len(admin.get(intent, [])):
            raise ExampleNotRemovable(
                "Only examples added in the console (admin.yml) can be removed here; others are changed in the "
                "repository.",
                "콘솔에서 추가한 예문(admin.yml)만 지울 수 있어요. 다른 파일의 예문은 저장소에서 고쳐야 해요.",
            )
        admin[intent] = kept
        _write_admin_file(path, {name: examples for name, examples in admin.items() if examples})


def _admin_examples(data: TrainingData, path: Path, settings: Settings) -> dict[str, list[str]]:
    name = str(path.relative_to(settings.training_project_dir))
    admin: dict[str, list[str]] = {}
    for example in data.examples:
        if example.file == name:
            admin.setdefault(example.intent, []).append(example.text)
    return admin


def _write_admin_file(path: Path, examples: dict[str, list[str]]) -> None:
    if not examples:
        path.unlink(missing_ok=True)
        return
    lines = [ADMIN_HEADER, "nlu:\n"]
    for intent in sorted(examples):
        lines.append(f"  - intent: {intent}\n    examples: |\n")
        lines.extend(f"      - {text}\n" for text in examples[intent])
    write_atomically(path, "".join(lines))


def write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _language_name(language: str) -> str:
    return {"ko": "한국어", "en": "영어"}.get(language, language)
