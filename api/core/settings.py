"""Settings of the api process, read once from the environment and `.env`."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{VAR_DIR / 'paju.db'}"
    rasa_url: str = "http://localhost:5005"
    rasa_token: str = ""
    # Service-to-service calls (gateway, actions) carry this as a bearer token. Empty means
    # every service route refuses: there is no insecure default.
    service_token: str = ""
    # The first admin account, created at seeding when no account has that email.
    admin_email: str = ""
    admin_password: str = ""
    log_level: str = "INFO"
    health_timeout_seconds: float = Field(default=1.5, gt=0)
    max_message_chars: int = Field(default=16_384, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
