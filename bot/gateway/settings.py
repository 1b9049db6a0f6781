"""Settings of the gateway process, read once from the environment and `.env`."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_url: str = "http://localhost:8000"
    rasa_url: str = "http://localhost:5005"
    rasa_token: str = ""  # Rasa's HTTP api (tracker events) needs it; its REST channel does not
    service_token: str = ""
    log_level: str = "INFO"
    # Longer texts are kept in the transcript but not sent to the NLU model.
    max_nlu_chars: int = Field(default=1000, gt=0)
    rasa_timeout_seconds: float = Field(default=20.0, gt=0)
    api_timeout_seconds: float = Field(default=5.0, gt=0)
    telegram_bot_token: str = ""
    telegram_base_url: str = ""  # empty: Telegram's own; tests and self-hosted Bot API servers set it
    telegram_webhook_url: str = ""  # empty: long polling
    telegram_webhook_secret: str = ""
    # Outbox delivery: how often an idle gateway asks the api for messages to send.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_batch: int = Field(default=20, ge=1, le=100)
    # Report what Rasa made of each message to the api's NLU inbox (in the background).
    nlu_inbox_reports: bool = True


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
