"""scripts/ensure-env keeps .env private and holding every local secret, without touching the ones it has."""

import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SERVICE_TOKEN", "RASA_TOKEN", "RASA_JWT_SECRET", "ACTIONS_TOKEN", "WEB_SESSION_SECRET")


def ensure_env(folder: Path) -> dict[str, str]:
    subprocess.run([str(ROOT / "scripts" / "ensure-env")], cwd=folder, check=True, capture_output=True)
    lines = (folder / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_env_file_is_readable_by_its_owner_only_and_holds_every_secret(tmp_path):
    values = ensure_env(tmp_path)
    assert mode(tmp_path / ".env") == 0o600
    assert set(SECRETS) <= set(values)
    assert all(len(value) == 64 for value in values.values())
    assert len(set(values.values())) == len(values), "each secret is its own"


def test_an_existing_world_readable_env_file_is_tightened_and_completed_keeping_its_values(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SERVICE_TOKEN=kept\nTELEGRAM_BOT_TOKEN=123:abc")  # no newline at the end
    env.chmod(0o644)
    values = ensure_env(tmp_path)
    assert mode(env) == 0o600
    assert values["SERVICE_TOKEN"] == "kept"
    assert values["TELEGRAM_BOT_TOKEN"] == "123:abc"
    assert {"RASA_JWT_SECRET", "ACTIONS_TOKEN", "RASA_TOKEN"} <= set(values)


def test_running_it_again_changes_nothing(tmp_path):
    first = ensure_env(tmp_path)
    assert ensure_env(tmp_path) == first
