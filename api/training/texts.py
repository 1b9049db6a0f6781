"""How message texts are normalised, masked, stripped of entity markup and compared."""

import hashlib
import re
import unicodedata

# Rasa's entity markup in an example: [text](entity) or [text]{"entity": ...}.
ANNOTATION = re.compile(r"\[([^\[\]]+)\](?:\(([^()]*)\)|\{[^{}]*\})")
SIMPLE_ANNOTATION = re.compile(r"\[([^\[\]]+)\]\(([a-z_][a-z0-9_]*)\)")
WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """One line, Unicode NFC, single spaces: how the same words look the same."""
    return WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def plain(text: str) -> str:
    """The example as a citizen would write it: entity markup removed."""
    return ANNOTATION.sub(lambda match: match.group(1), text)


def key(text: str) -> str:
    """What two texts must share to be the same example or inbox item."""
    return normalise(plain(text)).casefold()


def text_hash(text: str) -> str:
    return hashlib.sha256(key(text).encode()).hexdigest()


def markup_is_valid(text: str) -> bool:
    """Only [text](entity) markup, and no square bracket outside it."""
    rest = SIMPLE_ANNOTATION.sub("", text)
    return "[" not in rest and "]" not in rest
