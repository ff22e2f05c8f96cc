"""The synthetic data: deterministic for a seed, shaped like the real apparatus."""

import asyncio
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import create_engine
from db.errors import BadInput
from db.migrate import upgrade
from seed import seed
from seed.people import Generator, assign
from seed.structure import TOP_UNITS, build


def test_same_seed_same_officials_and_another_seed_differs() -> None:
    def first_rows(s: int) -> list[tuple[object, ...]]:
        structure = build(s)
        return Generator(structure, assign(structure, 50, s), s, None).chunk(0, 50).officials

    assert first_rows(3) == first_rows(3)
    assert first_rows(3) != first_rows(4)


def test_tree_has_twelve_or_more_top_units_with_three_to_four_levels_below() -> None:
    structure = build(1)
    tops = [u for u in structure.units if u.level == 1]
    assert len(tops) >= 12 and "BNV" in {u.code for u in tops}
    for top in tops:
        depth = max(u.level for u in structure.units if u.top_unit_id == top.id) - 1
        assert 3 <= depth <= 4, top.code
    for unit in structure.units:
        assert unit.path.endswith(f"/{unit.code}/")


def test_quotas_are_close_to_filled_counts() -> None:
    from random import Random

    from seed.people import quota_for

    rng = Random(1)
    for filled in (0, 1, 3, 10, 100, 1000):
        quota = quota_for(rng, filled)
        assert quota >= 1 and abs(quota - filled) <= max(2, filled * 0.07)


def test_generated_people_are_plausible() -> None:
    structure = build(1)
    n = 3000
    chunk = Generator(structure, assign(structure, n, 1), 1, None).chunk(0, n)
    ages = [2026 - _date(row[7]).year for row in chunk.officials]  # birth_date
    assert 21 <= min(ages) and max(ages) <= 63
    ids = [_text(row[2]) for row in chunk.officials]
    assert len(set(ids)) == n and all(len(i) == 12 and i.isdigit() for i in ids)
    ethnic = Counter(row[11] for row in chunk.officials)
    assert ethnic.most_common(1)[0][0] == "01"  # Kinh
    names = [_text(row[3]) for row in chunk.officials]
    assert any("ễ" in name or "ư" in name or "ị" in name for name in names)


def test_seed_creates_the_documented_accounts(database_url: str) -> None:
    async def usernames() -> set[str]:
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT username FROM account"))).scalars().all()
        await engine.dispose()
        return set(rows)

    names = asyncio.run(usernames())
    assert {"admin", "analyst", "agency.bhxh", "agency.BTC", "agency.BYT", "SH00000001"} <= names
    for code, _, _ in TOP_UNITS:
        assert {f"hr.{code}", f"approver.{code}"} <= names
    assert any(n.startswith("manager.") for n in names)


def test_seed_refuses_a_database_that_holds_data(database_url: str) -> None:
    async def again() -> None:
        engine = create_engine(database_url)
        try:
            await seed(engine, officials=5)
        finally:
            await engine.dispose()

    with pytest.raises(BadInput, match="already holds data"):
        asyncio.run(again())


def test_every_official_has_exactly_one_account(database_url: str) -> None:
    async def counts() -> tuple[int, int]:
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            officials = (await conn.execute(text("SELECT count(*) FROM official"))).scalar_one()
            linked = (await conn.execute(text("SELECT count(DISTINCT official_id) FROM account"))).scalar_one()
        await engine.dispose()
        return officials, linked

    officials, linked = asyncio.run(counts())
    assert officials == linked


# The generator's rows are tuples of plain values (what COPY takes): read as the column's type.
def _date(value: object) -> date:
    assert isinstance(value, date)
    return value


def _text(value: object) -> str:
    assert isinstance(value, str)
    return value


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def test_migrations_apply_twice_without_change(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)


def test_generated_dates_are_in_order_and_never_in_the_future() -> None:
    from seed.people import OFFICIAL_COLUMNS, REFERENCE_DATE

    structure = build(2)
    n = 4000
    chunk = Generator(structure, assign(structure, n, 2), 2, None).chunk(0, n)
    column = {name: i for i, name in enumerate(OFFICIAL_COLUMNS)}
    recruited: dict[object, date] = {}
    for row in chunk.officials:
        birth, hired = _date(row[column["birth_date"]]), _date(row[column["recruitment_date"]])
        assert hired >= birth.replace(year=birth.year + 22, day=min(birth.day, 28)) and hired <= REFERENCE_DATE
        effective = row[column["salary_effective_date"]]
        assert effective is None or hired <= _date(effective) <= REFERENCE_DATE
        recruited[row[0]] = hired
    for oid, since, until, _ in chunk.work_history:
        assert recruited[oid] <= _date(since) <= REFERENCE_DATE and (until is None or _date(since) <= _date(until))
    for _oid, _, _, since, until, _, _ in chunk.training:
        assert _date(since) <= _date(until) <= REFERENCE_DATE
    for oid, when, *_ in chunk.salary_history:
        assert recruited[oid] <= _date(when) <= REFERENCE_DATE
    for _oid, _, _, _, born, _ in chunk.family_member:
        assert born is None or _int(born) < REFERENCE_DATE.year
    for oid, year, *_ in (*chunk.reward, *chunk.discipline):
        assert recruited[oid].year <= _int(year) < REFERENCE_DATE.year
