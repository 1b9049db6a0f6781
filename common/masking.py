"""Masking of personal data for consoles and logs (김*수, 010-****-5678)."""

import re

# Korean mobile and landline numbers, with or without separators, also inside longer text.
PHONE_PATTERN = re.compile(r"(?<!\d)(0\d{1,2})[-. ]?(\d{3,4})[-. ]?(\d{4})(?!\d)")


def mask_phone(phone: str) -> str:
    match = PHONE_PATTERN.fullmatch(phone.strip())
    if not match:
        return "*" * len(phone)
    return f"{match.group(1)}-{'*' * len(match.group(2))}-{match.group(3)}"


def mask_name(name: str) -> str:
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# Korean resident registration numbers (YYMMDD-NNNNNNN): never stored, not even partly.
RESIDENT_NUMBER = re.compile(r"(?<!\d)\d{6}[- ]?[1-8]\d{6}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_personal_data(text: str) -> str:
    """Resident numbers, phone numbers (010-****-5678) and e-mail addresses out of a text."""
    text = RESIDENT_NUMBER.sub("******-*******", text)
    text = redact_phones(text)
    return EMAIL.sub("***@***", text)


def redact_phones(text: str) -> str:
    return PHONE_PATTERN.sub(lambda m: f"{m.group(1)}-{'*' * len(m.group(2))}-{m.group(3)}", text)


# A number as mask_phone shows it (010-****-5678): its last four digits still point at someone.
MASKED_PHONE_PATTERN = re.compile(r"(?<!\d)0\d{1,2}-\*{3,4}-\d{4}(?!\d)")


def erase_phones(text: str) -> str:
    """Every digit of every phone number, masked ones too, starred: what is left when its keeping period ends."""
    return erase_masked_phones(PHONE_PATTERN.sub(_starred, text))


def erase_masked_phones(text: str) -> str:
    """Only the masked numbers starred: in what the city wrote, a whole number is the city's own (031-940-4114)."""
    return MASKED_PHONE_PATTERN.sub(_starred, text)


def _starred(match: re.Match[str]) -> str:
    return re.sub(r"\d", "*", match.group(0))
