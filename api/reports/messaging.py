"""What the citizen reports domain says, in Korean and English: status names and messages, the ready texts staff
pick per kind and status, the callback-number consent, the expected first answer in words, and refusals."""

from datetime import datetime

from common.calendar import weekday_name
from common.clock import SEOUL
from common.payloads import payload

STATUS_NAMES = {
    "ko": {
        "received": "접수",
        "assigned": "담당자 배정",
        "in_progress": "처리 중",
        "done": "처리 완료",
        "transferred": "부서 이관",
        "rejected": "반려",
    },
    "en": {
        "received": "received",
        "assigned": "assigned",
        "in_progress": "in progress",
        "done": "done",
        "transferred": "transferred",
        "rejected": "rejected",
    },
}

# The sentence a status message opens with, after "[receipt kind]".
_STATUS_SENTENCES = {
    "ko": {
        "received": "접수되었어요.",
        "assigned": "담당자가 배정되었어요.",
        "in_progress": "처리 중이에요.",
        "done": "처리가 완료되었어요.",
        "transferred": "{department} 이관되었어요.",
        "rejected": "반려되었어요.",
    },
    "en": {
        "received": "Your report has been received.",
        "assigned": "A staff member has been assigned.",
        "in_progress": "We are working on it.",
        "done": "It has been dealt with.",
        "transferred": "It has been passed to {department}.",
        "rejected": "It was rejected.",
    },
}

# Ready texts staff may send with a status change: per kind where the work differs, else the general one.
_GENERAL_CANNED = {
    "received": (
        "신고가 접수되었어요. 담당 부서에서 확인할게요.",
        "Your report is in. The department will look at it.",
    ),
    "assigned": (
        "담당자가 배정되었어요. 곧 현장을 확인할게요.",
        "A staff member is now in charge and will check the site soon.",
    ),
    "in_progress": (
        "담당자가 현장을 확인하고 처리하고 있어요.",
        "Our staff are checking the site and dealing with it.",
    ),
    "done": (
        "현장 조치를 마쳤어요. 신고해 주셔서 고맙습니다.",
        "The work on site is finished. Thank you for reporting it.",
    ),
    "transferred": (
        "더 알맞은 부서에서 처리하도록 넘겼어요.",
        "We passed it to the department that handles this.",
    ),
    "rejected": (
        "현장을 확인했지만 신고하신 문제를 찾지 못했어요.",
        "We checked the site but could not find the problem you reported.",
    ),
}
_KIND_CANNED: dict[str, dict[str, tuple[str, str]]] = {
    "illegal_parking": {
        "in_progress": ("단속 요원이 현장으로 가고 있어요.", "A parking officer is on the way."),
        "done": ("현장을 단속하고 차량 이동을 안내했어요.", "The vehicle was ticketed and asked to move."),
        "rejected": (
            "현장에 갔지만 차량이 이미 이동했어요.",
            "An officer went there, but the vehicle had already left.",
        ),
    },
    "streetlight": {
        "in_progress": (
            "가로등 수리 업체에 수리를 요청했어요.",
            "We have asked the repair contractor to fix the light.",
        ),
        "done": ("가로등을 수리해 다시 켜졌어요.", "The streetlight has been repaired and is on again."),
        "rejected": (
            "확인해 보니 가로등이 정상적으로 켜져 있었어요.",
            "We checked and the streetlight was working.",
        ),
    },
    "pothole": {
        "in_progress": ("도로 보수반이 현장을 확인하고 있어요.", "The road repair crew is checking the site."),
        "done": ("파손된 도로를 임시로 메워 보수했어요.", "The damaged road surface has been patched."),
        "rejected": (
            "해당 도로는 시에서 관리하지 않는 도로예요.",
            "That road is not one the city maintains.",
        ),
    },
    "sidewalk": {
        "in_progress": ("보도 정비 업체에 보수를 요청했어요.", "We have asked the contractor to repair the sidewalk."),
        "done": ("파손된 보도블록을 다시 깔았어요.", "The broken paving stones have been relaid."),
        "rejected": ("현장을 확인했지만 파손된 곳을 찾지 못했어요.", "We checked but found no broken paving."),
    },
    "traffic_light": {
        "in_progress": ("신호등 관리 업체가 긴급 점검에 나섰어요.", "The traffic light contractor is checking it now."),
        "done": ("신호등을 고쳐 정상적으로 작동해요.", "The traffic light has been fixed and works again."),
        "rejected": ("점검해 보니 신호등이 정상적으로 작동했어요.", "We checked and the traffic light was working."),
    },
    "abandoned_vehicle": {
        "in_progress": (
            "차량 소유자를 확인하고 이동 명령을 준비하고 있어요.",
            "We are tracing the owner and preparing a removal order.",
        ),
        "done": ("차량 소유자에게 이동 명령을 내리고 조치를 마쳤어요.", "The owner was ordered to remove the vehicle."),
        "rejected": (
            "확인해 보니 운행 중인 차량이라 방치 차량이 아니에요.",
            "The vehicle is in regular use, so it is not abandoned.",
        ),
    },
    "illegal_dumping": {
        "in_progress": ("청소 담당자가 수거 일정을 잡고 있어요.", "The cleaning team is arranging a collection."),
        "done": ("무단투기된 쓰레기를 수거했어요.", "The dumped waste has been collected."),
        "rejected": (
            "현장을 확인했지만 쓰레기가 이미 치워져 있었어요.",
            "We checked, and the waste had already been cleared.",
        ),
    },
    "illegal_banner": {
        "in_progress": ("현수막 정비반이 철거 일정을 잡고 있어요.", "The banner team is arranging the removal."),
        "done": ("불법 현수막을 철거했어요.", "The illegal banner has been removed."),
        "rejected": (
            "확인해 보니 허가받은 지정 게시대의 현수막이에요.",
            "That banner is on a licensed board and is allowed.",
        ),
    },
    "noise": {
        "in_progress": (
            "담당자가 소음 발생 현장을 확인하고 있어요.",
            "Our staff are checking where the noise comes from.",
        ),
        "done": ("소음 발생자에게 개선하도록 안내했어요.", "The source of the noise was told to reduce it."),
        "rejected": ("측정해 보니 소음이 기준 이하였어요.", "We measured the noise and it was within the limit."),
    },
    "odor": {
        "in_progress": ("담당자가 악취 원인을 조사하고 있어요.", "Our staff are looking for the cause of the smell."),
        "done": ("악취 원인을 찾아 개선하도록 조치했어요.", "The cause of the smell was found and dealt with."),
        "rejected": (
            "현장을 확인했지만 악취를 확인하지 못했어요.",
            "We checked the site but could not find the smell.",
        ),
    },
    "fallen_tree": {
        "in_progress": ("녹지 관리반이 현장으로 가고 있어요.", "The tree crew is on the way."),
        "done": ("쓰러진 나무를 치우고 주변을 정리했어요.", "The fallen tree has been removed and the area cleared."),
        "rejected": (
            "확인해 보니 사유지의 나무라 소유자가 처리해야 해요.",
            "The tree is on private land; its owner must deal with it.",
        ),
    },
    "park_facility": {
        "in_progress": ("공원 관리 담당자가 시설을 점검하고 있어요.", "The park staff are inspecting the facility."),
        "done": ("파손된 공원 시설을 수리했어요.", "The broken park facility has been repaired."),
        "rejected": ("점검해 보니 시설에 이상이 없었어요.", "We inspected it and found nothing broken."),
    },
    "water_leak": {
        "in_progress": ("상수도 긴급 복구반이 현장으로 가고 있어요.", "The waterworks repair crew is on the way."),
        "done": ("누수된 상수도관을 고쳤어요.", "The leaking water pipe has been repaired."),
        "rejected": (
            "확인해 보니 상수도가 아닌 건물 내부 배관의 누수예요.",
            "The leak is in a building's own pipes, not the city's water main.",
        ),
    },
    "snow_ice": {
        "in_progress": ("제설 차량이 출동했어요.", "A snow clearing vehicle has been sent."),
        "done": ("제설과 염화칼슘 살포를 마쳤어요.", "The snow has been cleared and the road gritted."),
        "rejected": (
            "해당 구간은 제설이 이미 끝난 곳이에요.",
            "That stretch had already been cleared.",
        ),
    },
}


def status_name(status: str, language: str) -> str:
    """ "처리 중" or "in progress"."""
    return STATUS_NAMES["en" if language == "en" else "ko"].get(status, status)


def canned_text(kind_code: str, status: str, language: str) -> str:
    """A ready text staff may send with this status for this kind of report; the general one for other kinds."""
    ko, en = _KIND_CANNED.get(kind_code, {}).get(status) or _GENERAL_CANNED.get(status, ("", ""))
    return en if language == "en" else ko


def receipt_label(receipt_no: str, kind_name: str) -> str:
    """ "[PJ-2026-000123 불법 주정차]": how every message about a case begins."""
    return f"[{receipt_no} {kind_name}]"


def status_sentence(status: str, language: str, *, department_name: str | None = None) -> str:
    """ "처리 중이에요." or "We are working on it.": what a status means to the citizen."""
    lang = "en" if language == "en" else "ko"
    department = department_name or ""
    if lang == "ko" and department:
        department += _to_particle(department)
    return _STATUS_SENTENCES[lang].get(status, status_name(status, lang)).format(department=department)


def _to_particle(word: str) -> str:
    """로 after a vowel or ㄹ, 으로 after another final consonant: "교통행정과로", "상수도사업소로"."""
    last = word[-1]
    if not "가" <= last <= "힣":
        return "(으)로"
    final = (ord(last) - ord("가")) % 28
    return "로" if final in (0, 8) else "으로"


def status_text(
    receipt_no: str,
    kind_name: str,
    status: str,
    language: str,
    *,
    message: str | None = None,
    reason: str | None = None,
    department_name: str | None = None,
) -> str:
    """ "[PJ-2026-000123 불법 주정차] 처리 중이에요. <staff message>": a status change as the citizen reads it."""
    lang = "en" if language == "en" else "ko"
    parts = [receipt_label(receipt_no, kind_name), status_sentence(status, lang, department_name=department_name)]
    if reason:
        parts.append(f"Reason: {reason}" if lang == "en" else f"사유: {reason}")
    if message:
        parts.append(message)
    return " ".join(parts)


def staff_message_text(receipt_no: str, kind_name: str, text: str) -> str:
    """A staff message about a case without a status change."""
    return f"{receipt_label(receipt_no, kind_name)} {text}"


def rating_question(language: str) -> str:
    if language == "en":
        return "How satisfied are you with how it was handled? Choose 1 (not at all) to 5 (very)."
    return "처리 결과에 얼마나 만족하셨나요? 1점(매우 불만)부터 5점(매우 만족) 중에서 골라 주세요."


def rating_buttons(receipt_no: str, language: str) -> list[dict[str, str]]:
    """Buttons 1–5 that rate the case: `/rate_report{"receipt_no":..,"score":N}`."""
    return [
        {
            "title": f"{score}/5" if language == "en" else f"{score}점",
            "payload": payload("rate_report", receipt_no=receipt_no, score=score),
        }
        for score in range(1, 6)
    ]


def consent_text(retention_days: int, language: str) -> str:
    """What a citizen agrees to when they leave a callback number."""
    if language == "en":
        return (
            "We use the phone number you give only to contact you about this report, and delete it "
            f"{retention_days} days after the report is closed. Do you agree?"
        )
    return (
        "남겨 주신 연락처는 이 신고와 관련해 연락드릴 때만 사용하고, 신고 처리가 끝나고 "
        f"{retention_days}일이 지나면 삭제해요. 동의하시나요?"
    )


def due_text(due_at: datetime, language: str) -> str:
    """The expected first answer in words: "12월 2일(수) 오후 1시까지" or "by Wed 2 Dec, 1 pm" (no full stop of
    its own: the sentence around it ends it)."""
    local = due_at.astimezone(SEOUL)
    weekday = weekday_name(local.date(), language)
    hour12 = local.hour % 12 or 12
    if language == "en":
        minutes = f":{local.minute:02d}" if local.minute else ""
        half = "am" if local.hour < 12 else "pm"
        return f"by {weekday} {local.day} {local:%b}, {hour12}{minutes} {half}"
    minutes = f" {local.minute}분" if local.minute else ""
    half = "오전" if local.hour < 12 else "오후"
    return f"{local.month}월 {local.day}일({weekday}) {half} {hour12}시{minutes}까지"


# --- refusals -----------------------------------------------------------------------------------------------


def too_many_reports(limit: int) -> tuple[str, str]:
    return (
        f"You can file up to {limit} reports a day. Please try again tomorrow, or call 120 for anything urgent.",
        f"신고는 하루에 {limit}건까지 할 수 있어요. 내일 다시 신고해 주시고, 급한 일은 120 민원콜센터로 전화해 주세요.",
    )


def too_many_photos_for_case(limit: int) -> tuple[str, str]:
    return (f"A report can have up to {limit} photos.", f"신고 한 건에 사진은 {limit}장까지 올릴 수 있어요.")


def too_many_photos_today(limit: int) -> tuple[str, str]:
    return (
        f"You have sent {limit} photos today without filing a report. Please file the report first.",
        f"오늘 신고하지 않은 사진을 {limit}장 보내셨어요. 먼저 신고를 마쳐 주세요.",
    )


def photo_too_large(max_bytes: int) -> tuple[str, str]:
    if max_bytes >= 1024 * 1024:
        size = f"{max_bytes / (1024 * 1024):.1f}".removesuffix(".0")
        en, ko = f"{size} MB", f"{size}메가바이트"
    else:
        size = f"{max(1, max_bytes // 1024)}"
        en, ko = f"{size} KB", f"{size}킬로바이트"
    return (
        f"That photo is too large. Please send one under {en}.",
        f"사진이 너무 커요. {ko}보다 작은 사진을 보내 주세요.",
    )


def photo_too_many_pixels(megapixels: int) -> tuple[str, str]:
    return (
        f"That photo has too many pixels. Please send one under {megapixels} megapixels.",
        f"사진 해상도가 너무 높아요. {megapixels}백만 화소보다 작은 사진을 보내 주세요.",
    )


PHOTO_NOT_IMAGE = (
    "That file is not a photo I can use. Please send a JPEG, PNG or WebP picture.",
    "사진 파일이 아니에요. 휴대전화로 찍은 사진을 그대로 보내 주세요.",
)
OUTSIDE_PAJU = (
    "That place is outside Paju. Reports can only be made for places in Paju City.",
    "파주시 밖의 위치예요. 파주시 안의 장소만 신고할 수 있어요.",
)
PLACE_NEEDED = (
    "Please tell me where it is: a place name, an address, or share your location.",
    "어디인지 알려 주세요. 장소 이름이나 주소를 말씀하시거나 위치를 보내 주세요.",
)
CONSENT_REQUIRED = (
    "To leave a callback number, please agree to how we use it first.",
    "연락처를 남기시려면 먼저 개인정보 이용에 동의해 주세요.",
)
DESCRIPTION_NEEDED = (
    "Please describe the problem in a few words (up to 500 characters).",
    "어떤 문제인지 500자 이내로 적어 주세요.",
)
NOT_YOUR_REPORT = ("Only the people who made this report can rate it.", "이 신고를 하신 분만 평가할 수 있어요.")
NOT_DONE = ("You can rate a report once it is done.", "처리가 완료된 신고만 평가할 수 있어요.")
ALREADY_RATED = ("This report has already been rated. Thank you!", "이미 평가하신 신고예요. 고맙습니다!")
INVALID_RATING = ("Please choose a score from 1 to 5.", "1점부터 5점 중에서 골라 주세요.")
PHOTO_NOT_FOUND = (
    "One of the photos could not be found. Please send it again.",
    "사진 중 하나를 찾을 수 없어요. 다시 보내 주세요.",
)
IDEMPOTENCY_KEY_REUSED = (
    "This request key was already used for a different report.",
    "이 요청 키는 이미 다른 신고에 쓰였어요.",
)


def unknown_kind(code: str) -> tuple[str, str]:
    return (f"There is no report type {code!r}.", f"'{code}' 신고 유형은 없어요.")


def place_not_found(place: str) -> tuple[str, str]:
    return (
        f"I could not find {place!r} in Paju. Please name a nearby station, landmark or district "
        "(such as Munsan-eup), or share your location.",
        f"'{place}' 위치를 찾지 못했어요. 근처 역이나 건물, 읍면동 이름(예: 문산읍)을 알려 주시거나 "
        "위치를 보내 주세요.",
    )


def report_not_found(receipt_no: str) -> tuple[str, str]:
    return (
        f"There is no report {receipt_no!r}. Receipt numbers look like PJ-2026-000123.",
        f"'{receipt_no}' 신고를 찾을 수 없어요. 접수번호는 PJ-2026-000123 형식이에요.",
    )


def filed_reply(receipt_no: str, kind_name: str, due: str, merged: bool, language: str) -> str:
    """What the citizen is told when the report is filed, or merged into a case filed before it nearby."""
    if language == "en":
        if merged:
            return (
                f"Someone reported the same problem nearby today, so we added you to report {receipt_no} "
                f"({kind_name}). You will hear about its progress too."
            )
        return f"Your report is in: {receipt_no} ({kind_name}). Expect a first answer {due}."
    if merged:
        return (
            f"오늘 근처에서 같은 문제가 이미 신고되어 {receipt_no} ({kind_name}) 신고에 함께 등록했어요. "
            "처리 상황을 똑같이 알려 드릴게요."
        )
    return f"신고가 접수되었어요. 접수번호는 {receipt_no} ({kind_name})이고, {due} 첫 답변을 드릴게요."
