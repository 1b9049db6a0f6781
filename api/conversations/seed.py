"""Canned replies every fresh inbox starts with: the answers staff give most, in Korean and English.

Added by title only when missing, so an admin's edits and deletions of other replies stay; run again, it adds nothing.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversations.models import CannedReply

SEEDED_CANNED_REPLIES = (
    (
        "인사",
        "안녕하세요, 파주시 상담 직원입니다. 무엇을 도와드릴까요?",
        "Hello, this is Paju City staff. How can I help you?",
    ),
    (
        "확인 중",
        "확인해 보고 바로 알려 드릴게요. 잠시만 기다려 주세요.",
        "Let me check that for you. Please wait a moment.",
    ),
    (
        "DMZ 단체 예약",
        "DMZ 평화관광 단체 예약(20명 이상)은 희망 날짜, 인원, 대표자 연락처를 알려 주시면 관광과에서 좌석을 확인해 "
        "연락드려요.",
        "For DMZ peace tour group bookings (20 people or more), tell us the date, the number of people and a "
        "contact number: the tourism team will check the seats and get back to you.",
    ),
    (
        "예약 변경·취소",
        "예약 변경과 취소는 출발 전날까지 챗봇에서 '예약 취소' 또는 '예약 변경'이라고 쓰시면 바로 할 수 있어요.",
        "You can change or cancel a booking until the day before departure: write 'cancel booking' or "
        "'change booking' to the assistant.",
    ),
    (
        "신분증 안내",
        "DMZ 투어 당일에는 참가자 모두 신분증(외국인은 여권)을 꼭 가져오셔야 해요.",
        "On the day of a DMZ tour every participant must bring an ID card (a passport for foreign visitors).",
    ),
    (
        "담당 부서 연결",
        "이 문의는 담당 부서에서 답변드리는 것이 정확해요. 담당 부서로 넘겨 드릴게요.",
        "The responsible department can answer this best. I am passing your question on to them.",
    ),
    (
        "마무리",
        "더 궁금한 점이 없으시면 상담을 마칠게요. 이용해 주셔서 감사합니다.",
        "If there is nothing else, I will close this conversation. Thank you for contacting Paju City.",
    ),
)


def seed_canned_replies(session: Session) -> int:
    existing = set(session.scalars(select(CannedReply.title)))
    missing = [reply for reply in SEEDED_CANNED_REPLIES if reply[0] not in existing]
    for title, text_ko, text_en in missing:
        session.add(CannedReply(title=title, text_ko=text_ko, text_en=text_en))
    session.flush()
    return len(missing)
