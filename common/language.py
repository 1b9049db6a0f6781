"""Which language a citizen writes in, from the script of the letters."""

SUPPORTED = ("ko", "en")


def _is_hangul(char: str) -> bool:
    code = ord(char)
    return (
        0xAC00 <= code <= 0xD7A3  # syllables
        or 0x1100 <= code <= 0x11FF  # jamo
        or 0x3130 <= code <= 0x318F  # compatibility jamo: ㄱㅅ, ㅎㅇ
    )


def detect_language(text: str | None) -> str | None:
    """ "ko" when the text has any Hangul, "en" when it has Latin letters only, None when neither.

    Korean users mix English words into Korean sentences ("DMZ 투어 예약"), so one Hangul
    letter is enough; emoji, digits, punctuation and booking codes alone say nothing.
    """
    if not text:
        return None
    if any(_is_hangul(char) for char in text):
        return "ko"
    # Words with digits ("7KQ3XP", "2pm", "010-1234-5678") are codes and numbers, in no language.
    words = [word for word in text.split() if not any(char.isdigit() for char in word)]
    if any(char.isascii() and char.isalpha() for word in words for char in word):
        return "en"
    return None
