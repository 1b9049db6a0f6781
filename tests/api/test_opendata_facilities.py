"""Nearby facilities by place name (the gazetteer) and from the registry's live version of each list."""

import pytest

from tests.api.conftest import SERVICE_HEADERS
from tests.api.opendata_fixtures import SEED, headers_for, seeded, upload

# Worked out by hand with the flat-earth formula d = R·√((Δλ·cos φ̄)² + Δφ²), R = 6,371 km: near enough to
# the haversine at these few kilometres to pin the order and the metres.
FROM_UNJEONG_STATION = [
    ("운정역 환승주차장", 48),
    ("운정호수공원 공영주차장", 1427),
    ("야당역 공영주차장", 1498),
    ("운정행복센터 공영주차장", 2119),
    ("가람마을 노상공영주차장", 2209),
]
FROM_MUNSAN_STATION = [("문산역 공중화장실", 37), ("문산자유시장 화장실", 386), ("파주읍 행정복지센터 화장실", 4162)]


@pytest.fixture
def opendata(client):
    return seeded(client)


def _nearby(client, **params):
    return client.get("/api/facilities/nearby", params=params, headers=SERVICE_HEADERS)


@pytest.mark.parametrize(
    ("place", "kind", "table"),
    [("운정역", "parking", FROM_UNJEONG_STATION), ("Munsan Station", "toilet", FROM_MUNSAN_STATION)],
)
def test_the_nearest_facilities_to_a_named_place_match_the_hand_computed_table(opendata, place, kind, table):
    found = _nearby(opendata, place=place, kind=kind, limit=len(table))
    assert found.status_code == 200, found.text
    assert [(f["name"], f["distance_m"]) for f in found.json()] == [
        (name, pytest.approx(metres, abs=2)) for name, metres in table
    ]


@pytest.mark.parametrize("name", ["금촌역", "Geumchon Station", "geumchon", "금촌역 근처 주차장", "GEUMCHON STATION"])
def test_a_place_is_found_by_its_korean_or_english_name(opendata, name):
    by_name = _nearby(opendata, place=name, kind="parking").json()
    by_point = _nearby(opendata, lat=37.7664, lon=126.7747, kind="parking").json()
    assert by_name == by_point and by_name[0]["name"] == "금촌역 공영주차장"


def test_the_gazetteer_knows_the_stations_imjingak_and_city_hall(opendata):
    places = opendata.get("/api/facilities/places", headers=SERVICE_HEADERS).json()
    assert {"운정역", "금촌역", "문산역", "임진각", "파주시청"} <= {p["name"] for p in places}
    [imjingak] = opendata.get("/api/facilities/places", params={"q": "Imjingak"}, headers=SERVICE_HEADERS).json()
    assert imjingak == {"name": "임진각", "name_en": "Imjingak", "lat": 37.8893, "lon": 126.7404}
    [hall] = opendata.get("/api/facilities/places", params={"q": "시청"}, headers=SERVICE_HEADERS).json()
    assert hall["name_en"] == "Paju City Hall"


def test_an_unknown_place_or_no_place_at_all_is_refused(opendata):
    unknown = _nearby(opendata, place="서울역", kind="parking")
    assert unknown.status_code == 404 and unknown.json()["code"] == "place_not_found"
    assert _nearby(opendata, kind="parking").status_code == 422
    assert _nearby(opendata, kind="parking", lat=37.76).status_code == 422


def test_a_new_upload_of_the_parking_list_is_what_the_route_reads(opendata):
    lines = (SEED / "parking_lots.csv").read_text(encoding="utf-8").splitlines()
    lines.append(
        '금촌역 앞 임시주차장,Geumchon Station Temporary Parking,경기도 파주시 금정로 1,"1 Geumjeong-ro, Paju",'
        "37.7664,126.7747,30,0,09:00-18:00"
    )
    response = upload(
        opendata, headers_for(opendata, "admin"), {"id": "paju-public-parking-sample"}, "\n".join(lines).encode()
    )
    assert response.status_code == 201, response.text
    nearest = _nearby(opendata, place="금촌역", kind="parking").json()[0]
    assert nearest["name"] == "금촌역 앞 임시주차장" and nearest["distance_m"] == 0 and nearest["fee_30min_won"] == 0
