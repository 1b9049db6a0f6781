"""The nearby-facilities route: nearest parking lots and public toilets, through the real app."""

import pytest

from api.opendata.facilities import PAJU_CITY_HALL, distance_m, load_facilities
from tests.api.conftest import SERVICE_HEADERS

GEUMCHON_STATION = {"lat": 37.7664, "lon": 126.7747}
INCHEON_AIRPORT = {"lat": 37.4602, "lon": 126.4407}


def test_haversine_distance_of_one_degree_of_latitude_is_about_111_km():
    assert distance_m(37.0, 126.8, 38.0, 126.8) == pytest.approx(111_195, abs=1)


@pytest.mark.parametrize("kind", ["parking", "toilet"])
def test_every_sample_facility_lies_inside_paju(kind):
    facilities = load_facilities(kind)
    assert len(facilities) >= 25
    for facility in facilities:
        assert 37.68 <= facility.lat <= 37.95 and 126.68 <= facility.lon <= 127.0, facility.name
        assert distance_m(*PAJU_CITY_HALL, facility.lat, facility.lon) < 30_000, facility.name


def test_the_three_nearest_parking_lots_come_nearest_first_with_their_fee_and_spaces(client):
    response = client.get(
        "/api/facilities/nearby", params={"kind": "parking", **GEUMCHON_STATION}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200
    lots = response.json()
    assert [lot["name"] for lot in lots] == ["금촌역 공영주차장", "금촌전통시장 공영주차장", "파주시청 부설주차장"]
    assert [lot["distance_m"] for lot in lots] == sorted(lot["distance_m"] for lot in lots)
    assert 50 <= lots[0]["distance_m"] <= 100
    assert lots[0] | {"distance_m": 0} == {
        "kind": "parking",
        "name": "금촌역 공영주차장",
        "name_en": "Geumchon Station Public Parking",
        "address": "경기도 파주시 금정로 27",
        "address_en": "27 Geumjeong-ro, Paju",
        "lat": 37.7668,
        "lon": 126.7752,
        "hours": "00:00-24:00",
        "spaces": 112,
        "fee_30min_won": 600,
        "distance_m": 0,
    }


def test_the_kind_picks_the_list_toilets_say_whether_they_are_accessible(client):
    params = {"kind": "toilet", "lat": 37.8893, "lon": 126.7404, "limit": 2}  # Imjingak
    toilets = client.get("/api/facilities/nearby", params=params, headers=SERVICE_HEADERS).json()
    assert [t["name"] for t in toilets] == ["임진각 관광안내소 화장실", "임진각 평화누리 공중화장실"]
    assert all(t["kind"] == "toilet" and t["accessible"] is True and "spaces" not in t for t in toilets)


def test_a_point_outside_paju_is_refused_in_the_asked_language(client):
    params = {"kind": "parking", **INCHEON_AIRPORT}
    korean = client.get("/api/facilities/nearby", params=params, headers={**SERVICE_HEADERS, "Accept-Language": "ko"})
    assert korean.status_code == 422
    assert korean.json()["code"] == "outside_paju"
    assert "파주시 안의 시설만" in korean.json()["detail"]
    english = client.get("/api/facilities/nearby", params=params, headers=SERVICE_HEADERS)
    assert "Paju City only" in english.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "library", **GEUMCHON_STATION},
        {"kind": "parking", "lat": 137.0, "lon": 126.77},
        {"kind": "parking", "lat": 37.76, "lon": 226.77},
        {"kind": "parking", "lat": "north", "lon": 126.77},
        {"kind": "parking", "lon": 126.77},
        {"kind": "toilet", **GEUMCHON_STATION, "limit": 0},
    ],
)
def test_bad_input_is_refused_with_422(client, params):
    assert client.get("/api/facilities/nearby", params=params, headers=SERVICE_HEADERS).status_code == 422


def test_the_route_needs_the_service_token(client):
    params = {"kind": "toilet", **GEUMCHON_STATION}
    assert client.get("/api/facilities/nearby", params=params).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/api/facilities/nearby", params=params, headers=wrong).status_code == 403
