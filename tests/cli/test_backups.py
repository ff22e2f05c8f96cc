"""Backups, on both back ends: a backup taken while nothing else writes is restored into an empty
database with the same row counts and content; an encrypted backup cannot be read without its key nor
altered unnoticed; and prune keeps what Decision 832 says, exactly."""

import asyncio
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from db import backups
from db.backups import KEEP_MONTHS, Manifest, months_after, to_prune
from gateway.config import Settings
from tests.cli.runner import ccvc
from tests.conftest import BACKENDS, _on_server, _postgres_url, prepare_database


@pytest.fixture(scope="module", params=BACKENDS)
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("backup-source")
    url = prepare_database(request.param, folder, officials=60, suffix="_backup_source")
    key = folder / "backup.key"
    backups.new_key(key)
    return Settings(
        env="test", database_url=url, keys_dir=folder / "keys", backup_dir=folder / "store", backup_key_file=key
    )


def _empty_target(source: Settings, folder: Path) -> Settings:
    if source.database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{folder / 'restored.db'}"
    else:
        url = _postgres_url("_backup_target")
        name = make_url(url).database
        asyncio.run(_on_server(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_on_server(url, f'CREATE DATABASE "{name}"'))
    return source.model_copy(update={"database_url": url})


def test_a_backup_round_trips_into_an_empty_database(source: Settings, tmp_path: Path) -> None:
    made = ccvc(source, "backup", "create")
    assert made.returncode == 0 and "encrypted" in made.stdout, made.stderr
    [manifest] = backups.manifests(source.backup_dir)[-1:]
    assert manifest.encrypted and manifest.tables["official"] == 60 and manifest.schema_revision
    assert b"SH000000" not in (source.backup_dir / manifest.data_file).read_bytes()  # sealed
    assert (source.backup_dir / manifest.data_file).stat().st_mode & 0o777 == 0o600
    verified = ccvc(source, "backup", "verify")
    assert verified.returncode == 0 and "authenticates" in verified.stdout, verified.stderr

    target = _empty_target(source, tmp_path)
    restored = ccvc(target, "backup", "restore", "--dir", str(source.backup_dir))
    assert restored.returncode == 0, restored.stderr
    assert "content hash equal" in restored.stdout
    # A database that holds data is never written over.
    again = ccvc(target, "backup", "restore", "--dir", str(source.backup_dir))
    assert again.returncode != 0 and "holds data" in again.stderr


def test_an_altered_or_foreign_backup_and_a_missing_key_are_refused(source: Settings, tmp_path: Path) -> None:
    if not backups.manifests(source.backup_dir):
        assert ccvc(source, "backup", "create").returncode == 0
    manifest = backups.manifests(source.backup_dir)[-1]
    copy = tmp_path / "store"
    copy.mkdir()
    for name in (f"{manifest.id}.json", manifest.data_file):
        (copy / name).write_bytes((source.backup_dir / name).read_bytes())
    moved = source.model_copy(update={"backup_dir": copy})
    data = bytearray((copy / manifest.data_file).read_bytes())
    data[len(data) // 2] ^= 1
    (copy / manifest.data_file).write_bytes(bytes(data))
    refused = ccvc(moved, "backup", "verify")
    assert refused.returncode == 1 and "not the file backed up" in refused.stderr
    # Altered and its manifest rewritten to match: the manifest's seal says so; and the chunk's own too.
    raw = orjson.loads((copy / f"{manifest.id}.json").read_bytes())
    raw["data_sha256"] = backups.sha256_file(copy / manifest.data_file)
    (copy / f"{manifest.id}.json").write_bytes(orjson.dumps(raw))
    refused = ccvc(moved, "backup", "verify")
    assert refused.returncode == 1 and "not sealed with this key" in refused.stderr
    assert source.backup_key_file is not None
    with pytest.raises(backups.BackupError, match="does not decrypt"):
        backups.unseal(copy / manifest.data_file, None, backups.load_key(source.backup_key_file), manifest.id)
    # Another key opens nothing; without one, restore says which setting is missing.
    other = tmp_path / "other.key"
    backups.new_key(other)
    intact = source.model_copy(update={"backup_key_file": other})
    assert "not sealed with this key" in ccvc(intact, "backup", "verify").stderr
    target = _empty_target(source, tmp_path)
    keyless = target.model_copy(update={"backup_key_file": None, "backup_dir": source.backup_dir})
    assert "CCVC_BACKUP_KEY_FILE" in ccvc(keyless, "backup", "restore").stderr


def test_an_unencrypted_backup_planted_in_the_store_is_refused(source: Settings, tmp_path: Path) -> None:
    """Found by review: someone who may write to the store but has no key added a newer, unencrypted
    "backup" with a matching manifest; verify and restore took it, and prune would have deleted the real ones."""
    store = tmp_path / "store"
    store.mkdir()
    for path in source.backup_dir.glob("ccvc-*"):
        (store / path.name).write_bytes(path.read_bytes())
    planted = replace(_backup(datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)), encrypted=False)
    (store / planted.data_file).write_bytes(b"SQLite format 3\x00")
    backups.write_manifest(store, planted)
    moved = source.model_copy(update={"backup_dir": store})
    for command in ("verify", "restore", "prune"):
        refused = ccvc(moved, "backup", command)
        assert refused.returncode == 1 and "not encrypted, but a backup key is configured" in refused.stderr, command
    assert len(backups.manifests(store)) == len(backups.manifests(source.backup_dir)) + 1  # nothing deleted


def test_production_refuses_an_unencrypted_backup(source: Settings) -> None:
    production = source.model_copy(update={"env": "production", "backup_key_file": None})
    refused = ccvc(production, "backup", "create")
    assert refused.returncode != 0 and "CCVC_BACKUP_KEY_FILE" in refused.stderr


def test_list_and_schedule(source: Settings) -> None:
    if not backups.manifests(source.backup_dir):  # another worker may have run the round trip
        assert ccvc(source, "backup", "create").returncode == 0
    listed = ccvc(source, "backup", "list", "--json")
    assert listed.returncode == 0 and orjson.loads(listed.stdout)[0]["encrypted"] is True
    schedule = ccvc(source, "backup", "schedule").stdout
    assert "0 2 1 * *" in schedule and "kind: CronJob" in schedule and "backup prune" in schedule


# -- the rule -------------------------------------------------------------------------------------------------


def _backup(created: datetime) -> Manifest:
    return Manifest(
        id=backups.new_id(created),
        created_at=created.isoformat(),
        backend="sqlite",
        source="",
        schema_revision="",
        tables={},
        content_sha256="",
        dump_sha256="",
        data_sha256="",
        data_bytes=0,
        encrypted=True,
    )


def test_prune_keeps_an_older_backup_until_a_newer_one_is_three_months_old() -> None:
    jan, feb = datetime(2027, 1, 31, 2, tzinfo=UTC), datetime(2027, 2, 28, 2, tzinfo=UTC)
    store = [_backup(jan), _backup(feb)]
    assert to_prune(store, datetime(2027, 5, 28, 1, 59, tzinfo=UTC)) == []  # February's is not yet 3 months old
    assert to_prune(store, datetime(2027, 5, 28, 2, tzinfo=UTC)) == [store[0]]
    assert to_prune([_backup(jan)], datetime(2099, 1, 1, tzinfo=UTC)) == []  # never the newest
    assert months_after(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2_000), min_size=1, max_size=12, unique=True), st.integers(0, 2_500))
def test_prune_deletes_exactly_what_the_rule_lets_go(days: list[int], today: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store = [_backup(start + timedelta(days=d)) for d in days]
    now = start + timedelta(days=today)
    going = {m.id for m in to_prune(store, now)}
    newest = max(store, key=lambda m: m.created)
    assert newest.id not in going
    for backup in store:
        newer_aged = any(
            other.created > backup.created and months_after(other.created, KEEP_MONTHS) <= now for other in store
        )
        assert (backup.id in going) == newer_aged


def test_prune_from_the_command_line(source: Settings, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    for created in (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 6, 1, tzinfo=UTC),
    ):
        manifest = _backup(created)
        backups.write_manifest(store, manifest)
        (store / manifest.data_file).write_bytes(b"")  # its size, as its manifest says
    keyless = source.model_copy(update={"backup_key_file": None})  # these hand-made backups are not sealed
    ran = ccvc(keyless, "backup", "prune", "--dir", str(store), "--now", "2026-08-15T00:00:00+00:00")
    assert ran.returncode == 0, ran.stderr
    assert [m.created.month for m in backups.manifests(store)] == [2, 6] and len(os.listdir(store)) == 4


def test_a_manifest_naming_another_file_is_refused(tmp_path: Path) -> None:
    """Its id names the files prune deletes: `../../etc/x` must not be one."""
    manifest = _backup(datetime(2026, 1, 1, tzinfo=UTC))
    backups.write_manifest(tmp_path, manifest)
    raw = orjson.loads((tmp_path / f"{manifest.id}.json").read_bytes())
    raw["id"] = "../../etc/passwd"
    (tmp_path / f"{manifest.id}.json").write_bytes(orjson.dumps(raw))
    with pytest.raises(backups.BackupError, match="names another backup"):
        backups.manifests(tmp_path)


def test_the_database_password_never_reaches_a_command_line() -> None:
    """pg_dump's arguments are visible to every user of the machine (`ps`); its environment is not."""
    dsn, env = backups._libpq("postgresql+asyncpg://ccvc:s3cret@db.example:5432/ccvc")
    assert "s3cret" not in dsn and dsn.startswith("postgresql://ccvc@db.example") and env["PGPASSWORD"] == "s3cret"
