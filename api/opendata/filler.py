"""The words of a question that only ask ("몇 명이야", "알려줘", "how many … are there"), as opposed to words that
name something; what is left once they and the dataset's own words are gone is something the data does not know.
"""

import re
from pathlib import Path

import yaml

_WORDS = yaml.safe_load((Path(__file__).parent / "filler_words.yml").read_text(encoding="utf-8"))
KO_ENDINGS = sorted(_WORDS["ko_endings"].split(), key=len, reverse=True)
KO_LEADING = sorted(_WORDS["ko_leading"].split(), key=len, reverse=True)
KO_FILLER = set(_WORDS["ko_filler"].split())
EN_FILLER = set(_WORDS["en_filler"].split())
HANGUL_RUN = re.compile(r"[가-힣]+")
LATIN_RUN = re.compile(r"[a-z][a-z'\-]*")


def content_words(text: str, glued: set[int] | None = None) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word in the text that is not filler: a Korean word of two or more syllables once
    its particles are gone, or an English word of three or more letters. `glued`: positions where a word starts
    right after a word already understood, so a particle may lead it ("관광객이몇명" leaves "이몇명")."""
    found = []
    glued = glued or set()
    for match in HANGUL_RUN.finditer(text):
        word, start = match.group(), match.start()
        if start in glued:
            for particle in KO_LEADING:
                if word.startswith(particle) and len(word) > len(particle):
                    word, start = word[len(particle) :], start + len(particle)
                    break
        root = stem(word)
        if len(root) >= 2 and not _all_filler(root):
            found.append((root, start, start + len(root)))
    for match in LATIN_RUN.finditer(text):
        word = match.group().strip("'-")
        base = word.removesuffix("'s")
        if len(base) >= 3 and base not in EN_FILLER and base.rstrip("s") not in EN_FILLER:
            found.append((base, match.start(), match.end()))
    return sorted(found, key=lambda item: item[1])


def is_filler(words: str) -> bool:
    """Whether the words only ask, or name the city itself."""
    return not content_words(words.lower())


def _all_filler(word: str) -> bool:
    """The word is filler words run together ("몇명왔어", "알려줘요"): longest filler first, from the left."""
    position = 0
    while position < len(word):
        for size in range(min(6, len(word) - position), 0, -1):
            piece = word[position : position + size]
            if piece in KO_FILLER or piece in KO_ENDINGS or (position and stem(piece) in KO_FILLER):
                position += size
                break
        else:
            return False
    return True


def stem(word: str) -> str:
    """The word without the particles and endings attached to it ("좌석수는" → "좌석수", "몇곳이야" → "몇곳")."""
    changed = True
    while changed and len(word) > 1:
        changed = False
        if word in KO_FILLER:
            return word
        for ending in KO_ENDINGS:
            if word.endswith(ending) and len(word) > len(ending):
                word = word[: -len(ending)]
                changed = True
                break
    return word
