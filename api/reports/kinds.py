"""The kinds of report every city starts with, each handled by a field department; admins add more in the console."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.reports.models import ReportKind

# code, Korean name, English name, field department (api/reports/departments.py)
SEEDED_KINDS = (
    ("illegal_parking", "불법 주정차", "Illegal parking", "traffic"),
    ("streetlight", "가로등 고장", "Broken streetlight", "roads"),
    ("pothole", "도로 파손·포트홀", "Pothole or road damage", "roads"),
    ("sidewalk", "보도블록 파손", "Broken sidewalk", "roads"),
    ("traffic_light", "신호등 고장", "Broken traffic light", "traffic"),
    ("abandoned_vehicle", "방치 차량", "Abandoned vehicle", "traffic"),
    ("illegal_dumping", "쓰레기 무단투기", "Illegal dumping", "environment"),
    ("illegal_banner", "불법 현수막", "Illegal banner", "urban_design"),
    ("noise", "생활 소음", "Noise", "environment"),
    ("odor", "악취", "Bad smell", "environment"),
    ("fallen_tree", "쓰러진 나무·가로수", "Fallen tree", "parks"),
    ("park_facility", "공원 시설 파손", "Broken park facility", "parks"),
    ("water_leak", "상수도 누수", "Water leak", "water"),
    ("snow_ice", "제설·결빙", "Snow or ice on the road", "roads"),
    ("other", "기타 생활불편", "Other problem", "civil_affairs"),
)


def seed_report_kinds(session: Session) -> int:
    """Adds the seeded kinds the database lacks (the migration writes them too); an admin's changes stay."""
    existing = set(session.scalars(select(ReportKind.code)))
    missing = [kind for kind in SEEDED_KINDS if kind[0] not in existing]
    for code, name_ko, name_en, department in missing:
        session.add(ReportKind(code=code, name_ko=name_ko, name_en=name_en, department=department, active=True))
    session.flush()
    return len(missing)
