"""Ranking of knowledge entries and notices for a citizen's question: what the sentence encoder finds close in
meaning, blended with the Korean character-bigram search that catches exact words, typos and no-space spellings.

Each document (an entry, or a published notice) brings its texts' embeddings and its terms. Its semantic score
is the best cosine between the question and any of its texts (title, question forms); its lexical score is the
share of the question's term weight (idf) found in its title and question forms, half counting when found only
in its answer. The blend decides; the thresholds of service.py were chosen on the dev questions of
bench/knowledge_questions.yml and measured on the held-out ones (README, bench/knowledge.py).
"""

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from common.text_terms import QUERY_STOP_WORDS, document_terms, query_terms, words

# What a question wraps around its subject: asking words, polite endings left whole, and "Paju city".
ASKING_WORDS = QUERY_STOP_WORDS | words(
    "알려줘 알려주세요 알려줄래 알려줘요 궁금해요 궁금합니다 궁금 문의 어떻게 어떻게요",
    "어디 어디서 어디에서 언제 뭐 뭐예요 뭔가요 무엇 무엇인가요 있나요 있어요 되나요 돼요",
    "할까요 하나요 해요 하면 되요 좀 혹시 파주 파주시 시청에서",
    "how what when where which who do does i can could should tell need get paju city",
)
SEMANTIC_WEIGHT = 0.7
ANSWER_TERM_WEIGHT = 0.5  # a term found only in the answer counts half
CONFIDENCE_WEIGHTS = (3.208, 2.957, 3.794, 1.930, -4.156, 3.739, -4.490)
CONFIDENCE_BIAS = -7.406


WORD = re.compile(r"[가-힣]+|[a-z]+|\d+")
# Words that carry no subject of their own: the asking words, and English function words.
EMPTY_WORDS = ASKING_WORDS | words(
    "a an the of in on at to for and or is are be by with from as it this that my our your me we you i do does can",
    "how what when where which who there any will would much many get got have has had am was were it's",
)


def content_words(text: str) -> list[str]:
    """The words of a text that could carry its subject, each once: what the alignment compares."""
    found = (w for w in WORD.findall(text.lower()) if len(w) > 1 and w not in EMPTY_WORDS)
    return list(dict.fromkeys(found))


# Other cities and provinces: a question about one of them is not Paju's to answer ("고양시 대형폐기물").
_CITIES_KO = (
    "서울|고양|일산|김포|양주|연천|의정부|동두천|포천|인천|부천|수원|성남|분당|용인|안양|남양주|구리|하남|광명|시흥|안산|"
    "화성|평택|부산|대구|광주|대전|울산|세종|제주|춘천|청주|전주|창원|강남|송파|마포|은평"
)
_CITIES_EN = (
    "seoul|goyang|ilsan|gimpo|yangju|yeoncheon|uijeongbu|incheon|bucheon|suwon|seongnam|bundang|yongin|anyang|"
    "busan|daegu|gwangju|daejeon|ulsan|sejong|jeju|gangnam"
)
ELSEWHERE = re.compile(
    rf"(?<![가-힣])(?:{_CITIES_KO})(?:특별시|광역시|시|군|구|에서|에|의|(?=\s)|$)|\b(?:{_CITIES_EN})\b", re.IGNORECASE
)
PAJU = re.compile(r"파주|\bpaju\b", re.IGNORECASE)


def names_elsewhere(question: str) -> bool:
    """The question names another city and not Paju."""
    return bool(ELSEWHERE.search(question)) and not PAJU.search(question)


@dataclass
class Document:
    kind: str  # "entry" or "notice"
    id: int
    vectors: np.ndarray  # (texts, 512), L2-normalised
    terms: Counter[str]  # of the title and question forms
    answer_terms: Counter[str] = field(default_factory=Counter)
    # One embedding per content word of the title, question forms and answer (content_words).
    word_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 512), dtype=np.float32))


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    score: float
    semantic: float
    lexical: float


@dataclass(frozen=True)
class Ranking:
    """The best documents for a question, and how sure the best one answers it."""

    hits: list[Hit]
    unknown: float  # the share of the question's terms that no document holds
    # How well the best document covers the question's least covered word (the best cosine of that word to any of
    # the document's words): a question about something else ("고양시", "national pension") has one word its
    # best match cannot account for, however close the whole sentence looks.
    alignment: float = 1.0
    elsewhere: bool = False  # names another city (names_elsewhere)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def features(self) -> np.ndarray:
        """What the confidence is computed from: the best match's blend, semantic and lexical scores, its lead
        over the runner-up, the share of the question's words the corpus never uses, the alignment, and whether
        the question is about another city."""
        if not self.hits:
            return np.zeros(len(CONFIDENCE_WEIGHTS))
        best = self.hits[0]
        runner_up = self.hits[1].score if len(self.hits) > 1 else 0.0
        return np.array(
            [
                best.score,
                best.semantic,
                best.lexical,
                best.score - runner_up,
                self.unknown,
                self.alignment,
                float(self.elsewhere),
            ]
        )

    @property
    def confidence(self) -> float:
        """The chance the best match answers the question: a logistic model over `features`, fitted on the dev
        questions (`python -m bench.knowledge --fit` prints the weights)."""
        if not self.hits:
            return 0.0
        z = float(self.features() @ np.array(CONFIDENCE_WEIGHTS)) + CONFIDENCE_BIAS
        return 1 / (1 + math.exp(-z))


def document(
    kind: str, id_: int, vectors: np.ndarray, texts: list[str], answer: str, word_vectors: np.ndarray
) -> Document:
    terms: Counter[str] = Counter()
    for text in texts:
        terms.update(document_terms(text))
    return Document(kind, id_, vectors, terms, document_terms(answer), word_vectors)


class Index:
    """The searchable corpus of one moment: built once per change of the published entries or notices."""

    def __init__(self, documents: list[Document], semantic_weight: float = SEMANTIC_WEIGHT) -> None:
        self.documents = documents
        self.semantic_weight = semantic_weight
        self._by_key = {(doc.kind, doc.id): doc for doc in documents}
        owners = [i for i, doc in enumerate(documents) for _ in range(len(doc.vectors))]
        self._owners = np.array(owners, dtype=np.int64)
        self._matrix = (
            np.vstack([doc.vectors for doc in documents if len(doc.vectors)])
            if owners
            else np.zeros((0, 512), dtype=np.float32)
        )
        frequencies: Counter[str] = Counter()
        for doc in documents:
            frequencies.update(set(doc.terms) | set(doc.answer_terms))
        count = len(documents)
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in frequencies.items()}
        # A question's word no document holds (a typo, an asking word the list above lacks) weighs as the most
        # common known term: it lowers every document's coverage a little and none more than another.
        self._unknown_idf = min(self._idf.values(), default=1.0)

    def rank(self, question: str, vector: np.ndarray, word_vectors: np.ndarray, limit: int = 5) -> Ranking:
        """`vector` embeds the question, `word_vectors` its content words (content_words)."""
        terms = query_terms(question, ASKING_WORDS)
        unknown = sum(t not in self._idf for t in terms) / len(terms) if terms else 0.0
        hits = self.search(question, vector, limit)
        alignment = 1.0
        if hits and len(word_vectors):
            best = self._by_key[(hits[0].kind, hits[0].id)]
            if len(best.word_vectors):
                alignment = float((word_vectors @ best.word_vectors.T).max(axis=1).min())
        return Ranking(hits, unknown, alignment, names_elsewhere(question))

    def search(self, question: str, vector: np.ndarray, limit: int = 5) -> list[Hit]:
        if not self.documents:
            return []
        semantic = np.full(len(self.documents), -1.0, dtype=np.float32)
        if len(self._matrix):
            np.maximum.at(semantic, self._owners, self._matrix @ vector.astype(np.float32))
        lexical = self._lexical(question)
        weight = self.semantic_weight
        scores = weight * np.clip(semantic, 0.0, 1.0) + (1 - weight) * lexical
        order = np.argsort(-scores, kind="stable")[:limit]
        return [
            Hit(
                self.documents[i].kind,
                self.documents[i].id,
                float(scores[i]),
                float(semantic[i]),
                float(lexical[i]),
            )
            for i in order
        ]

    def _lexical(self, question: str) -> np.ndarray:
        terms = query_terms(question, ASKING_WORDS)
        weights = {t: self._idf.get(t, self._unknown_idf) for t in terms}
        total = sum(weights.values())
        lexical = np.zeros(len(self.documents), dtype=np.float32)
        if not total:
            return lexical
        for i, doc in enumerate(self.documents):
            found = sum(
                w if t in doc.terms else ANSWER_TERM_WEIGHT * w if t in doc.answer_terms else 0.0
                for t, w in weights.items()
            )
            lexical[i] = found / total
        return lexical
