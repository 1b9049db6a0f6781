"""City notices: staff publish, edit, withdraw; Korean and English search; subscriber messages after quiet hours."""

import time as time_module
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.conversations.models import Conversation, OutboxMessage
from api.core.database import make_engine, make_sessionmaker
from api.core.migrate import upgrade
from api.notices import service
from api.notices.categories import CATEGORIES
from api.notices.models import Notice, NoticeSubscription
from api.notices.schemas import NoticeIn
from api.notices.seed import NOTICES, seed_notices
from api.staff.permissions import NOTICES_PUBLISH
from api.staff.service import create_user
from common import clock
from common.clock import SEOUL
from tests.api.conftest import SERVICE_HEADERS
from tests.support.postgres import temporary_database

PASSWORD = "correct horse battery"
DRAFT = {
    "category": "traffic",
    "department": "도로과",
    "title": "금촌로 야간 도로 포장 공사",
    "body": "금촌로 일부 구간을 밤 10시부터 새벽 5시까지 포장합니다. 우회해 주십시오.",
    "title_en": "Night paving on Geumchon-ro",
    "summary_en": "Geumchon-ro is repaved at night, 22:00 to 05:00; please take a detour.",
    "attachments": [{"title": "우회도", "url": "https://example.com/paju-sample/detour.pdf"}],
}

# Each query must find its notice among the first three (the seed's own titles).
SEARCH_QUALITY = [
    ("주차", "공영주차장 운영 안내"),
    ("공영주차장운영", "공영주차장 운영 안내"),
    ("주차장에 관한 공지", "공영주차장 운영 안내"),
    ("도로공사", "통일로 도로 공사 안내"),
    ("통일로 공사", "통일로 도로 공사 안내"),
    ("버스노선", "시내버스 노선 개편 안내"),
    ("자동차세", "제2기분 자동차세 납부 안내"),
    ("재산세 납부", "재산세 정기분 납부 안내"),
    ("장단콩축제", "파주 장단콩 축제 개최"),
    ("인삼", "파주 개성인삼축제 안내"),
    ("일자리박람회", "파주시 일자리 박람회 개최"),
    ("공공근로", "공공근로 사업 참여자 모집"),
    ("청년 월세", "청년 월세 지원 신청 안내"),
    ("기초연금 신청", "기초연금 신청 안내"),
    ("난방비", "난방비 지원 에너지바우처 신청"),
    ("무더위쉼터", "폭염 대비 무더위 쉼터 운영"),
    ("한파", "한파 쉼터 운영 안내"),
    ("산불", "산불 조심 기간 입산 통제"),
    ("여권", "여권 발급 접수 시간 연장 운영"),
    ("전입신고", "전입신고 온라인 신청 안내"),
    ("출렁다리 야간", "마장호수 출렁다리 야간 개방"),
    ("민방위", "민방위 훈련 실시 안내"),
    ("독감 예방접종", "어르신 독감 예방접종 무료 실시"),
    ("불법주정차", "불법 주정차 단속 강화 안내"),
    ("임진강 수위", "임진강 수위 상승 하천변 출입 통제"),
    ("parking", "공영주차장 운영 안내"),
    ("road works", "통일로 도로 공사 안내"),
    ("property tax", "재산세 정기분 납부 안내"),
    ("job fair", "파주시 일자리 박람회 개최"),
    ("heatwave", "폭염 대비 무더위 쉼터 운영"),
    ("bean festival", "파주 장단콩 축제 개최"),
    ("passport", "여권 발급 접수 시간 연장 운영"),
    ("flu shots", "어르신 독감 예방접종 무료 실시"),
    ("rent support", "청년 월세 지원 신청 안내"),
    ("DMZ tour", "DMZ 평화관광 운영 일정 변경 안내"),
]


@pytest.fixture(scope="module")
def seeded_session(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('notices') / 'paju.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_notices(session)
        session.commit()
        yield session
    engine.dispose()


@pytest.fixture
def staff(client) -> dict[str, str]:
    with client.app.state.sessionmaker() as session:
        create_user(session, "news@paju.go.kr", "공지담당", PASSWORD, permissions=[NOTICES_PUBLISH])
    token = client.post("/api/auth/sign-in", json={"email": "news@paju.go.kr", "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(client):
    with client.app.state.sessionmaker() as session:
        seed_notices(session)
        session.commit()


def _say(client, user: str, language: str = "ko", channel: str = "telegram") -> None:
    body = {"channel": channel, "channel_user_id": user, "text": "안녕하세요", "language": language}
    assert client.post("/api/conversations/messages", json=body, headers=SERVICE_HEADERS).status_code == 201


def _subscribe(client, user: str, category: str, language: str = "ko") -> None:
    _say(client, user, language)
    body = {"channel": "telegram", "channel_user_id": user, "category": category, "consent_text": "공지 알림 수신 동의"}
    assert client.post("/api/notice-subscriptions", json=body, headers=SERVICE_HEADERS).status_code == 201


def _notice_messages(session: Session, notice_id: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedupe_key.startswith(f"notice:{notice_id}:"))
            .order_by(OutboxMessage.id)
        )
    )


def _seoul(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SEOUL)


# --- search ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "title"), SEARCH_QUALITY)
def test_a_search_finds_its_notice_in_the_top_three(seeded_session, query, title):
    found, _total = service.find(seeded_session, query, size=3)
    assert title in [n.title for n in found], (query, [n.title for n in found])


def test_the_search_quality_table_is_large_enough_and_every_search_is_fast(seeded_session):
    assert len(NOTICES) >= 40
    assert len(SEARCH_QUALITY) >= 20
    started = time_module.perf_counter()
    for query, _title in SEARCH_QUALITY:
        service.find(seeded_session, query, size=3)
    assert (time_module.perf_counter() - started) / len(SEARCH_QUALITY) < 0.05


def test_korean_search_over_http_is_ranked_paged_and_filtered(client, seeded):
    first = client.get("/api/notices", params={"q": "주차", "size": 2})
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == "4"
    assert first.json()[0]["title"] == "공영주차장 운영 안내"
    second = client.get("/api/notices", params={"q": "주차", "size": 2, "page": 2}).json()
    assert len(second) == 2 and not {n["id"] for n in second} & {n["id"] for n in first.json()}
    welfare_only = client.get("/api/notices", params={"q": "주차", "category": "tax"})
    assert welfare_only.json() == [] and welfare_only.headers["X-Total-Count"] == "0"
    english = client.get("/api/notices", params={"q": "road works"}, headers={"Accept-Language": "en"}).json()
    assert english[0]["title"] == "통일로 도로 공사 안내"
    assert english[0]["category_name"] == "Traffic and roads"
    assert client.get("/api/notices", params={"q": "no such thing at all"}).json() == []


def test_without_a_query_the_newest_come_first_and_dates_filter(client, seeded):
    newest = client.get("/api/notices", params={"size": 50})
    assert newest.headers["X-Total-Count"] == str(len(NOTICES))
    published = [n["published_at"] for n in newest.json()]
    assert published == sorted(published, reverse=True)
    assert newest.json()[0]["title"] == "DMZ 평화관광 운영 일정 변경 안내"
    today = clock.today()
    week = client.get("/api/notices", params={"from": str(today - timedelta(days=6)), "to": str(today), "size": 50})
    assert {n["title"] for n in week.json()} >= {"공영주차장 운영 안내", "통일로 도로 공사 안내"}
    assert "재산세 정기분 납부 안내" not in {n["title"] for n in week.json()}
    safety = client.get("/api/notices", params={"category": "safety", "size": 50}).json()
    assert {n["category"] for n in safety} == {"safety"} and all(n["urgent"] for n in safety)


def test_notices_seeded_after_midnight_are_all_listed_at_once_and_none_from_the_future(database_url):
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        just_after_midnight = _seoul(2027, 1, 1, 0, 30)
        seed_notices(session, just_after_midnight)
        session.commit()
        listed, total = service.find(session, None, size=100, now=just_after_midnight)
        assert total == len(NOTICES)
        assert max(n.published_at for n in listed) <= just_after_midnight
    engine.dispose()


def test_the_categories_are_named_in_the_callers_language(client):
    english = client.get("/api/notices/categories", headers={"Accept-Language": "en"}).json()
    assert [c["code"] for c in english] == list(CATEGORIES)
    assert english[2] == {"code": "traffic", "name": "Traffic and roads", "urgent": False}
    korean = client.get("/api/notices/categories", headers={"Accept-Language": "ko-KR"}).json()
    assert korean[7] == {"code": "safety", "name": "안전", "urgent": True}


def test_the_action_server_also_gets_both_names_and_the_words_that_name_each_category(client):
    categories = client.get("/api/notices/categories", headers={"Accept-Language": "en", **SERVICE_HEADERS}).json()
    assert categories[2] == {
        "code": "traffic",
        "name": "Traffic and roads",
        "urgent": False,
        "name_ko": "교통·도로",
        "name_en": "Traffic and roads",
        "words": ["교통", "도로", "traffic", "road"],
    }


# --- staff: publish, edit, withdraw -------------------------------------------------------------------------


def test_staff_write_publish_edit_and_withdraw_a_notice(client, staff):
    created = client.post("/api/notices", json=DRAFT, headers=staff)
    assert created.status_code == 201, created.text
    notice = created.json()["notice"]
    assert notice["status"] == "draft" and notice["published_at"] is None
    assert notice["summary"].startswith("금촌로 일부 구간을")  # the body's beginning stands in
    assert client.get(f"/api/notices/{notice['id']}").status_code == 404  # a draft is not public
    assert client.get("/api/notices", params={"q": "포장 공사"}).json() == []

    published = client.post(f"/api/notices/{notice['id']}/publish", headers=staff).json()
    assert published["notice"]["status"] == "published" and published["messages_queued"] == 0
    assert client.get(f"/api/notices/{notice['id']}").json()["attachments"] == DRAFT["attachments"]
    assert [n["id"] for n in client.get("/api/notices", params={"q": "포장공사"}).json()] == [notice["id"]]

    edited = client.patch(
        f"/api/notices/{notice['id']}", json=DRAFT | {"title": "금촌로 야간 포장 일정 변경"}, headers=staff
    )
    assert edited.status_code == 200 and edited.json()["status"] == "published"
    assert [n["id"] for n in client.get("/api/notices", params={"q": "일정 변경 금촌로"}).json()] == [notice["id"]]

    withdrawn = client.post(f"/api/notices/{notice['id']}/withdraw", headers=staff).json()
    assert withdrawn["status"] == "withdrawn"
    assert client.get(f"/api/notices/{notice['id']}", headers={"Accept-Language": "ko"}).json()["code"] == (
        "notice_not_found"
    )
    assert client.get("/api/notices", params={"q": "금촌로"}).json() == []
    again = client.post(f"/api/notices/{notice['id']}/publish", headers=staff)
    assert again.status_code == 409 and again.json()["code"] == "notice_withdrawn"
    assert client.patch(f"/api/notices/{notice['id']}", json=DRAFT, headers=staff).status_code == 409


def test_only_signed_in_staff_write_notices(client, staff):
    notice_id = client.post("/api/notices", json=DRAFT, headers=staff).json()["notice"]["id"]
    for headers in ({}, SERVICE_HEADERS, {"Authorization": "Bearer forged"}):
        assert client.post("/api/notices", json=DRAFT, headers=headers).status_code == 401
        assert client.patch(f"/api/notices/{notice_id}", json=DRAFT, headers=headers).status_code == 401
        assert client.post(f"/api/notices/{notice_id}/publish", headers=headers).status_code == 401
        assert client.post(f"/api/notices/{notice_id}/withdraw", headers=headers).status_code == 401
        assert client.get("/api/personal-notices/1/certificate", headers=headers).status_code == 401
    assert client.get(f"/api/notices/{notice_id}").status_code == 404  # still a draft


@pytest.mark.parametrize(
    "change",
    [
        {"category": "sports"},
        {"title": ""},
        {"body": " "},
        {"attachments": [{"title": "파일", "url": "not a link"}]},
        {"expires_at": "2020-01-01T00:00:00+09:00"},
        {"expires_at": "2030-01-01T00:00:00"},  # no time zone
    ],
)
def test_bad_notices_are_refused_and_nothing_is_written(client, staff, change):
    response = client.post("/api/notices", json=DRAFT | change, headers=staff)
    assert response.status_code == 422, response.text
    assert client.app.state.sessionmaker().scalar(select(func.count()).select_from(Notice)) == 0


def test_an_expired_notice_is_no_longer_listed(client, staff):
    with client.app.state.sessionmaker() as session:
        notice = service.create(session, NoticeIn(**DRAFT), None)
        service.publish(session, notice.id)
        notice.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.commit()
    assert client.get(f"/api/notices/{notice.id}").status_code == 404
    assert client.get("/api/notices", params={"q": "포장"}).json() == []


# --- subscriptions and subscriber messages --------------------------------------------------------------------


def test_a_citizen_subscribes_with_recorded_consent_lists_and_unsubscribes(client):
    _say(client, "7")
    body = {"channel": "telegram", "channel_user_id": "7", "consent_text": "교통·도로 공지를 받는 데 동의합니다"}
    before = datetime.now(UTC)
    for category in ("traffic", "safety"):
        assert (
            client.post(
                "/api/notice-subscriptions", json=body | {"category": category}, headers=SERVICE_HEADERS
            ).status_code
            == 201
        )
    params = {"channel": "telegram", "channel_user_id": "7"}
    listed = client.get(
        "/api/notice-subscriptions", params=params, headers=SERVICE_HEADERS | {"Accept-Language": "ko"}
    ).json()
    assert [s["category_name"] for s in listed] == ["교통·도로", "안전"]
    assert datetime.fromisoformat(listed[0]["consented_at"]) >= before
    with client.app.state.sessionmaker() as session:
        consent = session.scalar(
            select(NoticeSubscription.consent_text).where(NoticeSubscription.category == "traffic")
        )
        assert consent == body["consent_text"]

    left = client.delete("/api/notice-subscriptions", params=params | {"category": "traffic"}, headers=SERVICE_HEADERS)
    assert [s["category"] for s in left.json()] == ["safety"]
    assert client.delete("/api/notice-subscriptions", params=params, headers=SERVICE_HEADERS).json() == []
    assert client.get("/api/notice-subscriptions", params=params, headers=SERVICE_HEADERS).json() == []
    unknown = {"channel": "telegram", "channel_user_id": "nobody"}
    assert client.get("/api/notice-subscriptions", params=unknown, headers=SERVICE_HEADERS).json() == []
    assert (
        client.post(
            "/api/notice-subscriptions", json=body | {"category": "sports"}, headers=SERVICE_HEADERS
        ).status_code
        == 422
    )
    assert client.get("/api/notice-subscriptions", params=params).status_code == 401


def test_subscribers_get_a_verified_card_in_their_language_and_others_nothing(client, staff):
    _subscribe(client, "ko-reader", "traffic")
    _subscribe(client, "en-reader", "traffic", language="en")
    _subscribe(client, "tax-reader", "tax")
    _subscribe(client, "gone", "traffic")
    client.delete(
        "/api/notice-subscriptions", params={"channel": "telegram", "channel_user_id": "gone"}, headers=SERVICE_HEADERS
    )
    with client.app.state.sessionmaker() as session:
        notice = service.create(session, NoticeIn(**DRAFT), None)
        noon = _seoul(2026, 12, 1, 12)
        _, written = service.publish(session, notice.id, now=noon)
        assert written == 2
        messages = _notice_messages(session, notice.id)
        by_user = {m.conversation.channel_user_id: m for m in messages}
        assert set(by_user) == {"ko-reader", "en-reader"}
        korean, english = by_user["ko-reader"].message, by_user["en-reader"].message
        assert korean.text.splitlines() == [
            service.VERIFIED_HEADER,
            "[교통·도로] 금촌로 야간 도로 포장 공사",
            "금촌로 일부 구간을 밤 10시부터 새벽 5시까지 포장합니다. 우회해 주십시오.",
        ]
        assert korean.payload["buttons"] == [
            {"title": "자세히 보기", "payload": f'/notice_read{{"notice_id":"{notice.id}"}}'}
        ]
        assert english.text.splitlines()[1:] == ["[Traffic and roads] Night paving on Geumchon-ro", DRAFT["summary_en"]]
        assert english.payload["buttons"][0]["title"] == "Read more"
        assert all(m.kind == "notice" and m.status == "pending" for m in messages)


def test_publishing_to_1000_subscribers_writes_1000_messages_and_publishing_again_none(client):
    with client.app.state.sessionmaker() as session:
        session.execute(
            insert(Conversation), [{"channel": "telegram", "channel_user_id": f"s{i}"} for i in range(1000)]
        )
        ids = session.scalars(select(Conversation.id).where(Conversation.channel_user_id.startswith("s"))).all()
        session.execute(
            insert(NoticeSubscription),
            [{"conversation_id": i, "category": "culture", "consent_text": "동의"} for i in ids],
        )
        session.commit()
        notice = service.create(session, NoticeIn(**DRAFT | {"category": "culture"}), None)

        started = time_module.perf_counter()
        _, written = service.publish(session, notice.id, now=_seoul(2026, 12, 1, 10))
        elapsed = time_module.perf_counter() - started
        assert written == 1000
        _, written_again = service.publish(session, notice.id, now=_seoul(2026, 12, 1, 10, 5))
        assert written_again == 0
        count = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "notice"))
        assert count == 1000
        assert len({m.conversation_id for m in _notice_messages(session, notice.id)}) == 1000
    print(f"publish to 1000 subscribers: {elapsed:.2f} s")
    assert elapsed < 20


@pytest.mark.parametrize(
    ("at", "held_until"),
    [
        ((2026, 12, 1, 20, 59), None),
        ((2026, 12, 1, 21, 0), (2026, 12, 2, 8, 0)),
        ((2026, 12, 1, 23, 30), (2026, 12, 2, 8, 0)),
        ((2026, 12, 2, 3, 0), (2026, 12, 2, 8, 0)),
        ((2026, 12, 2, 7, 59), (2026, 12, 2, 8, 0)),
        ((2026, 12, 2, 8, 0), None),
    ],
)
def test_quiet_hours_last_from_nine_in_the_evening_to_eight_in_the_morning(at, held_until):
    expected = _seoul(*held_until) if held_until else None
    assert service.QuietHours().hold_until(_seoul(*at)) == expected


def test_a_notice_published_at_night_waits_for_the_morning_unless_it_is_about_safety(client):
    _subscribe(client, "night-owl", "traffic")
    _subscribe(client, "night-owl", "safety")
    night = _seoul(2026, 12, 1, 23, 10)
    with client.app.state.sessionmaker() as session:
        roads = service.create(session, NoticeIn(**DRAFT), None)
        flood = service.create(session, NoticeIn(**DRAFT | {"category": "safety", "title": "하천변 출입 통제"}), None)
        service.publish(session, roads.id, now=night)
        service.publish(session, flood.id, now=night)
        [held] = _notice_messages(session, roads.id)
        [urgent] = _notice_messages(session, flood.id)
        assert held.next_attempt_at == _seoul(2026, 12, 2, 8, 0)
        assert urgent.next_attempt_at <= datetime.now(UTC)
        assert "[안전 · 긴급] 하천변 출입 통제" in urgent.message.text


def test_withdrawing_a_notice_stops_the_messages_still_held_for_the_morning(client):
    _subscribe(client, "sleeper", "traffic")
    with client.app.state.sessionmaker() as session:
        notice = service.create(session, NoticeIn(**DRAFT), None)
        service.publish(session, notice.id, now=_seoul(2026, 12, 1, 22, 0))
        service.withdraw(session, notice.id)
        [message] = _notice_messages(session, notice.id)
        assert message.status == "cancelled"


def test_the_seed_adds_only_what_is_missing(client):
    with client.app.state.sessionmaker() as session:
        assert seed_notices(session, _seoul(2026, 12, 1, 10)) == len(NOTICES)
        session.commit()
        assert seed_notices(session, _seoul(2026, 12, 2, 10)) == 0
        first = session.scalar(select(Notice).where(Notice.title == "DMZ 평화관광 운영 일정 변경 안내"))
        assert first.published_at == datetime.combine(date(2026, 12, 1), time(9, 0), SEOUL)
        # Sample links only: nothing points at a real city page.
        assert all(url.startswith("https://example.com/") for n in NOTICES for _title, url in n.attachments)


@pytest.mark.postgres
def test_search_and_publishing_work_the_same_on_postgresql():
    with temporary_database() as url:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            seed_notices(session)
            session.commit()
            for query, title in SEARCH_QUALITY:
                found, _total = service.find(session, query, size=3)
                assert title in [n.title for n in found], (query, [n.title for n in found])
            conversation = Conversation(channel="telegram", channel_user_id="pg")
            session.add(conversation)
            session.flush()
            session.add(NoticeSubscription(conversation_id=conversation.id, category="traffic", consent_text="동의"))
            session.commit()
            notice = service.create(session, NoticeIn(**DRAFT), None)
            assert service.publish(session, notice.id)[1] == 1
            assert service.publish(session, notice.id)[1] == 0
            assert service.withdraw(session, notice.id).status == "withdrawn"
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_publications_at_once_still_message_each_subscriber_once(backend, tmp_path):
    def run(url: str) -> None:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            session.execute(
                insert(Conversation), [{"channel": "telegram", "channel_user_id": f"c{i}"} for i in range(200)]
            )
            ids = session.scalars(select(Conversation.id)).all()
            session.execute(
                insert(NoticeSubscription),
                [{"conversation_id": i, "category": "jobs", "consent_text": "동의"} for i in ids],
            )
            session.commit()
            notice_id = service.create(session, NoticeIn(**DRAFT | {"category": "jobs"}), None).id

        def publish(_: int) -> None:
            with Session(engine) as session:
                service.publish(session, notice_id, now=_seoul(2026, 12, 1, 10))

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(publish, range(2)))
        with Session(engine) as session:
            assert len(_notice_messages(session, notice_id)) == 200
        engine.dispose()

    if backend == "sqlite":
        run(f"sqlite:///{tmp_path / 'paju.db'}")
    else:
        with temporary_database() as url:
            run(url)
