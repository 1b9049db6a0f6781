"""Settings of the api process, read once from the environment and `.env`."""

from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import limits
from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.core.public_holidays import PublicHolidays

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"


def _rate_limit(text: str) -> str:
    limits.parse(text)  # refused at start-up, with the limits library's own reason, if it does not parse
    return text


RateLimitText = Annotated[str, AfterValidator(_rate_limit)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{VAR_DIR / 'paju.db'}"
    rasa_url: str = "http://localhost:5005"
    # Signs the short-lived JWT the training console shows Rasa's HTTP api (common/rasa_auth.py): a header, so
    # no secret lands in a URL or an error message. Empty: Rasa refuses those calls.
    rasa_jwt_secret: str = ""
    # Service-to-service calls (gateway, actions) carry this as a bearer token. Empty means
    # every service route refuses: there is no insecure default.
    service_token: str = ""
    # The first admin account, created at seeding when no account has that email.
    admin_email: str = ""
    admin_password: str = ""
    # Admins sign in with a code from an authenticator app after their password, enrolled at their first
    # sign-in. Only for local development may it be switched off.
    admin_totp_required: bool = True
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
    # How one-time codes reach phones. "log" (development): the log and the sms_outbox table, phone and code
    # masked, so the code reaches nobody. "http": a provider's HTTP API (api/identity/sms.py says its shape).
    sms_sender: Literal["log", "http"] = "log"
    sms_api_url: str = ""
    sms_api_key: SecretStr = SecretStr("")
    sms_from: str = ""  # the sender number registered with the provider (발신번호), e.g. 0319404114
    # The code screen waits for the provider; a slow one means "could not send", not a hung chat.
    sms_connect_timeout_seconds: float = Field(default=3, gt=0)
    sms_timeout_seconds: float = Field(default=5, gt=0)
    # Where citizens reach this api: the base of dataset and chart links in open-data answers.
    public_url: str = "http://localhost:8000"
    # The largest CSV file an admin may upload as a dataset version.
    opendata_max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    # Training (api/training). Every Rasa replica, as JSON; empty: RASA_URL alone. The console shows which model
    # each runs (they pull it themselves).
    rasa_urls: list[str] = []
    # The project Rasa learns from (config, domain/, data/) and the folder its models go to.
    training_project_dir: Path = PROJECT_ROOT
    training_models_dir: Path = PROJECT_ROOT / "models"
    # The model file Rasa replicas pull while the console has activated none; unset: current.tar.gz in the models
    # folder. A test stack names the model it was given.
    training_live_model: Path | None = None
    # How often every Rasa replica asks for the live model (scripts/run-rasa gives Rasa the same MODEL_PULL_SECONDS):
    # the console says a switch reaches them all within it.
    model_pull_seconds: int = Field(default=10, gt=0)
    # The Rasa config of console trainings, relative to the project folder (tests pass a tiny one).
    training_config: str = "config.yml"
    training_runs_dir: Path = VAR_DIR / "training"  # snapshots, logs and evaluations of runs
    training_rasa_env: Path = PROJECT_ROOT / ".venv-rasa"
    # Fixed messages with their expected intents that every model is tested on.
    training_regression_set: Path = PROJECT_ROOT / "tests" / "nlu" / "regression.yml"
    training_held_out_percent: int = Field(default=20, ge=5, le=50)
    # The safety gate (api/training/gate.py): an intent whose F1 falls by more than this against the live model,
    # or any fall in regression accuracy, blocks activation unless an admin gives a reason.
    training_gate_f1_drop: float = Field(default=0.05, ge=0, le=1)
    # The console's test chat (api/training/trial.py): one staging Rasa with a candidate model, stopped when
    # nobody has written to it for this long, given this long to load its model.
    training_trial_idle_seconds: float = Field(default=600, gt=0)
    training_trial_start_seconds: float = Field(default=240, gt=0)
    # The action server the test chat's staging Rasa calls, with the token it requires (as endpoints.yml does).
    actions_url: str = "http://localhost:5055/webhook"
    actions_token: SecretStr = SecretStr("")
    training_cross_validation_folds: int = Field(default=3, ge=2, le=10)
    # Housekeeping (api/training/scheduled.py): model files beyond the newest this many and older than this many
    # days are deleted each night, never the live model nor the one a rollback would go back to.
    training_keep_models: int = Field(default=5, ge=2, le=100)
    training_keep_model_days: int = Field(default=30, ge=1, le=3650)
    # A running training whose worker wrote no heartbeat (every few seconds) for this long died with its api
    # process: whichever replica looks next marks it failed, which frees the slot. Tests make it short.
    training_stale_seconds: float = Field(default=90, ge=1)
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
    # On SQLite, a run still marked running after this long died with its process and is retried (on PostgreSQL
    # the server tells at once: the runner's lock went with its connection).
    scheduler_stale_minutes: float = Field(default=60, gt=0)
    # A citizen's message still unanswered this long after the process answering it stopped holding it
    # (it died mid-turn) and no channel retried it gets a message asking to send it again.
    unanswered_grace_minutes: float = Field(default=2, gt=0)
    # Retention (the daily `retention` job): transcripts, and Rasa's conversations, are deleted after this many days.
    transcript_retention_days: int = Field(default=180, gt=0)
    # Booker names and phones are erased this many days after the tour; the booking consent shows this number.
    # Names, phones and codes in Rasa's tracker and phones in transcripts are blanked this long after they were said.
    booker_retention_days: int = Field(default=90, gt=0)
    # Booking Idempotency-Keys hash the booker's phone; they only guard against a double tap.
    idempotency_key_retention_days: int = Field(default=1, gt=0)
    sms_retention_days: int = Field(default=30, gt=0)  # the sms_outbox record (phone, masked text)
    verification_code_retention_days: int = Field(default=7, gt=0)  # phone and code hash
    # A phone link is removed when its conversation has been silent this long; the citizen links again.
    phone_link_retention_days: int = Field(default=365, gt=0)
    # Certified personal notices (phone, content, delivery times) are deleted this long after they were sent.
    personal_notice_retention_days: int = Field(default=365, gt=0)
    # Rasa's SQL tracker store: RASA_TRACKER_DB is the SQLite file Rasa uses too (endpoints.yml);
    # RASA_TRACKER_URL, when set, is its SQLAlchemy URL instead (PostgreSQL in production).
    rasa_tracker_db: Path = VAR_DIR / "rasa_tracker.db"
    rasa_tracker_url: str = ""
    # CSV files dropped here as <dataset_id>.csv become new versions; then moved to done/ or rejected/.
    dataset_inbox_dir: Path = VAR_DIR / "inbox" / "datasets"
    # The daily report is also sent to this conversation (e.g. a staff Telegram chat that has talked to the bot).
    staff_report_channel: str | None = None
    staff_report_channel_user_id: str | None = None
    # Rate limits (api/core/rate_limits.py), each "N/period" ("10/minute", "3/10 minutes"), counted in Redis
    # when REDIS_URL is set so that every replica counts the same requests; else in this process's memory.
    redis_url: str = ""
    rate_limit_prefix: str = "paju-limits"
    # A wrong guess of a booking code and phone reveals nothing, but many would; the per-code limit also
    # holds against guesses spread over many addresses.
    rate_limit_booking_lookup_per_client: RateLimitText = "10/minute"
    rate_limit_booking_lookup_per_code: RateLimitText = "20/hour"
    # Above the 5 wrong passwords that lock one account, so the lock can be the answer a colleague sees.
    rate_limit_sign_in_per_client: RateLimitText = "10/minute"
    rate_limit_sign_in_per_account: RateLimitText = "20/hour"
    rate_limit_sms_code_per_phone: RateLimitText = "3/10 minutes"
    rate_limit_sms_code_per_client: RateLimitText = "10/hour"
    # A ceiling on every request that is not a service call, per address: floods of the public routes stop
    # there, while a city office behind one address stays far below it.
    rate_limit_requests_per_client: RateLimitText = "600/minute"
    # Bookings hold seats: one address (or, through the gateway, one messenger user) books this many at most.
    rate_limit_booking_create_per_client: RateLimitText = "10/hour"
    # Messages an admin sends to a candidate model in the console's test chat.
    rate_limit_model_trial_per_user: RateLimitText = "30/minute"
    # Citizen reports (api/reports). Photos are stored here, EXIF removed, named by the sha256 of their bytes.
    report_photos_dir: Path = VAR_DIR / "report_photos"
    # The largest photo a citizen may send with a report (its upload route reads no more than this).
    report_photo_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Open reports one messenger user may file per Seoul day, merged ones included.
    reports_per_day: int = Field(default=3, gt=0)
    # A report of the same kind within this distance of an open one filed the same Seoul day joins that case.
    report_duplicate_metres: float = Field(default=50, ge=0)
    # The callback number, photos, description and reporters of a case are deleted this long after it closes.
    report_retention_days: int = Field(default=30, gt=0)
    # Load the sentence encoder and index the knowledge base when the app starts, not at the first question.
    knowledge_warm_up: bool = True
    # The largest request body read by any route (JSON, forms); larger ones get 413 before parsing.
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # Staff and services write longer texts (a 20,000-character notice is ~180 KB as a form): their routes'.
    staff_max_body_bytes: int = Field(default=1024 * 1024, gt=0)

    @property
    def rasa_replicas(self) -> list[str]:
        return [url.rstrip("/") for url in self.rasa_urls or [self.rasa_url]]

    @property
    def tracker_store_url(self) -> str:
        return self.rasa_tracker_url or f"sqlite:///{self.rasa_tracker_db}"

    @model_validator(mode="after")
    def _sms_provider_complete(self) -> "Settings":
        # Refused at start-up rather than at the first citizen's code.
        if self.sms_sender == "http":
            missing = [
                name
                for name, value in (
                    ("SMS_API_URL", self.sms_api_url),
                    ("SMS_API_KEY", self.sms_api_key.get_secret_value()),
                    ("SMS_FROM", self.sms_from),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"SMS_SENDER=http needs {', '.join(missing)}")
        return self


def public_holidays(settings: Settings) -> PublicHolidays:
    """The calendar of days off that office hours and tour closures follow."""
    return PublicHolidays.with_extra(settings.public_holidays)


@lru_cache
def get_settings() -> Settings:
    return Settings()
