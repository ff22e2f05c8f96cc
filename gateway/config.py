"""Settings, from CCVC_* environment variables, validated once at start-up."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCVC_", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/ccvc.db"
    keys_dir: Path = Path("./var/keys")
    issuer: str = "ccvc-gateway"
    audience: str = "ccvc-gateway"
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    # Tokens and requests past these sizes are refused before any parsing.
    max_token_bytes: int = Field(default=4096, ge=512, le=16_384)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_query_depth: int = Field(default=12, ge=2)
    max_query_tokens: int = Field(default=5000, ge=100)
    max_aliases: int = Field(default=50, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    # How long a looked-up account is trusted before it is read again (disabling takes this long).
    account_cache_seconds: float = Field(default=5.0, ge=0)
    graphiql: bool | None = None
    # A Server-Timing header on GraphQL responses (phases and SQL statements); default: development only.
    server_timing: bool | None = None

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def graphiql_enabled(self) -> bool:
        return self.development if self.graphiql is None else self.graphiql and self.development

    @property
    def server_timing_enabled(self) -> bool:
        return self.development if self.server_timing is None else self.server_timing

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.env == "production" and self.graphiql:
            raise ValueError("CCVC_GRAPHIQL cannot be enabled in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
