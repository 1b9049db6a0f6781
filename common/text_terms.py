"""Search terms of Korean and English text, for the api's own search indexes (notices, the knowledge base).

Korean text becomes character bigrams of each run of Hangul with its spaces removed, so `주차` finds "공영주차장"
and `도로공사` finds "도로 공사"; Latin words are lower-cased and lightly stemmed. A query's bigrams stay within
each of its words, and the words a query wraps around what it looks for are left out.
"""

import re
import unicodedata
from collections import Counter

HANGUL_RUN = re.compile(r"[가-힣]+(?:\s+[가-힣]+)*")
HANGUL = re.compile(r"[가-힣]+")
LATIN_WORD = re.compile(r"[a-z0-9]+")


def words(*lines: str) -> frozenset[str]:
    return frozenset(word for line in lines for word in line.split())


# Words a query wraps around what it looks for ("주차 관련 공지", "notices about parking").
QUERY_STOP_WORDS = words(
    "공지 공지사항 소식 알림 관련 관한 대한 정보 내용 검색",
    "about any notice notices news info information search show find me my please",
)
ENGLISH_STOP_WORDS = words(
    "a an the of in on at to for and or is are be by with from as it this that",
    "no not what where how when can i you",
)
# Particles Korean glues to the end of a word: dropped from query words of three characters or more.
PARTICLES = ("에서", "으로", "은", "는", "이", "가", "을", "를", "에", "의", "로", "와", "과", "도")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def bigrams(hangul: str) -> list[str]:
    if len(hangul) == 1:
        return [hangul]
    return [hangul[i : i + 2] for i in range(len(hangul) - 1)]


def latin_terms(text: str, stop_words: frozenset[str]) -> list[str]:
    return [stem(w) for w in LATIN_WORD.findall(text) if len(w) > 1 and w not in stop_words]


def document_terms(text: str) -> Counter[str]:
    """The terms of a stored text: bigrams across the spaces of each Hangul run, and Latin words."""
    text = normalise(text)
    terms: Counter[str] = Counter()
    for run in HANGUL_RUN.findall(text):
        terms.update(bigrams(re.sub(r"\s+", "", run)))
    terms.update(latin_terms(text, ENGLISH_STOP_WORDS))
    return terms


def query_terms(query: str, stop_words: frozenset[str] = QUERY_STOP_WORDS) -> list[str]:
    """The distinct terms of a query, word by word: bigrams within a word never span the query's spaces.
    `stop_words` are the words a query wraps around what it looks for."""
    terms: list[str] = []
    for word in normalise(query).split():
        if word in stop_words:
            continue
        for hangul in HANGUL.findall(word):
            if hangul in stop_words:
                continue
            if len(hangul) >= 3 and hangul.endswith(PARTICLES):
                hangul = hangul[: -2 if hangul.endswith(("에서", "으로")) else -1]
            terms.extend(bigrams(hangul))
        terms.extend(latin_terms(word, stop_words | ENGLISH_STOP_WORDS))
    return list(dict.fromkeys(terms))
