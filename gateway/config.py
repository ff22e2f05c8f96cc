"""Settings, from CCVC_* environment variables, validated once at start-up."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCVC_", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/ccvc.db"
    keys_dir: Path = Path("./var/keys")
    issuer: str = "ccvc-gateway"
    # Where clients reach the gateway (https://ccvc.example.gov.vn): the addresses the authorization-server
    # metadata publishes. Unset, they are the request's own, and the answer is not cached.
    public_url: str | None = None
    audience: str = "ccvc-gateway"
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    # Tokens and requests past these sizes are refused before any parsing.
    max_token_bytes: int = Field(default=4096, ge=512, le=16_384)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_query_depth: int = Field(default=12, ge=2)
    max_query_tokens: int = Field(default=5000, ge=100)
    max_aliases: int = Field(default=50, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    # How long a request waits on the database before the gateway answers 503 SERVICE_UNAVAILABLE with
    # Retry-After instead of hanging: to connect, for a pooled connection, for one statement.
    db_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    db_pool_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    db_statement_timeout_seconds: float = Field(default=15.0, gt=0, le=3600)
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # How long a looked-up account is trusted before it is read again (disabling takes this long).
    account_cache_seconds: float = Field(default=5.0, ge=0)
    graphiql: bool | None = None
    # Reads answered by one compiled SQL statement (planner/); off: every read by the resolver tree.
    compiled_reads: bool = True
    # A Server-Timing header on GraphQL responses (phases and SQL statements); default: development only.
    server_timing: bool | None = None
    # What one request may ask (README: "Limits on what one request may ask"; schema/limits.py). Before
    # validation: the fields of the document once its fragments are written out in place. Before
    # execution: its static cost (fields of the answer and rows of an export) and the SQL statements it
    # may run; over either, MAX_COST_EXCEEDED, and nothing runs.
    max_query_fields: int = Field(default=2_000, ge=100)
    max_query_cost: int = Field(default=60_000, ge=1_000)
    max_query_statements: int = Field(default=100, ge=10)
    # Monthly approvals are signed in the last this-many days of the month, Asia/Ho_Chi_Minh (Circular
    # 06/2023: five).
    approval_window_days: int = Field(default=5, ge=1, le=28)
    # Aggregates that must single no one out (a partner's, or grouped by a field the caller does not read)
    # suppress buckets under this count, and others beside them (resolvers/aggregates.py).
    small_cell: int = Field(default=5, ge=2, le=100)
    # `ccvc serve`'s log lines (gateway/logs.py): JSON, one object a line (default in production), or text.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Backups (`ccvc backup`, db/backups.py): the store, and the AES-256-GCM key file (`ccvc backup key`);
    # production refuses to write a backup without a key.
    backup_dir: Path = Path("./var/backups")
    backup_key_file: Path | None = None
    # SQLite is for one machine (the demo, a small office's trial); production names the choice.
    allow_sqlite_in_production: bool = False

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def graphiql_enabled(self) -> bool:
        return self.development if self.graphiql is None else self.graphiql and self.development

    @property
    def log_form(self) -> str:
        return self.log_format or ("json" if self.env == "production" else "text")

    @property
    def server_timing_enabled(self) -> bool:
        return self.development if self.server_timing is None else self.server_timing

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        examples = "sqlite+aiosqlite:///./var/ccvc.db or postgresql+asyncpg://user@host:5432/ccvc"
        try:
            driver = make_url(url).drivername
        except ArgumentError:
            raise ValueError(f"not a database URL; write {examples}") from None
        if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            backend = "sqlite" if driver.startswith("sqlite") else "postgresql"
            raise ValueError(
                f"the gateway needs the {backend}+{'aiosqlite' if backend == 'sqlite' else 'asyncpg'} driver; write {examples}"
            )
        return url

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.env == "production" and self.graphiql:
            raise ValueError("CCVC_GRAPHIQL cannot be enabled in production")
        if self.env == "production" and self.database_url.startswith("sqlite") and not self.allow_sqlite_in_production:
            raise ValueError(
                "CCVC_DATABASE_URL is SQLite, and production runs on PostgreSQL (postgresql+asyncpg://…); "
                "to run one machine on SQLite anyway, set CCVC_ALLOW_SQLITE_IN_PRODUCTION=true"
            )
        if self.env == "production" and self.log_level == "DEBUG":
            raise ValueError("CCVC_LOG_LEVEL=DEBUG is refused in production: debug lines may carry personal data")
        if self.env == "production" and not self.public_url:
            # Otherwise the addresses the gateway prints (a CV's link to verify its receipt, the OAuth
            # metadata) would be whatever Host header a caller sent.
            raise ValueError("CCVC_PUBLIC_URL must be set in production: where clients reach the gateway (https://…)")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
