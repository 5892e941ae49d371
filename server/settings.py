"""One typed settings object, read from the environment once.

Every knob Moot has is here, with a safe default, so README's table and the code cannot drift:
``tests/test_settings.py`` checks that each field is documented.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable holds a value Moot cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _pg_url(env: Mapping[str, str], name: str) -> str | None:
    url = env.get(name) or None
    if url is None:
        return None
    if not url.startswith(("postgresql+asyncpg://", "postgresql://")):
        raise SettingsError(
            f"{name} must be a PostgreSQL URL such as "
            "postgresql+asyncpg://user:password@host:5432/moot"
        )
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    return url


@dataclass(frozen=True, slots=True)
class Settings:
    # None means: start and use the private cluster under ``var_dir/pg``.
    database_url: str | None = None
    # A hot standby for the API's read-only queries (optional; mutations, pages and
    # subscriptions always use database_url).
    database_read_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = PROJECT_ROOT / "var"
    environment: str = "development"
    log_level: str = "INFO"
    db_pool_size: int = 10
    # Seconds a request may wait on the database before /healthz reports it down.
    db_timeout: float = 5.0
    web_dir: Path = field(default=PROJECT_ROOT / "web")
    max_body_bytes: int = 256 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    smtp_url: str | None = None
    # JSON list of OpenID Connect providers; parsed and validated by server.identity.oidc.
    oidc_providers: str | None = None
    # None: generated on first start into var/secrets/secret_key (mode 0600).
    secret_key: str | None = field(default=None, repr=False)
    # None: generated on first start into var/secrets/identity_pepper (mode 0600).
    identity_pepper: str | None = field(default=None, repr=False)
    # Public API limits (documented at /api). Decidim ships depth 15, complexity 5000, 5 aliases
    # and 50 per page. Ours:
    # - depth 12 (a field and its leaves count 2): the deepest example operation is 6, and
    #   call → ideas → edges → node → comments → edges → node → author → name is 9;
    # - 15 aliases: fetching a few calls or ideas side by side is a normal use, and the cost
    #   limit already prices what the aliased fields fetch;
    # - cost 50,000: each field 1, lists multiplied by their page size (`first`, else 20; at
    #   most 100). Our model counts plain lists too, so it runs higher than Decidim's: a page of
    #   20 calls with their events and those events' venues is about 17,000 and the example
    #   operations at most 2,000, while three nested lists of 100 (a million objects) is
    #   refused;
    # - 2,000 parser tokens: GraphiQL's schema query is under 200, our examples under 100.
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 15
    graphql_max_cost: int = 50_000
    graphql_max_tokens: int = 2_000
    graphql_max_body_bytes: int = 64 * 1024
    # A request still running after this is cancelled and answered with code TIMEOUT.
    graphql_timeout_ms: int = 10_000
    # Requests per minute for each token (or signed-in browser), and for each address when
    # anonymous; 0 switches the limit off. Counted in PostgreSQL, so it holds across processes.
    graphql_rate_per_minute: int = 120
    # Only the operations in graphql/operations/ are accepted (by hash or by identical text).
    graphql_allowlist_only: bool = False

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def secrets_dir(self) -> Path:
        return self.var_dir / "secrets"

    @property
    def pg_dir(self) -> Path:
        return self.var_dir / "pg"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = _pg_url(env, "DATABASE_URL")
        read_url = _pg_url(env, "DATABASE_READ_URL")
        if read_url is not None and url is None:
            raise SettingsError("DATABASE_READ_URL needs DATABASE_URL (the primary) set too")
        environment = env.get("MOOT_ENV", "development")
        if environment not in {"development", "test", "production"}:
            raise SettingsError("MOOT_ENV must be development, test or production")
        log_level = env.get("LOG_LEVEL", "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise SettingsError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        var_dir = Path(env.get("MOOT_VAR_DIR") or PROJECT_ROOT / "var").resolve()
        return cls(
            database_url=url,
            database_read_url=read_url,
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8000, low=1, high=65535),
            var_dir=var_dir,
            environment=environment,
            log_level=log_level,
            db_pool_size=_int(env, "DB_POOL_SIZE", 10, low=1, high=200),
            max_body_bytes=_int(env, "MAX_BODY_KB", 256, low=16, high=10_240) * 1024,
            max_upload_bytes=_int(env, "MAX_UPLOAD_MB", 20, low=1, high=500) * 1024 * 1024,
            smtp_url=env.get("SMTP_URL") or None,
            oidc_providers=env.get("OIDC_PROVIDERS") or None,
            secret_key=env.get("SECRET_KEY") or None,
            identity_pepper=env.get("IDENTITY_PEPPER") or None,
            graphql_max_depth=_int(env, "GRAPHQL_MAX_DEPTH", 12, low=2, high=100),
            graphql_max_aliases=_int(env, "GRAPHQL_MAX_ALIASES", 15, low=0, high=1_000),
            graphql_max_cost=_int(env, "GRAPHQL_MAX_COST", 50_000, low=100, high=10_000_000),
            graphql_max_tokens=_int(env, "GRAPHQL_MAX_TOKENS", 2_000, low=500, high=100_000),
            graphql_max_body_bytes=_int(env, "GRAPHQL_MAX_BODY_KB", 64, low=4, high=1_024) * 1024,
            graphql_timeout_ms=_int(env, "GRAPHQL_TIMEOUT_MS", 10_000, low=100, high=300_000),
            graphql_rate_per_minute=_int(env, "GRAPHQL_RATE_PER_MINUTE", 120, low=0, high=100_000),
            graphql_allowlist_only=_bool(env, "GRAPHQL_ALLOWLIST_ONLY", False),
        )
