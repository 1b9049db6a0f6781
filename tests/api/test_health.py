from fastapi.testclient import TestClient

from api.core.settings import Settings
from api.main import create_app


def test_health_reports_the_database_ok_and_rasa_unreachable_when_it_is_down(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "rasa": "unreachable"}


def test_health_is_503_when_the_database_server_is_down():
    # Nothing listens on port 9: the database is down, the api itself still answers.
    app = create_app(
        Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:9/paju", rasa_url="http://127.0.0.1:9")
    )
    with TestClient(app) as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
