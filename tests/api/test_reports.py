"""Citizen reports over the api: filing by place or point, receipt numbers, deadlines in working hours, duplicates
merged, the daily limit, idempotency, a case's public view and the citizen's list."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from api.conversations.service import get_or_create_conversation
from api.reports.models import ReportCase, ReportReporter
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS

# Wednesday 2 December 2026, 10:00 in Seoul: an ordinary working morning.
WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)
CITY_HALL = (37.7599, 126.7800)
METRE_IN_LATITUDE = 1 / 111_195  # degrees of latitude per metre
KO = {**SERVICE_HEADERS, "Accept-Language": "ko"}
EN = {**SERVICE_HEADERS, "Accept-Language": "en"}


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + metres * METRE_IN_LATITUDE, point[1]


def file(client, user: str = "1001", kind: str = "illegal_parking", *, point=None, place=None, headers=KO, **extra):
    body = {"channel": "telegram", "channel_user_id": user, "kind": kind, "description": "차가 인도에 서 있어요"}
    if point:
        body["latitude"], body["longitude"] = point
    if place:
        body["place"] = place
    body |= extra
    return client.post("/api/reports", json=body, headers=headers)


def count_cases(client) -> int:
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(ReportCase))


# --- filing ---------------------------------------------------------------------------------------------------


def test_a_report_at_a_typed_place_is_received_with_its_district_and_a_receipt_number(client, clock):
    filed = file(client, place="문산읍", kind="streetlight")
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["receipt_no"] == "PJ-2026-000001"
    assert body["kind_name"] == "가로등 고장"
    assert body["department"] == "roads"
    assert body["department_name"] == "도로관리과"
    assert body["status"] == "received"
    assert body["status_name"] == "접수"
    assert body["place_name"] == "문산읍"
    assert body["district"] == "문산읍"
    assert body["merged"] is False
    assert "PJ-2026-000001" in body["message"]


@pytest.mark.parametrize("place", ["운정3동", "교하동", "금촌2동", "탄현면", "금촌2동 주민센터 앞"])
def test_every_district_a_citizen_types_is_found(client, clock, place):
    filed = file(client, place=place, kind="pothole")
    assert filed.status_code == 201, filed.text
    assert filed.json()["district"] == place.split()[0]


def test_a_report_at_a_shared_point_gets_the_nearest_district(client, clock):
    filed = file(client, point=CITY_HALL)
    assert filed.status_code == 201
    assert filed.json()["district"] == "금촌1동"
    assert filed.json()["place_name"] is None


@pytest.mark.parametrize(
    "point",
    [(37.5663, 126.9779), (37.6760, 126.7470), (37.9700, 126.5500)],
    ids=["Seoul City Hall", "Ilsan, Goyang, next door", "Kaesong, across the border"],
)
def test_a_point_outside_paju_is_refused_in_the_citizens_language(client, clock, point):
    refused = file(client, point=point, headers=EN)
    assert refused.status_code == 422
    assert refused.json()["code"] == "outside_paju"
    assert "outside Paju" in refused.json()["detail"]
    assert count_cases(client) == 0


def test_an_unknown_place_an_unknown_kind_and_no_place_at_all_are_refused_plainly(client, clock):
    unknown_place = file(client, place="달나라 정류장")
    assert (unknown_place.status_code, unknown_place.json()["code"]) == (422, "place_not_found")
    assert "달나라 정류장" in unknown_place.json()["detail"]
    unknown_kind = file(client, kind="ufo_sighting", place="문산읍", headers=EN)
    assert (unknown_kind.status_code, unknown_kind.json()["code"]) == (422, "unknown_report_kind")
    nowhere = file(client)
    assert (nowhere.status_code, nowhere.json()["code"]) == (422, "place_required")
    assert count_cases(client) == 0


def test_a_callback_number_without_consent_is_refused_and_with_consent_it_is_kept_normalised(client, clock):
    refused = file(client, place="문산읍", callback_phone="010-1234-5678")
    assert (refused.status_code, refused.json()["code"]) == (422, "consent_required")
    consent = client.get("/api/reports/consent", headers=KO).json()
    assert consent["retention_days"] == 30
    assert "30일" in consent["text"]
    filed = file(client, place="문산읍", callback_phone="010-1234-5678", consent_text=consent["text"])
    assert filed.status_code == 201
    with client.app.state.sessionmaker() as session:
        case = session.scalar(select(ReportCase))
        assert case.callback_phone == "01012345678"
        assert case.consent_text == consent["text"]
        assert case.consented_at is not None


def test_the_kinds_list_names_every_seeded_kind_and_its_department_in_the_language_asked(client):
    kinds = client.get("/api/reports/kinds", headers=EN).json()
    assert len(kinds) == 15
    assert kinds[0] == {
        "code": "illegal_parking",
        "name": "Illegal parking",
        "department": "traffic",
        "department_name": "Traffic Administration",
    }
    assert kinds[-1]["code"] == "other"
    assert client.get("/api/reports/kinds", headers=KO).json()[0]["name"] == "불법 주정차"


def test_the_receipt_number_carries_the_seoul_year_of_filing(client):
    # 00:30 on 1 January in Seoul is still 31 December in UTC.
    with time_machine.travel(datetime(2027, 1, 1, 0, 30, tzinfo=SEOUL), tick=False):
        filed = file(client, place="교하동")
    assert filed.json()["receipt_no"] == "PJ-2027-000001"


# --- the first-answer deadline ------------------------------------------------------------------------------------


def test_the_first_answer_is_due_within_the_departments_working_hours_on_the_same_day(client, clock):
    filed = file(client, place="문산읍", kind="illegal_parking")  # traffic: 4 working hours
    assert datetime.fromisoformat(filed.json()["due_at"]) == datetime(2026, 12, 2, 14, 0, tzinfo=SEOUL)
    assert filed.json()["due_text"] == "12월 2일(수) 오후 2시까지"


def test_the_deadline_skips_the_christmas_holiday_and_the_weekend(client):
    # Thursday 24 December, 16:00: two working hours that day, then Christmas (Friday) and the weekend.
    with time_machine.travel(datetime(2026, 12, 24, 16, 0, tzinfo=SEOUL), tick=False):
        filed = file(client, place="문산읍", kind="illegal_parking", headers=EN)
    assert datetime.fromisoformat(filed.json()["due_at"]) == datetime(2026, 12, 28, 11, 0, tzinfo=SEOUL)
    assert filed.json()["due_text"] == "by Mon 28 Dec, 11 am"


def test_a_report_filed_at_night_is_counted_from_the_next_opening(client):
    with time_machine.travel(datetime(2026, 12, 2, 22, 15, tzinfo=SEOUL), tick=False):
        filed = file(client, place="문산읍", kind="park_facility")  # parks: 16 working hours
    assert datetime.fromisoformat(filed.json()["due_at"]) == datetime(2026, 12, 4, 16, 0, tzinfo=SEOUL)


# --- duplicates, the daily limit, idempotency --------------------------------------------------------------------


def test_the_same_problem_reported_30_metres_away_the_same_day_joins_the_first_case(client, clock):
    first = file(client, "1001", point=CITY_HALL).json()
    second = file(client, "2002", point=north_of(CITY_HALL, 30), headers=EN)
    assert second.status_code == 201
    assert second.json()["merged"] is True
    assert second.json()["receipt_no"] == first["receipt_no"]
    assert "added you" in second.json()["message"]
    assert count_cases(client) == 1
    with client.app.state.sessionmaker() as session:
        reporters = session.scalars(select(ReportReporter).order_by(ReportReporter.id)).all()
        assert [reporter.merged for reporter in reporters] == [False, True]


def test_reports_80_metres_apart_or_of_another_kind_are_separate_cases(client, clock):
    first = file(client, "1001", point=CITY_HALL).json()
    farther = file(client, "2002", point=north_of(CITY_HALL, 80)).json()
    other_kind = file(client, "3003", kind="illegal_dumping", point=CITY_HALL).json()
    assert not farther["merged"] and not other_kind["merged"]
    assert len({first["receipt_no"], farther["receipt_no"], other_kind["receipt_no"]}) == 3


def test_the_same_place_reported_the_next_day_is_a_new_case(client, clock):
    first = file(client, "1001", point=CITY_HALL).json()
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))
    next_day = file(client, "2002", point=CITY_HALL).json()
    assert next_day["merged"] is False
    assert next_day["receipt_no"] != first["receipt_no"]


def test_a_fourth_report_on_one_day_is_refused_in_the_citizens_language(client, clock):
    for metres in (0, 500, 1000):
        assert file(client, "1001", point=north_of(CITY_HALL, metres)).status_code == 201
    refused_ko = file(client, "1001", point=north_of(CITY_HALL, 1500))
    assert refused_ko.status_code == 429
    assert refused_ko.json()["code"] == "too_many_reports"
    assert "하루에 3건" in refused_ko.json()["detail"]
    refused_en = file(client, "1001", point=north_of(CITY_HALL, 1500), headers=EN)
    assert "3 reports a day" in refused_en.json()["detail"]
    assert count_cases(client) == 3
    assert file(client, "2002", point=north_of(CITY_HALL, 1500)).status_code == 201  # another citizen may
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))
    assert file(client, "1001", point=north_of(CITY_HALL, 2000)).status_code == 201  # and they may tomorrow


def test_a_merge_counts_towards_the_daily_limit(client, clock):
    file(client, "1001", point=CITY_HALL)
    for metres in (0, 500, 1000):
        assert file(client, "2002", point=north_of(CITY_HALL, metres)).status_code == 201
    assert file(client, "2002", point=north_of(CITY_HALL, 1500)).status_code == 429


def test_the_same_request_sent_twice_files_one_case(client, clock):
    key = {"Idempotency-Key": "chat-7f3a9c"}
    first = client.post(
        "/api/reports",
        json={
            "channel": "web",
            "channel_user_id": "w1",
            "kind": "noise",
            "description": "공사 소음",
            "place": "운정3동",
        },
        headers=KO | key,
    )
    again = client.post(
        "/api/reports",
        json={
            "channel": "web",
            "channel_user_id": "w1",
            "kind": "noise",
            "description": "공사 소음",
            "place": "운정3동",
        },
        headers=KO | key,
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["receipt_no"] == first.json()["receipt_no"]
    assert count_cases(client) == 1
    reused = client.post(
        "/api/reports",
        json={"channel": "web", "channel_user_id": "w1", "kind": "odor", "description": "악취", "place": "운정3동"},
        headers=KO | key,
    )
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


def test_a_citizen_who_reports_the_same_spot_again_gets_their_own_case_back_without_using_their_limit(client, clock):
    first = file(client, "1001", point=CITY_HALL).json()
    for _ in range(4):
        again = file(client, "1001", point=north_of(CITY_HALL, 10))
        assert again.status_code == 201
        assert again.json()["receipt_no"] == first["receipt_no"]
    assert count_cases(client) == 1


def test_a_description_that_is_empty_or_too_long_is_refused(client, clock):
    empty = file(client, place="문산읍", description="   ")
    assert (empty.status_code, empty.json()["code"]) == (422, "invalid_report")
    too_long = file(client, place="문산읍", description="가" * 501, headers=EN)
    assert "500 characters" in too_long.json()["detail"]
    assert count_cases(client) == 0


# --- reading --------------------------------------------------------------------------------------------------------


def test_a_case_is_shown_by_its_receipt_number_without_phone_or_description(client, clock):
    receipt_no = file(
        client, place="금촌2동", callback_phone="01099998888", consent_text="동의합니다", kind="sidewalk"
    ).json()["receipt_no"]
    shown = client.get(f"/api/reports/{receipt_no}", headers=EN)
    assert shown.status_code == 200
    body = shown.json()
    assert body["kind_name"] == "Broken sidewalk"
    assert body["status_name"] == "received"
    assert body["district"] == "금촌2동"
    assert body["district_name"] == "Geumchon 2-dong"
    assert body["photos"] == 0
    assert body["rating"] is None
    assert [step["status"] for step in body["history"]] == ["received"]
    assert "01099998888" not in shown.text
    assert "phone" not in shown.text
    # Typed in lower case with a space, it is the same case.
    assert client.get(f"/api/reports/{receipt_no.lower()} ", headers=EN).json()["receipt_no"] == receipt_no


@pytest.mark.parametrize("receipt_no", ["PJ-2026-999999", "PJ-2026-1", "hello", "PJ-2026-000001%27--", "1" * 300])
def test_an_unknown_or_malformed_receipt_number_is_not_found(client, clock, receipt_no):
    file(client, place="문산읍")
    missing = client.get(f"/api/reports/{receipt_no}", headers=KO)
    assert missing.status_code == 404
    assert missing.json()["code"] == "report_not_found"
    assert "접수번호" in missing.json()["detail"]


def test_a_citizen_lists_their_own_cases_newest_first(client, clock):
    older = file(client, "1001", place="문산읍").json()["receipt_no"]
    clock.move_to(WEDNESDAY_10 + timedelta(hours=1))
    newer = file(client, "1001", place="교하동", kind="odor").json()["receipt_no"]
    file(client, "2002", place="탄현면")
    listed = client.get("/api/reports", params={"channel": "telegram", "channel_user_id": "1001"}, headers=KO)
    assert [case["receipt_no"] for case in listed.json()] == [newer, older]
    assert listed.json()[0]["kind_name"] == "악취"
    assert listed.json()[0]["rated"] is False
    nobody = client.get("/api/reports", params={"channel": "telegram", "channel_user_id": "9999"}, headers=KO)
    assert nobody.json() == []


def test_report_routes_need_the_service_token(client):
    assert client.get("/api/reports/kinds").status_code in (401, 403)
    assert client.post("/api/reports", json={}).status_code in (401, 403)


def test_a_filed_report_keeps_the_citizens_language_for_later_messages(client, clock):
    with client.app.state.sessionmaker() as session:
        conversation = get_or_create_conversation(session, "telegram", "en-user")
        conversation.preferred_language = "en"
        session.commit()
    file(client, "en-user", place="문산읍", headers=EN)
    with client.app.state.sessionmaker() as session:
        assert session.scalar(select(ReportCase.language)) == "en"
