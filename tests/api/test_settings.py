from api.core.settings import VAR_DIR, Settings


def test_defaults_put_the_database_under_var_and_leave_service_routes_closed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("DATABASE_URL", "SERVICE_TOKEN", "RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == f"sqlite:///{VAR_DIR / 'paju.db'}"
    assert settings.service_token == ""
    assert settings.rasa_url == "http://localhost:5005"


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    monkeypatch.setenv("RASA_URL", "http://rasa:5005")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1/db"
    assert settings.rasa_url == "http://rasa:5005"


def test_dotenv_file_is_read_when_present_and_environment_wins(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SERVICE_TOKEN=from-dotenv\nRASA_JWT_SECRET=rasa-from-dotenv\n")
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)
    monkeypatch.setenv("RASA_JWT_SECRET", "rasa-from-env")
    settings = Settings()
    assert settings.service_token == "from-dotenv"
    assert settings.rasa_jwt_secret == "rasa-from-env"
