"""Issue 17's "done when", over real HTTP: while attackers send an alias bomb, a deeply nested query, a
10 MB body, a query costing a million nodes and the fragment fan-out, as fast as they get answers, a
partner's pages go on being answered, whole and right; each attack is refused with its own code, and
nothing is answered 5xx. (No timing is asserted: how fast is bench/attack.py's to measure.)"""

import asyncio
from collections import Counter
from typing import Any

import httpx2

from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from tests.live import serving
from tests.schema.queries import COST_ATTACK, PARTNER_PAGE, fan_out

ATTACKER = "SH00000052"  # any official: a token is all an attack needs
PARTNER = "agency.bhxh"
ALIAS_BOMB = "{ " + " ".join(f"a{i}: __typename" for i in range(400)) + " }"  # past CCVC_MAX_ALIASES (50)
DEEP = "{ units { " + "children { " * 40 + "code" + " }" * 40 + " } }"
HUGE = b'{"query": "{ __typename }", "padding": "' + b"x" * (10 * 1024 * 1024) + b'"}'
# What each attack must be answered with: (HTTP status, extensions.code).
EXPECTED = {
    "alias bomb": (200, "GRAPHQL_VALIDATION_FAILED"),
    "deep": (200, "GRAPHQL_VALIDATION_FAILED"),
    "10 MB body": (413, "PAYLOAD_TOO_LARGE"),
    "million nodes": (200, "MAX_COST_EXCEEDED"),
    "fan-out": (200, "GRAPHQL_VALIDATION_FAILED"),
}
PAGES = 40  # the partner's pages answered while the attacks go on


def test_attacks_are_refused_with_their_codes_while_a_partner_is_served(settings: Settings) -> None:
    app = create_app(settings)
    with serving(app) as base:
        issue = Authenticator(settings, app.state.keys, app.state.engine).issue
        answered, refused = asyncio.run(_under_attack(base, issue(ATTACKER), issue(PARTNER)))
    assert len(answered) == PAGES and all(page == answered[0] for page in answered) and answered[0]
    assert set(refused) == {(name, *EXPECTED[name]) for name in EXPECTED}, refused


async def _under_attack(base: str, attacker: str, partner: str) -> tuple[list[Any], Counter[tuple[str, int, str]]]:
    refused: Counter[tuple[str, int, str]] = Counter()
    done = asyncio.Event()
    async with httpx2.AsyncClient(base_url=base, timeout=60) as client:
        attackers = [asyncio.create_task(_attack(client, attacker, name, refused, done)) for name in EXPECTED]
        try:
            answered = [await _page(client, partner) for _ in range(PAGES)]
        finally:
            done.set()
            await asyncio.gather(*attackers)
    return answered, refused


async def _attack(
    client: httpx2.AsyncClient, token: str, name: str, refused: Counter[tuple[str, int, str]], done: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while not done.is_set() or not any(key[0] == name for key in refused):
        if name == "10 MB body":
            response = await client.post("/graphql", content=HUGE, headers=headers)
        else:
            query = {"alias bomb": ALIAS_BOMB, "deep": DEEP, "million nodes": COST_ATTACK}.get(name) or fan_out(30)
            response = await client.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code < 500, (name, response.status_code, response.text[:300])
        code = response.json()["errors"][0]["extensions"]["code"]
        refused[(name, response.status_code, code)] += 1


async def _page(client: httpx2.AsyncClient, token: str) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": PARTNER_PAGE, "variables": {"unit": "1"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]
