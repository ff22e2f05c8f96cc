"""The per-process cache of scopes never keeps a scope read while a grant changed."""

import asyncio
from typing import Any

import pytest

from db.engine import create_engine
from policies import written
from policies.authorizer import Authorizer
from policies.principal import Principal

PRINCIPAL = Principal(account_id=1, username="SH1", kind="official", roles=frozenset({"official"}), official_id=1)


def test_a_scope_read_while_a_grant_changed_is_not_cached(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        scopes = written.Scopes(Authorizer(), engine, ttl_seconds=60)

        async def lines_then_a_revocation_lands(*_: Any) -> list[Any]:
            scopes.forget()  # e.g. revokeGrant completing while this read was in flight
            return []

        monkeypatch.setattr(written, "written_lines", lines_then_a_revocation_lands)
        await scopes.for_principal(PRINCIPAL)
        assert PRINCIPAL not in scopes._cache
        monkeypatch.undo()
        await scopes.for_principal(PRINCIPAL)
        assert PRINCIPAL in scopes._cache
        await engine.dispose()

    asyncio.run(run())
