"""Korean typos read as the word the training data knows: 츼소 as 취소, 변겅 as 변경, 신쳥 as 신청.

A typo on the one word that names the request ("예약 츼소할게요") leaves the classifier only the words around it, which
every booking request shares. Kiwi flags a word its dictionary does not know; when such a word of two or more Hangul
syllables is one letter (one jamo: an initial, a vowel or a final consonant) away from a content word of the training
examples, it is read as that word, the most frequent one when several are as near. A word Kiwi knows is never
changed, however near another it is ("순서" stays, though "문서" is one letter away).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

# Whole Hangul syllables only, two or more: one-syllable words have too many neighbours to guess among.
HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]{2,}")
# Nouns, verb and adjective stems, roots and adverbs: the words that carry what a message asks.
CONTENT_TAGS = ("NN", "VV", "VA", "XR", "MA")
MAX_LETTERS_OFF = 1
CANDIDATES = 5


def letters(word: str) -> str:
    """The word as its jamo (취소 → ㅊㅜㅣㅅㅗ as conjoining letters), so that one wrong vowel is one edit."""
    return unicodedata.normalize("NFD", word)


def is_content_word(form: str, tag: str) -> bool:
    return tag.startswith(CONTENT_TAGS) and HANGUL_WORD.fullmatch(form) is not None


class Vocabulary:
    """The content words of the training examples with their counts, and the nearest of them to an unknown word."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        self._words = list(self.counts)
        self._letters = [letters(w) for w in self._words]

    @classmethod
    def of(cls, words: Iterable[tuple[str, str]]) -> Vocabulary:
        """From (form, tag) pairs, keeping the content words."""
        return cls(Counter(form for form, tag in words if is_content_word(form, tag)))

    def correction(self, form: str, tag: str) -> str | None:
        """The known word an unknown word is a typo of, or None when it is known, not a content word or not near."""
        if form in self.counts or not is_content_word(form, tag) or not self._words:
            return None
        near = process.extract(
            letters(form),
            self._letters,
            scorer=Levenshtein.distance,
            score_cutoff=MAX_LETTERS_OFF,
            limit=CANDIDATES,
        )
        if not near:
            return None
        best = min(distance for _, distance, _ in near)
        return max((self._words[i] for _, distance, i in near if distance == best), key=self.counts.__getitem__)
