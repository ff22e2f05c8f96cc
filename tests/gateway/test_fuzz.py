"""No response is a 500 for anything a caller can send: schemathesis's GraphQL mode builds random valid
documents (every root field, random arguments) and sends them to a live gateway as an official, the
personnel department of a ministry and a partner agency. A bounded number of examples per field in CI;
CCVC_EXAMPLES=60 (say) for a longer run."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from tests.conftest import prepare_database
from tests.examples import examples
from tests.live import serving

ROLES = ("SH00000003", "hr.BNV", "agency.bhxh")


@dataclass
class Fuzzed:
    url: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A gateway on a database of its own: the fuzzer's mutations (grants, exports) touch nobody else's."""
    directory = tmp_path_factory.mktemp("fuzz")
    url = prepare_database("sqlite", Path(directory), officials=40)
    config = Settings(env="test", database_url=url, keys_dir=Path(directory) / "keys")
    app: Starlette = create_app(config)
    authenticator = Authenticator(config, app.state.keys, app.state.engine)
    with serving(app) as base:
        yield Fuzzed(base, {role: authenticator.issue(role) for role in ROLES})


@pytest.fixture(scope="module")
def documents(fuzzed: Fuzzed) -> Any:
    """schemathesis's strategy over every root field of the served schema (read by introspection).
    Its pytest loader (`from_fixture`) does not run on pytest 9, so the strategy is drawn from directly."""
    loaded = schemathesis.graphql.from_url(
        f"{fuzzed.url}/graphql", headers={"Authorization": f"Bearer {fuzzed.tokens['hr.BNV']}"}
    )
    return loaded.as_strategy()


@settings(
    max_examples=examples(8 * 15),  # about 8 per root field
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_no_document_is_answered_with_a_server_error(data: st.DataObject, fuzzed: Fuzzed, documents: Any) -> None:
    case = data.draw(documents)
    for role, token in fuzzed.tokens.items():
        response = case.call(base_url=fuzzed.url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500 or response.status_code == 503, (role, case.body, response.text)
        body = response.json()
        codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
        assert "INTERNAL" not in codes and None not in codes, (role, case.body, body)
