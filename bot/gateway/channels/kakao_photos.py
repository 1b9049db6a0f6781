"""Photos KakaoTalk users send through Open Builder's secure image plugin: their addresses, and downloading them from
Kakao's image server only, bounded in size and time."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.gateway.messages import Photo

logger = logging.getLogger(__name__)

# secureUrls is one string, "List(https://…, https://…)": a comma followed by an address starts the next one.
_LIST = re.compile(r"^\s*List\((?P<urls>.*)\)\s*$", re.DOTALL)
_NEXT_URL = re.compile(r",\s*(?=https?://)")
_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")


class PhotoTooLarge(Exception):
    """The photo is larger than the gateway takes."""


class PhotoNotReceived(Exception):
    """The photo could not be downloaded: an address outside Kakao's image server, an error or a timeout."""


def secure_urls(values: Mapping[str, Any]) -> list[str]:
    """The photo addresses among a skill request's parameters: the secure image plugin's value is a JSON object
    (as a string, or already parsed) whose `secureUrls` lists them."""
    urls: list[str] = []
    for value in values.values():
        image = _json_object(value)
        listed = image.get("secureUrls") if image else None
        if isinstance(listed, str):
            urls += _split(listed)
        elif isinstance(listed, list):
            urls += [url.strip() for url in listed if isinstance(url, str) and url.strip()]
    return list(dict.fromkeys(urls))  # a parameter and its detailParams twin name the same photos


def _json_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or "secureUrls" not in value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _split(listed: str) -> list[str]:
    match = _LIST.match(listed)
    inner = match.group("urls") if match else listed
    return [url.strip() for url in _NEXT_URL.split(inner) if url.strip()]


class KakaoPhotos:
    """Downloads photos from the addresses KAKAO_IMAGE_URL_PREFIXES allows, and from nowhere else: a skill request
    names the address, so any other would let a request make the gateway fetch whatever it names."""

    def __init__(self, prefixes: Iterable[str], max_bytes: int, timeout_seconds: float) -> None:
        self._prefixes = [urlsplit(prefix.strip()) for prefix in prefixes if prefix.strip()]
        self._max_bytes = max_bytes
        self._timeout = timeout_seconds
        # No redirects: a redirect could lead anywhere.
        self._http = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)

    @classmethod
    def from_settings(cls, prefixes: str, max_bytes: int, timeout_seconds: float) -> KakaoPhotos:
        return cls(prefixes.split(","), max_bytes, timeout_seconds)

    async def close(self) -> None:
        await self._http.aclose()

    def allowed(self, url: str) -> bool:
        """Whether the address is under one of the allowed prefixes: the same scheme, host and port (read as a URL,
        so `https://secure.kakaocdn.net@elsewhere/` is elsewhere), and a path that starts with the prefix's."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        for prefix in self._prefixes:
            if (
                parts.scheme == prefix.scheme
                and parts.hostname is not None
                and parts.hostname == prefix.hostname
                and port == prefix.port
                and not parts.username
                and parts.path.startswith(prefix.path or "/")
            ):
                return True
        return False

    async def download(self, url: str) -> Photo:
        """The photo at an allowed address; PhotoTooLarge past the limit (declared or counted as it arrives),
        PhotoNotReceived for anything else that goes wrong, including taking longer than the timeout in all."""
        if not self.allowed(url):
            raise PhotoNotReceived("not an address of Kakao's image server")
        try:
            async with asyncio.timeout(self._timeout):
                return await self._download(url)
        except TimeoutError as error:
            raise PhotoNotReceived("timed out") from error
        except httpx.HTTPError as error:
            raise PhotoNotReceived(f"{type(error).__name__}") from error

    async def _download(self, url: str) -> Photo:
        async with self._http.stream("GET", url) as response:
            if response.status_code != 200:
                raise PhotoNotReceived(f"answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise PhotoTooLarge
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > self._max_bytes:
                    raise PhotoTooLarge
            content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        name = _file_name(url)
        if content_type not in PHOTO_TYPES:
            content_type = mimetypes.guess_type(name)[0] or "image/jpeg"
        return Photo(bytes(data), content_type, name)


def _file_name(url: str) -> str:
    """The last part of the address's path, reduced to safe characters; the api reads the bytes, not the name."""
    name = _FILE_NAME.sub("", urlsplit(url).path.rpartition("/")[2])[-80:]
    return name or "kakao-photo.jpg"
