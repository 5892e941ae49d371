from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from server import secrets
from server.settings import PROJECT_ROOT, Settings, SettingsError


def test_defaults_are_safe() -> None:
    s = Settings.from_env({})
    assert s.database_url is None
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.environment == "development" and not s.is_production


def test_host_port_and_database_url_from_environment() -> None:
    s = Settings.from_env(
        {"HOST": "0.0.0.0", "PORT": "8123", "DATABASE_URL": "postgresql://u:p@db:5432/moot"}
    )
    assert (s.host, s.port) == ("0.0.0.0", 8123)
    assert s.database_url == "postgresql+asyncpg://u:p@db:5432/moot"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a whole number"),
        ({"PORT": "70000"}, "PORT must be between"),
        ({"DATABASE_URL": "sqlite:///moot.db"}, "must be a PostgreSQL URL"),
        ({"MOOT_ENV": "staging"}, "MOOT_ENV must be"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL must be"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_every_environment_variable_is_documented_in_readme() -> None:
    source = (PROJECT_ROOT / "server/settings.py").read_text()
    used = set(re.findall(r'env(?:\.get)?\(\s*(?:env,\s*)?"([A-Z_]+)"', source))
    used |= set(re.findall(r'_(?:int|pg_url)\(env, "([A-Z_]+)"', source))
    assert {"DATABASE_URL", "DATABASE_READ_URL", "HOST", "PORT"} <= used
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [name for name in sorted(used) if f"`{name}`" not in readme]
    assert missing == [], f"README's configuration table lacks {missing}"


def test_secret_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = secrets.load_or_create(tmp_path / "secrets", "secret_key")
    second = secrets.load_or_create(tmp_path / "secrets", "secret_key")
    assert first == second and len(first) >= 40
    mode = stat.S_IMODE((tmp_path / "secrets" / "secret_key").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700


def test_secret_from_environment_wins_and_writes_nothing(tmp_path: Path) -> None:
    assert secrets.load_or_create(tmp_path / "s", "secret_key", "from-env") == "from-env"
    assert not (tmp_path / "s").exists()
