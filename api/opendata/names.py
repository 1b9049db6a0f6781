"""Finding the table rows a question names: in full, in part, misspelt, or romanised in an English question."""

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from korean_romanizer.romanizer import Romanizer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

HANGUL = re.compile(r"[가-힣]")
LATIN_WORD = re.compile(r"[a-z0-9]+")
# Between two Latin words of one name: spaces, a hyphen ("Munsan-eup"), or a possessive's apostrophe.
LATIN_JOIN = re.compile(r"[\s\-'’]*")
# Grammar, not vocabulary: a partial name's last syllable that is really a particle ("금촌도 알려줘").
PARTICLES = (
    "에서", "으로", "까지", "부터", "에는", "에도",
    "은", "는", "이", "가", "을", "를", "의", "에", "도", "만", "과", "와", "로",
)  # fmt: skip
# Shorter English words ("the", "dong", "eup") are too common to name a row on their own.
MIN_PARTIAL_LATIN = 4
MAX_LATIN_WINDOW = 4
CLOSEST_CUTOFF = 50.0
# A tie on span length goes to the more exact reading; "romanised full" is how="romanised" over a whole name.
RANK = {"full": 0, "alias": 1, "romanised full": 2, "partial": 3, "romanised": 3, "typo": 4}


@dataclass(frozen=True)
class RowName:
    name: str  # the row's name as stored, usually Korean ("금촌역 공영주차장")
    aliases: tuple[str, ...] = ()  # English names from a parallel column, or admin aliases


@dataclass(frozen=True)
class Mention:
    start: int  # span in the text given to find()
    end: int
    written: str  # the words as written in the question
    rows: tuple[str, ...]  # candidate row names, best first; more than one means the question is ambiguous
    how: str  # full | alias | partial | typo | romanised


@dataclass
class _Candidate:
    start: int
    end: int
    rows: list[int]
    how: str
    rank: int


class _Vocabulary:
    """Pieces of names and the rows they occur in; a piece most rows share, or one that rarely leads, is generic."""

    def __init__(self) -> None:
        self.rows: dict[str, set[int]] = defaultdict(set)
        self.leading: dict[str, set[int]] = defaultdict(set)

    def add(self, piece: str, row: int, leading: bool) -> None:
        self.rows[piece].add(row)
        if leading:
            self.leading[piece].add(row)

    def generic(self, total: int) -> set[str]:
        # "도서관", "공영주차장", "station", "park" close names and are shared; "금촌", "교하" open them. So a piece is
        # generic when over a third of all rows share it, or when it is shared and mostly not where the name starts.
        return {
            piece
            for piece, rows in self.rows.items()
            if (len(rows) >= 3 and 3 * len(rows) > total)
            or (len(rows) >= 2 and 2 * len(self.leading[piece]) < len(rows))
        }


class NameIndex:
    """The names of one table's rows, prepared once so that each question is matched in well under a millisecond."""

    def __init__(self, rows: list[RowName]) -> None:
        self._names = [row.name for row in rows]
        total = len(rows)
        korean_forms: list[tuple[int, str, str]] = []  # (row, form with its spaces, full | alias)
        latin_forms: list[tuple[int, tuple[str, ...], str]] = []
        for index, row in enumerate(rows):
            for form, how in [(row.name, "full"), *((alias, "alias") for alias in row.aliases)]:
                form = form.lower().strip()
                if HANGUL.search(form):
                    korean_forms.append((index, form, how))
                elif words := tuple(LATIN_WORD.findall(form)):
                    latin_forms.append((index, words, how))

        self._forms: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self._row_length = [max(1, len(_compact(row.name))) for row in rows]
        parts, romanised_parts = _Vocabulary(), _Vocabulary()
        self._romanised_full: dict[str, set[int]] = defaultdict(set)
        romanised_prefixes: dict[int, dict[str, str]] = defaultdict(dict)  # row → folded romanisation → Korean prefix
        korean_leads = _leads([words for _, form, _ in korean_forms for words in [form.split()]], total)
        for (index, form, how), lead in zip(korean_forms, korean_leads, strict=True):
            compact = _compact(form)
            # A one-syllable name cannot be told apart from the words around it.
            if len(compact) >= 2:
                self._forms[compact].append((index, how))
            for key in {_fold(_romanise(compact)), _fold(_romanise(form))}:
                if len(key) >= MIN_PARTIAL_LATIN:
                    self._romanised_full[key].add(index)
            for word in form.split():
                for start in range(len(word)):
                    for end in range(start + 2, len(word) + 1):
                        parts.add(word[start:end], index, lead.startswith(word[start:end]))
                for end in range(2, len(word) + 1):
                    key = _fold(_romanise(word[:end]))
                    romanised_parts.add(key, index, lead.startswith(word[:end]))
            for end in range(2, len(compact) + 1):
                romanised_prefixes[index].setdefault(_fold(_romanise(compact[:end])), compact[:end])
        self._parts = {piece: frozenset(rows) for piece, rows in parts.rows.items()}
        self._generic_parts = parts.generic(total)
        self._longest_part = max((len(piece) for piece in self._parts), default=0)
        self._romanised_parts = {piece: frozenset(rows) for piece, rows in romanised_parts.rows.items()}
        self._generic_romanised = romanised_parts.generic(total)
        self._form_lengths = sorted({len(form) for form in self._forms}, reverse=True)

        self._latin_forms: dict[tuple[str, ...], list[tuple[int, str]]] = defaultdict(list)
        words_of = _Vocabulary()
        latin_leads = _leads([list(words) for _, words, _ in latin_forms], total)
        for (index, words, how), lead in zip(latin_forms, latin_leads, strict=True):
            self._latin_forms[words].append((index, how))
            for word in words:
                words_of.add(word, index, lead.startswith(word))
        self._latin_words = {word: frozenset(rows) for word, rows in words_of.rows.items()}
        self._generic_latin = words_of.generic(total)
        self._longest_latin_form = max((len(words) for words in self._latin_forms), default=0)
        self._phrases = self._learn_phrases(latin_forms, romanised_prefixes, korean_forms)

        # Typos only of names and distinctive words long enough that one slip leaves them recognisable.
        targets: dict[str, set[int]] = defaultdict(set)
        for index, form, _ in korean_forms:
            if len(_compact(form)) >= 3:
                targets[_compact(form)].add(index)
            for word in form.split():
                if len(word) >= 3 and word not in self._generic_parts:
                    targets[word].update(self._parts.get(word, ()))
        self._typo_targets = [(form, sorted(rows), _jamo(form)) for form, rows in targets.items()]
        self._by_first: dict[str, list[int]] = defaultdict(list)
        self._by_second: dict[str, list[int]] = defaultdict(list)
        for number, (form, _, _) in enumerate(self._typo_targets):
            self._by_first[form[0]].append(number)
            self._by_second[form[1]].append(number)

        self._closest_korean = [(_jamo(_compact(form)), index) for index, form, _ in korean_forms]
        self._closest_latin = [(key, index) for key, rows in self._romanised_full.items() for index in rows]
        self._closest_latin += [(_fold("".join(words)), index) for index, words, _ in latin_forms]

    def find(self, text: str) -> list[Mention]:
        """Rows named in a normalised question, longest and most exact readings first, returned in text order."""
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = text
        compact, positions, starts = _stream(lowered)
        candidates = [
            *self._full(compact, positions, starts),
            *self._korean_partials(compact, positions, starts),
            *self._typos(compact, positions, starts),
            *self._latin(lowered),
        ]
        candidates.sort(key=lambda c: (-_weight(text, c), c.rank, c.start))
        taken = [False] * len(text)
        chosen: list[_Candidate] = []
        for candidate in candidates:
            if any(taken[candidate.start : candidate.end]):
                continue
            taken[candidate.start : candidate.end] = [True] * (candidate.end - candidate.start)
            chosen.append(candidate)
        chosen.sort(key=lambda c: c.start)
        return [
            Mention(c.start, c.end, text[c.start : c.end], tuple(dict.fromkeys(self._names[r] for r in c.rows)), c.how)
            for c in chosen
        ]

    def abbreviated(self, word: str) -> str | None:
        """The one row whose name holds the word's syllables in order from its first ("운정센터" → 운정안전센터), when
        the word is at least three syllables and half the name; None when no row or several do."""
        word = _compact(word)
        if len(word) < 3 or not HANGUL.match(word):
            return None
        found = [
            name
            for name in self._names
            if _compact(name).startswith(word[0]) and 2 * len(word) >= len(_compact(name)) and _in_order(word, name)
        ]
        return found[0] if len(found) == 1 else None

    def closest(self, words: str, limit: int = 3) -> list[str]:
        """Row names most like words that named no row, best first; none when nothing is remotely alike."""
        lowered = words.lower()
        best: dict[int, float] = {}
        compact = _compact(lowered)
        if HANGUL.search(compact):
            self._score(_jamo(compact), self._closest_korean, best)
        latin = _fold("".join(LATIN_WORD.findall(lowered)))
        if len(latin) >= MIN_PARTIAL_LATIN:
            self._score(latin, self._closest_latin, best)
        ranked = sorted(best, key=lambda index: (-best[index], index))
        return list(dict.fromkeys(self._names[index] for index in ranked))[:limit]

    @staticmethod
    def _score(query: str, choices: list[tuple[str, int]], best: dict[int, float]) -> None:
        found = process.extract(
            query, [key for key, _ in choices], scorer=fuzz.ratio, score_cutoff=CLOSEST_CUTOFF, limit=None
        )
        for _, score, number in found:
            index = choices[number][1]
            best[index] = max(best.get(index, 0.0), score)

    @staticmethod
    def _learn_phrases(
        latin_forms: list[tuple[int, tuple[str, ...], str]],
        romanised_prefixes: dict[int, dict[str, str]],
        korean_forms: list[tuple[int, str, str]],
    ) -> dict[str, tuple[frozenset[int], bool]]:
        """English words for the Korean end of names, learnt from rows that have both: "Unjeong Library" ↔ 운정도서관.

        So "Geumchon library" names 금촌도서관 even when that row has no English name of its own. Each phrase maps
        to (rows whose name holds the Korean words, whether those words are shared and so only narrow a mention).
        """
        names = {row: _compact(form) for row, form, how in korean_forms if how == "full"}
        phrases: dict[str, str] = {}
        for index, words, _ in latin_forms:
            for split in range(1, len(words)):
                prefix = romanised_prefixes.get(index, {}).get(_fold("".join(words[:split])))
                if prefix is not None and index in names and len(names[index]) > len(prefix):
                    phrases.setdefault(" ".join(words[split:]), names[index][len(prefix) :])
                    break
        learnt: dict[str, tuple[frozenset[int], bool]] = {}
        compacts = [(index, _compact(form)) for index, form, _ in korean_forms]
        for phrase, korean in phrases.items():
            rows = frozenset(index for index, compact in compacts if korean in compact)
            learnt[phrase] = (rows, len(rows) >= 2)
        return learnt

    def _full(self, compact: str, positions: list[int], starts: list[bool]) -> list[_Candidate]:
        found = []
        for i in range(len(compact)):
            for length in self._form_lengths:
                if i + length > len(compact):
                    continue
                rows = self._forms.get(compact[i : i + length])
                # Short names only as a written word of their own, so 문산 is not read in 월문산 or 문산읍.
                if rows and (length >= 3 or (starts[i] and _ends_word(compact, i + length, starts))):
                    how = "full" if any(how == "full" for _, how in rows) else "alias"
                    ordered = sorted(rows, key=lambda pair: pair[1] != "full")
                    span_end = positions[i + length - 1] + 1
                    found.append(_Candidate(positions[i], span_end, [r for r, _ in ordered], how, RANK[how]))
                    break
        return found

    def _korean_partials(self, compact: str, positions: list[int], starts: list[bool]) -> list[_Candidate]:
        found = []
        for i in range(len(compact)):
            if not (starts[i] and HANGUL.match(compact[i])):
                continue
            steps: list[tuple[str, frozenset[int]]] = []  # (part, rows left after it)
            j = i
            while j < len(compact):
                step = self._next_part(compact, j, steps[-1][1] if steps else None)
                if step is None:
                    break
                steps.append(step)
                j += len(step[0])
            if steps and (j == len(compact) or starts[j]):
                j = self._strip_particle(steps, j)
            # A part must end its written word, or be followed by a particle: 관광객 does not name 관광지.
            while steps and not _ends_word(compact, j, starts):
                j -= len(steps.pop()[0])
            if not any(part not in self._generic_parts for part, _ in steps):
                continue
            matched = j - i
            rows = sorted(steps[-1][1], key=lambda r: (-matched / self._row_length[r], r))
            found.append(_Candidate(positions[i], positions[j - 1] + 1, rows, "partial", RANK["partial"]))
        return found

    def _strip_particle(self, steps: list[tuple[str, frozenset[int]]], j: int) -> int:
        """ "금촌도" before a space is 금촌 and the particle 도, not the start of 금촌도서관."""
        last_part = steps[-1][0]
        for particle in PARTICLES:
            stripped = last_part[: -len(particle)]
            if last_part.endswith(particle) and len(stripped) >= 2 and stripped in self._parts:
                before = steps[-2][1] if len(steps) > 1 else None
                rows = self._parts[stripped] if before is None else before & self._parts[stripped]
                if rows:
                    steps[-1] = (stripped, rows)
                    return j - len(particle)
                break
        return j

    def _next_part(self, compact: str, j: int, rows: frozenset[int] | None) -> tuple[str, frozenset[int]] | None:
        for length in range(min(self._longest_part, len(compact) - j), 1, -1):
            part = compact[j : j + length]
            part_rows = self._parts.get(part)
            if part_rows and (rows is None or rows & part_rows):
                return part, part_rows if rows is None else rows & part_rows
        return None

    def _typos(self, compact: str, positions: list[int], starts: list[bool]) -> list[_Candidate]:
        best: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)  # span → (distance, jamo, row)
        for i in range(len(compact) - 2):
            if not (starts[i] and HANGUL.match(compact[i])):
                continue
            numbers = {*self._by_first.get(compact[i], ()), *self._by_second.get(compact[i + 1], ())}
            for number in numbers:
                form, rows, form_jamo = self._typo_targets[number]
                match = _typo_span(compact, starts, i, form, form_jamo)
                if match is not None:
                    length, distance, jamo_distance = match
                    best[(i, length)].extend((distance, jamo_distance, row) for row in rows)
        found = []
        for (i, length), scored in best.items():
            rows = [row for _, _, row in sorted(scored)]
            found.append(_Candidate(positions[i], positions[i + length - 1] + 1, rows, "typo", RANK["typo"]))
        return found

    def _latin(self, text: str) -> list[_Candidate]:
        tokens = [(m.start(), m.end(), m.group()) for m in LATIN_WORD.finditer(text)]
        if not tokens:
            return []
        joined = [bool(LATIN_JOIN.fullmatch(text[a[1] : b[0]])) for a, b in pairwise(tokens)]
        found = []
        for j in range(len(tokens)):
            reach = 1
            while reach < MAX_LATIN_WINDOW and j + reach < len(tokens) and joined[j + reach - 1]:
                reach += 1
            found.extend(self._latin_at(tokens, j, reach))
        return found

    def _latin_at(self, tokens: list[tuple[int, int, str]], j: int, reach: int) -> list[_Candidate]:
        words = [word for _, _, word in tokens[j : j + reach]]
        found = []
        named = self._latin_form_at(words)
        if named is not None:
            size, rows, how = named
            found.append(_Candidate(tokens[j][0], tokens[j + size - 1][1], rows, how, RANK[how]))
        for size in range(reach, 0, -1):
            rows = self._romanised_full.get(_fold("".join(words[:size])))
            if rows:
                end = tokens[j + size - 1][1]
                found.append(_Candidate(tokens[j][0], end, sorted(rows), "romanised", RANK["romanised full"]))
                break
        partial = self._latin_partial(tokens, j, reach, words)
        if partial is not None:
            found.append(partial)
        return found

    def _latin_form_at(self, words: list[str]) -> tuple[int, list[int], str] | None:
        """(words used, rows, how) for the longest English name written from the first word; its last may be plural."""
        for size in range(min(len(words), self._longest_latin_form), 0, -1):
            for last in _plurals(words[size - 1]):
                rows = self._latin_forms.get((*words[: size - 1], last))
                if rows:
                    how = "full" if any(how == "full" for _, how in rows) else "alias"
                    return size, [row for row, _ in rows], how
        return None

    def _latin_partial(
        self, tokens: list[tuple[int, int, str]], j: int, reach: int, words: list[str]
    ) -> _Candidate | None:
        """Distinctive English words, romanised or from English names, each narrowing the rows the one before named."""
        rows: frozenset[int] | None = None
        by_english_names: frozenset[int] | None = None  # the rows English names' words alone would have named
        distinctive = False
        used = 0
        while used < reach:
            step = None
            for size in range(reach - used, 0, -1):
                step = self._latin_piece(words[used : used + size], rows)
                if step is not None:
                    break
            if step is None:
                break
            rows, from_english_names, piece_distinctive = step
            by_english_names = from_english_names if by_english_names is None else by_english_names & from_english_names
            distinctive |= piece_distinctive
            used += size
        if not distinctive or rows is None:
            return None
        letters = sum(len(word) for word in words[:used])
        ordered = sorted(rows, key=lambda r: (-letters / self._row_length[r], r))
        how = "partial" if by_english_names is not None and rows <= by_english_names else "romanised"
        return _Candidate(tokens[j][0], tokens[j + used - 1][1], ordered, how, RANK[how])

    def _latin_piece(
        self, window: list[str], rows: frozenset[int] | None
    ) -> tuple[frozenset[int], frozenset[int], bool] | None:
        """(rows left, rows English names' words point at, distinctive?) for a few English words, read as an English
        name's word, a romanised part, or a learnt phrase."""
        key = _fold("".join(window))
        long_enough = len(key) >= MIN_PARTIAL_LATIN
        from_english_names: set[int] = set()
        distinctive = False
        if len(window) == 1:
            for word in _plurals(window[0]):
                if word in self._latin_words:
                    from_english_names |= self._latin_words[word]
                    distinctive |= long_enough and word not in self._generic_latin
        found = set(from_english_names)
        if key in self._romanised_parts:
            found |= self._romanised_parts[key]
            distinctive |= long_enough and key not in self._generic_romanised
        phrase = self._phrases.get(" ".join(window))
        if phrase is not None:
            found |= phrase[0]
            distinctive |= not phrase[1]
        narrowed = frozenset(found) if rows is None else rows & found
        return (narrowed, frozenset(from_english_names), distinctive) if narrowed else None


def _typo_span(compact: str, starts: list[bool], i: int, form: str, form_jamo: str) -> tuple[int, int, int] | None:
    """(length, syllable distance, jamo distance) of the closest slip of `form` written at `i`, if close enough."""
    if compact.startswith(form, i):
        return None  # written exactly: a full match, not a typo
    best = None
    for length in (len(form), len(form) - 1, len(form) + 1):
        end = i + length
        if length < 3 or end > len(compact) or not _ends_word(compact, end, starts):
            continue
        # The slip may respace the name ("운정 행복센타") but not swallow a one-syllable word after it ("교하도서 몇").
        last_start = max((k for k in range(i + 1, end) if starts[k]), default=None)
        if last_start is not None and end - last_start < 2:
            continue
        written = compact[i : i + length]
        distance = Levenshtein.distance(written, form, score_cutoff=1)
        if distance > 1:
            continue
        jamo_distance = Levenshtein.distance(_jamo(written), form_jamo)
        # A three-syllable name allows one slip of a key, not a whole syllable: 관광객 is not 관광지. And the
        # written word must open like the name, so question words never pass for a name.
        if len(form) == 3 and jamo_distance > 1:
            continue
        if written[0] != form[0] and jamo_distance > 1:
            continue
        if best is None or (distance, jamo_distance) < best[1:]:
            best = (length, distance, jamo_distance)
    return best


def _ends_word(compact: str, j: int, starts: list[bool]) -> bool:
    return j == len(compact) or starts[j] or compact.startswith(PARTICLES, j)


def _stream(text: str) -> tuple[str, list[int], list[bool]]:
    """The text without spaces, where each character stood, and whether it starts a written word."""
    characters, positions, starts = [], [], []
    for index, character in enumerate(text):
        if character.isspace():
            continue
        previous = text[index - 1] if index else " "
        characters.append(character)
        positions.append(index)
        starts.append(_script(previous) != _script(character))
    return "".join(characters), positions, starts


def _script(character: str) -> str:
    if HANGUL.match(character):
        return "hangul"
    return "latin" if character.isalnum() else "other"


def _leads(names: list[list[str]], total: int) -> list[str]:
    """Each name from its first word that is not shared by most names ("파주시 교하도서관" leads with 교하)."""
    counts: dict[str, set[int]] = defaultdict(set)
    for number, words in enumerate(names):
        for word in words:
            counts[word].add(number)
    common = {word for word, numbers in counts.items() if len(numbers) >= 3 and 3 * len(numbers) > total}
    leads = []
    for words in names:
        kept = words
        while len(kept) > 1 and kept[0] in common:
            kept = kept[1:]
        leads.append("".join(kept))
    return leads


def _weight(text: str, candidate: _Candidate) -> int:
    return sum(1 for character in text[candidate.start : candidate.end] if not character.isspace())


def _plurals(word: str) -> list[str]:
    variants = [word]
    if word.endswith("es") and len(word) > 4:
        variants.append(word[:-2])
    if word.endswith("s") and len(word) > 3:
        variants.append(word[:-1])
    return variants


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def _jamo(text: str) -> str:
    """Hangul syllables split into letters by Unicode arithmetic, so 관 and 간 differ by one letter, not a syllable."""
    letters = []
    for character in text:
        code = ord(character) - 0xAC00
        if 0 <= code < 11172:
            letters.append(chr(0x1100 + code // 588))
            letters.append(chr(0x1161 + (code % 588) // 28))
            if code % 28:
                letters.append(chr(0x11A7 + code % 28))
        else:
            letters.append(character)
    return "".join(letters)


# Transcription and transliteration differ in these ("Wollong" or "Wolrong", "Imjingak" or "Imjingag"), so both
# sides are compared with them folded together and doubled letters single.
_FOLDS = str.maketrans("rkpt", "lgbd")


def _fold(latin: str) -> str:
    letters = re.sub(r"[^a-z0-9]", "", latin.lower()).translate(_FOLDS)
    return re.sub(r"([a-z])\1+", r"\1", letters)


def _in_order(word: str, name: str) -> bool:
    remaining = iter(_compact(name))
    return all(character in remaining for character in word)


@lru_cache(maxsize=65536)
def _romanise(hangul: str) -> str:
    """Revised Romanization as on signs and maps, sound changes included ("문산읍" → "munsaneup", "한빛" →
    "hanbit"); `_fold` evens out the spellings people still use (r/l, k/g, doubled letters)."""
    return Romanizer(hangul).romanize()
