"""Settings of the api process, read once from the environment and `.env`."""

from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.core.public_holidays import PublicHolidays

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
    # The city office answers handoffs on these weekdays (Monday = 0) between these times, Asia/Seoul.
    office_opens: time = time(9, 0)
    office_closes: time = time(18, 0)
    office_weekdays: list[int] = [0, 1, 2, 3, 4]
    # Days off the city adds to Korea's public holidays (which come from the `holidays` package for
    # any year), such as a temporary holiday: a JSON list of dates.
    public_holidays: list[date] = []
    # The expected wait per person ahead in the queue until there are enough recent claims to measure it.
    handoff_minutes_per_person: float = Field(default=5, gt=0)
    # Staff console cookies: Secure needs https, so it is off for the local http setup.
    console_cookie_secure: bool = False
    # The conversation view's live stream polls the database this often and ends after the maximum
    # (the browser reconnects where it left off).
    console_events_poll_seconds: float = Field(default=1.0, gt=0)
    console_events_max_seconds: float = Field(default=300, gt=0)
    # Notices: subscribers get no messages between these times (Asia/Seoul) unless the notice is urgent.
    notice_quiet_start: time = time(21, 0)
    notice_quiet_end: time = time(8, 0)
    # A certified personal notice not read within this many days is flagged for paper mail.
    personal_notice_paper_mail_days: int = Field(default=3, gt=0)
    # How one-time codes reach phones. "log" (development): the log, phone masked, and the sms_outbox table.
    sms_sender: Literal["log"] = "log"
    # Where citizens reach this api: the base of dataset and chart links in open-data answers.
    public_url: str = "http://localhost:8000"
    # The largest CSV file an admin may upload as a dataset version.
    opendata_max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    # Training (api/training). Every Rasa replica a model is loaded into, as JSON; empty: RASA_URL alone.
    rasa_urls: list[str] = []
    rasa_load_timeout_seconds: float = Field(default=300, gt=0)
    # The project Rasa learns from (config, domain.yml, data/) and the folder its models go to.
    training_project_dir: Path = PROJECT_ROOT
    training_models_dir: Path = PROJECT_ROOT / "models"
    # The Rasa config of console trainings, relative to the project folder (tests pass a tiny one).
    training_config: str = "config.yml"
    training_runs_dir: Path = VAR_DIR / "training"  # snapshots, logs and evaluations of runs
    training_rasa_env: Path = PROJECT_ROOT / ".venv-rasa"
    # Fixed messages with their expected intents that every model is tested on.
    training_regression_set: Path = PROJECT_ROOT / "tests" / "nlu" / "regression.yml"
    training_held_out_percent: int = Field(default=20, ge=5, le=50)
    training_cross_validation_folds: int = Field(default=3, ge=2, le=10)
    # The NLU inbox lists messages the model was less sure of than this.
    nlu_inbox_confidence: float = Field(default=0.6, ge=0, le=1)
    # Automation (api/automation): the scheduler loop runs inside the api process when enabled.
    scheduler_enabled: bool = False
    scheduler_tick_seconds: float = Field(default=30, gt=0)
    # A due time missed (no replica ran) is still run once when it is at most this old.
    scheduler_grace_hours: float = Field(default=6, gt=0)
    # A failed run is tried again after this, doubling each time, up to this many attempts in all.
    scheduler_retry_seconds: float = Field(default=60, gt=0)
    scheduler_max_attempts: int = Field(default=4, ge=1)
    # A run still marked running after this long died with its process and is retried.
    scheduler_stale_minutes: float = Field(default=60, gt=0)
    # Retention: transcripts are deleted after this many days, booker names and phones this long after the tour.
    transcript_retention_days: int = Field(default=180, gt=0)
    booker_retention_days: int = Field(default=90, gt=0)
    # CSV files dropped here as <dataset_id>.csv become new versions; then moved to done/ or rejected/.
    dataset_inbox_dir: Path = VAR_DIR / "inbox" / "datasets"
    # The daily report is also sent to this conversation (e.g. a staff Telegram chat that has talked to the bot).
    staff_report_channel: str | None = None
    staff_report_channel_user_id: str | None = None

    @property
    def rasa_replicas(self) -> list[str]:
        return [url.rstrip("/") for url in self.rasa_urls or [self.rasa_url]]


def public_holidays(settings: Settings) -> PublicHolidays:
    """The calendar of days off that office hours and tour closures follow."""
    return PublicHolidays.with_extra(settings.public_holidays)


@lru_cache
def get_settings() -> Settings:
    return Settings()
