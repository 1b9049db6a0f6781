"""The real api app, at the address the gateway calls, for the gateway's photo tests; and Rasa's stand-in."""

import pytest

from api.core.migrate import upgrade
from api.core.settings import Settings
from api.main import create_app
from tests.support.gateway_api import API, API_TOKEN, Rasa, api_at


@pytest.fixture
def api_settings() -> dict:
    """The api's settings a test changes (parametrize it), e.g. {"report_photo_max_bytes": 1024 * 1024}."""
    return {}


@pytest.fixture
def api_app(tmp_path, api_settings):
    url = f"sqlite:///{tmp_path / 'paju.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url, service_token=API_TOKEN, report_photos_dir=tmp_path / "report_photos", **api_settings
    )
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def api_network(api_app):
    """respx in front of the network: the api's address goes to `api_app`, loopback to whatever listens there."""
    with api_at(API, api_app) as network:
        yield network


@pytest.fixture
def rasa() -> Rasa:
    return Rasa()
