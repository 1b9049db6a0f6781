"""Settings of the gateway process, read once from the environment and `.env`."""

from functools import lru_cache
from typing import Annotated

import limits
from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _rate_limit(text: str) -> str:
    limits.parse(text)  # refused at start-up, with the limits library's own reason, if it does not parse
    return text


RateLimitText = Annotated[str, AfterValidator(_rate_limit)]


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_url: str = "http://localhost:8000"
    rasa_url: str = "http://localhost:5005"
    # The Rasa replicas, as JSON (["http://rasa-1:5005", "http://rasa-2:5005"]): each conversation goes to one of
    # them by its sender id, and to the next while that one is down (bot/gateway/rasa_replicas.py). Empty: RASA_URL.
    rasa_urls: list[str] = []
    # Signs the JWT the gateway shows Rasa's HTTP api (tracker events; its REST channel needs none). Empty: Rasa
    # refuses those calls.
    rasa_jwt_secret: str = ""
    service_token: str = ""
    log_level: str = "INFO"
    # Longer texts are kept in the transcript but not sent to the NLU model.
    max_nlu_chars: int = Field(default=1000, gt=0)
    # How long one message may take in Rasa: long enough for a model still loading after a restart.
    rasa_timeout_seconds: float = Field(default=120.0, gt=0)
    # The api holds each message for the delivery answering it this long, extended while Rasa works; a retry
    # after it ran out (this gateway died mid-turn) is answered by whichever gateway gets it.
    turn_lease_seconds: int = Field(default=20, ge=5, le=600)
    api_timeout_seconds: float = Field(default=5.0, gt=0)
    telegram_bot_token: str = ""
    telegram_base_url: str = ""  # empty: Telegram's own; tests and self-hosted Bot API servers set it
    telegram_webhook_url: str = ""  # empty: long polling
    telegram_webhook_secret: str = ""
    # Who may show the web chat in a frame (CSP frame-ancestors), e.g. "https://www.paju.go.kr" to embed it in
    # the city's site. 'none': no one, so no other site can dress it up for clickjacking.
    chat_frame_ancestors: str = "'none'"
    # Outbox delivery: how often an idle gateway asks the api for messages to send.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_batch: int = Field(default=20, ge=1, le=100)
    # Report what Rasa made of each message to the api's NLU inbox (with the turn's replies).
    nlu_inbox_reports: bool = True
    # Signs the web chat's identity cookie (make writes one into .env). Every replica needs the same one;
    # empty: a random one per process, so web chat users lose their conversation when it restarts.
    web_session_secret: SecretStr = SecretStr("")
    # The cookie's Secure flag: set it when the chat is served over https (it is set anyway when the request came
    # over https). Off by default for the local http setup.
    web_cookie_secure: bool = False
    web_session_days: int = Field(default=180, gt=0)  # as long as transcripts are kept
    # Rate limits (bot/gateway/rate_limits.py), each "N/period", counted in Redis when REDIS_URL is set so
    # that every replica counts the same messages; else in this process's memory. "Identity" is one web chat
    # user; "client" one address, which many citizens behind one office or carrier network may share.
    redis_url: str = ""
    rate_limit_prefix: str = "paju-gateway-limits"
    rate_limit_web_message_per_identity: RateLimitText = "30/minute"
    rate_limit_web_message_per_client: RateLimitText = "120/minute"
    # History is asked for once per page load; guessing other users' ids is what this stops.
    rate_limit_web_history_per_client: RateLimitText = "20/minute"
    # The page asks for updates every 3 seconds (20 a minute) in each open tab.
    rate_limit_web_updates_per_identity: RateLimitText = "60/minute"
    rate_limit_web_updates_per_client: RateLimitText = "600/minute"
    # Push to the web chat (GET /web/events): each stream asks the api's outbox this often and ends after this long,
    # so the browser reconnects (to either replica) and a stream never outlives its limits; a stream opened counts
    # as one update request. Past the cap of open streams a process refuses more and those pages poll instead.
    web_events_seconds: float = Field(default=60.0, gt=0, le=600)
    web_events_poll_seconds: float = Field(default=2.0, gt=0)
    web_events_max_streams: int = Field(default=500, ge=1)
    # Telegram's servers deliver every chat's updates: they count per chat, never per address.
    rate_limit_telegram_per_chat: RateLimitText = "30/minute"
    # Kakao's servers deliver every KakaoTalk user's messages: they count per botUserKey.
    rate_limit_kakao_per_user: RateLimitText = "30/minute"
    # KakaoTalk through a Kakao i Open Builder skill (POST /kakao/skill), on only when the secret is set: the city
    # chooses it and enters it as a header of the skill in Open Builder; a request without it is refused (403).
    kakao_skill_secret: SecretStr = SecretStr("")
    kakao_skill_secret_header: str = Field(default="X-Kakao-Skill-Secret", min_length=1)
    # Kakao waits 5 seconds for a skill's answer: a turn still running after this long is answered through the
    # request's callbackUrl (or, without one, with an apology and later through the outbox). Tests lower it.
    kakao_skill_deadline_seconds: float = Field(default=4.0, gt=0, lt=5)
    # Kakao gives no id per message: the same user, words and button within this window are one message, so a
    # request delivered twice is answered once.
    kakao_retry_window_seconds: int = Field(default=10, ge=1, le=300)
    # The hosts a skill request's callbackUrl may point at (each also with its subdomains), comma-separated: the
    # gateway posts the answer there, so any other address is ignored and the answer goes through the outbox.
    # Only https, except for a loopback host listed here (the tests' fake).
    kakao_callback_hosts: str = "kakao.com"
    # Messages the city sends (staff replies, reminders, notices) go through Kakao's Event API: the bot's id, the
    # Kakao Developers app's REST API key, Kakao's address (tests point it at a fake) and the name of the event
    # block in Open Builder that shows them. Without the id and key, Kakao messages wait in the outbox.
    kakao_bot_id: str = ""
    kakao_rest_api_key: SecretStr = SecretStr("")
    kakao_api_base_url: str = "https://bot-api.kakao.com"
    kakao_event_name: str = Field(default="paju_message", min_length=1)
    # The largest request body read (the web chat's messages, Telegram updates); larger ones get 413.
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # The largest photo a citizen may send for a report, on every channel (the api's REPORT_PHOTO_MAX_BYTES): a
    # larger one is refused before it is downloaded (Telegram, KakaoTalk) or read (the web chat).
    report_photo_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Where KakaoTalk's secure image plugin keeps the photos users send, as URL prefixes, comma-separated: the
    # gateway downloads a photo only from an address starting with one of them, never from any other.
    kakao_image_url_prefixes: str = "https://secure.kakaocdn.net/,http://secure.kakaocdn.net/"
    # How long downloading one such photo may take in all.
    kakao_image_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def rasa_replicas(self) -> list[str]:
        return [url.rstrip("/") for url in self.rasa_urls or [self.rasa_url]]


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
