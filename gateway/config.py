"""Settings, from CCVC_* environment variables, validated once at start-up."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# A bearer token for /metrics long enough not to be guessed (`openssl rand -hex 32` gives 64).
MIN_METRICS_TOKEN = 32


class AgencyBudget(BaseModel):
    """One agency's own budget (CCVC_AGENCY_BUDGETS); a figure left out is the default's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    points_per_second: int | None = Field(default=None, ge=1)
    burst: int | None = Field(default=None, ge=1)
    max_concurrent: int | None = Field(default=None, ge=1)


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
    # On SIGTERM `ccvc serve` stops accepting and gives the requests in flight this long to finish, then
    # cancels them and exits. Below the orchestrator's grace period less its preStop pause (deploy/k8s:
    # 40 s and 5 s), leaving time for the shutdown itself (pools closed); slow exports need no more.
    shutdown_timeout_seconds: int = Field(default=25, ge=1, le=3600)
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
    # Partner agencies' budgets (gateway/budgets.py; README "Limits on what one request may ask"). The
    # requests of all of one agency's clients spend their cost from one bucket, refilled at this many
    # points a second and holding at most CCVC_AGENCY_BURST (a partner's page of 100 officials costs
    # 2,102); over it, 429 THROTTLED with Retry-After. At most CCVC_AGENCY_MAX_CONCURRENT of an agency's
    # requests run at once in each gateway process. CCVC_AGENCY_BUDGETS gives agencies figures of their
    # own, as JSON: {"bhxh": {"points_per_second": 10000, "burst": 120000, "max_concurrent": 8}}.
    agency_points_per_second: int = Field(default=5_000, ge=1)
    agency_burst: int = Field(default=60_000, ge=1)
    agency_max_concurrent: int = Field(default=4, ge=1)
    agency_budgets: dict[str, AgencyBudget] = Field(default_factory=dict)
    # Redis (redis://host:6379/0) shares the agencies' buckets among every gateway process; unset, each
    # process keeps its own. A call to Redis waits at most CCVC_REDIS_TIMEOUT_SECONDS; while Redis does not
    # answer, each process keeps its own buckets, and Redis is tried again every CCVC_REDIS_RETRY_SECONDS.
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="ccvc", min_length=1)
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=10)
    redis_retry_seconds: float = Field(default=5.0, gt=0, le=300)
    # Trusted documents (gateway/documents.py): `agencies` lets a partner agency run only the documents
    # registered for it (`ccvc documents register`); `off` lets it send any text. Default: `agencies` in
    # production, `off` elsewhere. People (officials, staff) are never held to them.
    trusted_documents: Literal["off", "agencies"] | None = None
    # How long a looked-up document (or its absence) is trusted: a revocation takes this long to reach
    # every gateway process.
    trusted_documents_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    # Schema introspection (`__schema`, `__type`) for partner agencies: `agreement` allows it only to an
    # agency whose agreement says so (`ccvc documents introspection`), `on` to every partner. Default:
    # `agreement` in production, `on` elsewhere.
    partner_introspection: Literal["on", "agreement"] | None = None
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
    # Who may read GET /metrics (gateway/metrics.py): the bearer of this token; unset, only a client on
    # this machine (127.0.0.1, ::1) not coming through a proxy. Production refuses a short one.
    metrics_token: SecretStr | None = None
    # Where `ccvc serve` and `ccvc demo` listen, and how many worker processes serve (their --host,
    # --port and --workers override these): the image sets them, so its command line stays fixed.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    workers: int = Field(default=1, ge=1, le=64)

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
    def trusted_documents_mode(self) -> str:
        return self.trusted_documents or ("agencies" if self.env == "production" else "off")

    @property
    def partner_introspection_mode(self) -> str:
        return self.partner_introspection or ("agreement" if self.env == "production" else "on")

    @property
    def server_timing_enabled(self) -> bool:
        return self.development if self.server_timing is None else self.server_timing

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, token: SecretStr | None) -> SecretStr | None:
        # An empty one would let `Authorization: Bearer ` read the metrics (found by review).
        if token is not None and not token.get_secret_value():
            raise ValueError("empty: unset it (loopback only), or give a long random one (openssl rand -hex 32)")
        return token

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://")):
            raise ValueError("not a Redis URL; write redis://host:6379/0 (or rediss:// for TLS)")
        return url

    @model_validator(mode="after")
    def _budgets_hold_a_second(self) -> "Settings":
        """A bucket holds at least one second of its refill: `limits` counts windows in whole seconds."""
        default = (self.agency_points_per_second, self.agency_burst)
        figures = {"CCVC_AGENCY_BURST": default} | {
            f"CCVC_AGENCY_BUDGETS[{code}]": (given.points_per_second or default[0], given.burst or default[1])
            for code, given in self.agency_budgets.items()
        }
        for name, (rate, burst) in figures.items():
            if burst < rate:
                raise ValueError(f"{name}: a burst of {burst:,} is less than one second of {rate:,} points")
        return self

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
        if self.env == "production" and self.metrics_token is not None and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise ValueError(f"CCVC_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters in production")
        if self.env == "production" and not self.public_url:
            # Otherwise the addresses the gateway prints (a CV's link to verify its receipt, the OAuth
            # metadata) would be whatever Host header a caller sent.
            raise ValueError("CCVC_PUBLIC_URL must be set in production: where clients reach the gateway (https://…)")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
