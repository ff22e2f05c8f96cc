"""Backups of the database (Decision 832: monthly, each kept at least three months after a newer one
exists, with the protection personal data requires): `ccvc backup create | list | verify | restore |
prune` (cli/backups.py).

A backup is two files in the backup store: `<id>.data`, the database as SQLite's online backup API or
`pg_dump --format=custom` wrote it, encrypted with AES-256-GCM when a backup key is configured; and
`<id>.json`, its manifest: when, from where, the schema revision, every table's row count, a hash of
every table's content, and the SHA-256 of the data file as stored and as dumped. `verify` checks a
backup without restoring it; `restore` puts it into an empty database and checks the counts and the
content hash against the manifest.

The encrypted form is chunked (a backup of a national database does not fit in memory): a header, then
chunks of at most 16 MiB, each sealed with its own random nonce and, as associated data, the backup's id,
the chunk's index and whether it is the last: chunks cannot be reordered, swapped between backups, or
cut off at a chunk boundary without `verify` saying so.
"""

import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Table, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import metadata

MAGIC: Final = b"CCVC-BACKUP-1\n"
CHUNK: Final = 16 * 1024 * 1024
NONCE: Final = 12
KEY_BYTES: Final = 32
# Working directories older than this were left by a command that was killed (a dump takes minutes).
STALE_SECONDS: Final = 6 * 3600
_ID: Final = re.compile(r"ccvc-[0-9]{8}T[0-9]{6}Z")
# Decision 832: an older backup is kept until a newer one has existed for this many months.
KEEP_MONTHS: Final = 3


class BackupError(Exception):
    """What an operator can act on: a backup missing, altered, undecryptable, or a target not empty."""


@dataclass(frozen=True, slots=True)
class Manifest:
    id: str
    created_at: str  # ISO 8601, UTC
    backend: str  # sqlite | postgresql
    source: str  # the database, its password hidden
    schema_revision: str
    tables: dict[str, int]
    content_sha256: str
    dump_sha256: str  # of the dump as SQLite or pg_dump wrote it
    data_sha256: str  # of the data file as stored (encrypted or not)
    data_bytes: int
    encrypted: bool
    # HMAC-SHA256 of every other field, under a key derived from the backup key: a manifest written by
    # someone who can write to the store but has no key (a newer, unencrypted "backup") is refused.
    mac: str | None = None

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    @property
    def data_file(self) -> str:
        return f"{self.id}.data"


# -- the content: counts and a hash of every table, the same before dumping and after restoring -------------


def _tables() -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name != "alembic_version"]


async def content(conn: AsyncConnection) -> tuple[dict[str, int], str]:
    """Every table's row count, and one SHA-256 over every row of every table in key order."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    for table in sorted(_tables(), key=lambda t: t.name):
        order = list(table.primary_key.columns) or list(table.columns)
        rows = await conn.stream(select(table).order_by(*order).execution_options(yield_per=5_000))
        name = str(table.name)  # a quoted_name, which orjson does not take for a str key
        counts[name] = 0
        digest.update(b"\x00table\x00" + name.encode())
        async for row in rows:
            digest.update(
                orjson.dumps(list(row), default=str, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS)
            )
            counts[name] += 1
    return counts, digest.hexdigest()


async def schema_revision(conn: AsyncConnection) -> str:
    return str((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one())


async def is_empty(conn: AsyncConnection) -> bool:
    """No table of the schema holds a row (or there is no schema at all): what `restore` writes into."""
    names = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    for table in _tables():
        if table.name in names and (await conn.execute(select(table).limit(1))).first() is not None:
            return False
    return True


# -- dumping and loading -------------------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL pg_dump and pg_restore take, without its password, and their environment with it: a
    command line is visible to every user of the machine (`ps`), an environment is not."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    bare = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False), env


def dump_sqlite(url: str, into: Path) -> None:
    """The SQLite database at `url` copied into the new private file `into`: a consistent copy while
    the gateway serves (the online backup API copies pages under a read lock)."""
    private(into).close()
    _copy_sqlite(f"file:{make_url(url).database}?mode=ro", into)


def _copy_sqlite(source_uri: str, into: Path) -> None:
    source, target = sqlite3.connect(source_uri, uri=True), sqlite3.connect(into)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def dump_postgres(url: str, data: Path, key: bytes | None, backup_id: str, snapshot: str) -> str:
    """pg_dump (custom format) of the exported `snapshot`, its output sealed as it comes: no plaintext
    ever on disk. The SHA-256 of the dump."""
    dsn, env = _libpq(url)
    command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--snapshot", snapshot, "--dbname", dsn]
    _installed(command[0])
    with tempfile.TemporaryFile() as errors:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env) as process:  # noqa: S603
            assert process.stdout is not None
            dumped = seal(process.stdout, data, key, backup_id)
        status = process.returncode
        if status != 0:
            data.unlink(missing_ok=True)
            errors.seek(0)
            raise BackupError(f"`pg_dump` failed: {_last_line(errors.read().decode(errors='replace'), status)}")
    return dumped


def load(url: str, dumped: Path) -> None:
    """A dump into the (empty) database at `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(str(parsed.database))
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(f"file:{dumped}?mode=ro", target)
        return
    dsn, env = _libpq(url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", dsn, str(dumped)], env)


def _installed(program: str) -> None:
    if shutil.which(program) is None:
        raise BackupError(f"`{program}` is not installed (Debian: postgresql-client)")


def _last_line(text: str, status: int) -> str:
    return text.strip().splitlines()[-1] if text.strip() else f"exit status {status}"


def _run(command: Sequence[str], env: dict[str, str]) -> None:
    _installed(command[0])
    done = subprocess.run(list(command), capture_output=True, text=True, check=False, env=env)  # noqa: S603 (fixed programs)
    if done.returncode != 0:
        raise BackupError(f"`{command[0]}` failed: {_last_line(done.stderr, done.returncode)}")


# -- sealing: AES-256-GCM in chunks ---------------------------------------------------------------------------


def load_key(path: Path) -> bytes:
    """The backup key: 32 random bytes, as a file of 64 hex digits (`ccvc backup key` writes one)."""
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as error:
        raise BackupError(f"cannot read the backup key {path}: {error}") from None
    if len(key) != KEY_BYTES:
        raise BackupError(f"the backup key {path} must hold {KEY_BYTES * 2} hex digits (256 bits)")
    return key


def new_key(path: Path) -> None:
    if path.exists():
        raise BackupError(f"{path} exists: a backup key is never overwritten (the backups it sealed need it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(os.urandom(KEY_BYTES).hex() + "\n")


def _aad(backup_id: str, index: int, last: bool) -> bytes:
    return f"{backup_id}:{index}:{int(last)}".encode()


def _chunks(source: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        yield current, not following
        if not following:
            return
        current = following


def private(path: Path) -> BinaryIO:
    """A new file only its owner may read (created so, not chmod-ed after: nothing reads it meanwhile)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def seal(source: IO[bytes], sealed: Path, key: bytes | None, backup_id: str) -> str:
    """`source` into the file `sealed`, in chunks under AES-256-GCM (or as it is, without a key); the
    SHA-256 of what was read."""
    aead, digest = (AESGCM(key) if key is not None else None), hashlib.sha256()
    with private(sealed) as out:
        if aead is None:
            while block := source.read(CHUNK):
                digest.update(block)
                out.write(block)
            return digest.hexdigest()
        out.write(MAGIC)
        for index, (chunk, last) in enumerate(_chunks(source)):
            digest.update(chunk)
            nonce = os.urandom(NONCE)
            box = aead.encrypt(nonce, chunk, _aad(backup_id, index, last))
            out.write(len(box).to_bytes(4, "big") + nonce + box)
    return digest.hexdigest()


def unseal(sealed: Path, plain: BinaryIO | None, key: bytes, backup_id: str) -> str:
    """Decrypt and authenticate every chunk (into `plain` when given); the SHA-256 of the plaintext."""
    aead, digest = AESGCM(key), hashlib.sha256()
    with sealed.open("rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{sealed.name} is not an encrypted backup")
        index, last = 0, False
        while header := source.read(4):
            if last:
                raise BackupError(f"{sealed.name} has data after its last chunk")
            size = int.from_bytes(header, "big")
            nonce, box = source.read(NONCE), source.read(size)
            if len(header) < 4 or len(nonce) < NONCE or len(box) < size:
                raise BackupError(f"{sealed.name} is cut short")
            chunk = _open(aead, nonce, box, backup_id, index, sealed.name)
            last = chunk[1]
            digest.update(chunk[0])
            if plain is not None:
                plain.write(chunk[0])
            index += 1
        if not last:
            raise BackupError(f"{sealed.name} is cut short (its last chunk is missing)")
    return digest.hexdigest()


def _open(aead: AESGCM, nonce: bytes, box: bytes, backup_id: str, index: int, name: str) -> tuple[bytes, bool]:
    for last in (False, True):
        try:
            return aead.decrypt(nonce, box, _aad(backup_id, index, last)), last
        except InvalidTag:
            continue
    raise BackupError(f"{name}: chunk {index} does not decrypt (altered, another backup's, or another key)")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


# -- the store ---------------------------------------------------------------------------------------------------


def new_id(now: datetime) -> str:
    return f"ccvc-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _mac(manifest: Manifest, key: bytes) -> str:
    fields = {name: value for name, value in asdict(manifest).items() if name != "mac"}
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ccvc backup manifest").derive(key)
    return hmac.new(derived, orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), hashlib.sha256).hexdigest()


def sealed_manifest(manifest: Manifest, key: bytes | None) -> Manifest:
    return manifest if key is None else replace(manifest, mac=_mac(manifest, key))


def check_manifest(manifest: Manifest, key: bytes | None, now: datetime) -> None:
    """Refuse a manifest this store's key did not seal (where there is a key), or one dated in the future."""
    if manifest.created > now + timedelta(minutes=5) or manifest.id != new_id(manifest.created):
        raise BackupError(f"{manifest.id}: its date is in the future or is not its id's")
    if key is None:
        return
    if not manifest.encrypted:
        raise BackupError(f"{manifest.id} is not encrypted, but a backup key is configured: not a backup of ours")
    if manifest.mac is None or not hmac.compare_digest(manifest.mac, _mac(manifest, key)):
        raise BackupError(f"{manifest.id}: its manifest was not sealed with this key (altered, or another store's)")


def write_manifest(store: Path, manifest: Manifest) -> None:
    with private(store / f"{manifest.id}.json") as out:
        out.write(orjson.dumps(asdict(manifest), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def manifests(store: Path) -> list[Manifest]:
    """The store's backups, oldest first."""
    found = []
    for path in sorted(store.glob("ccvc-*.json")):
        try:
            raw: dict[str, Any] = orjson.loads(path.read_bytes())
            manifest = Manifest(**raw)
            manifest.created  # noqa: B018 (a date, or ValueError)
        except (orjson.JSONDecodeError, TypeError, ValueError) as error:
            raise BackupError(f"{path.name} is not a backup manifest ({error})") from None
        # Its id names the files prune deletes: exactly the form new_id writes, and its own file's.
        if not _ID.fullmatch(manifest.id) or path.name != f"{manifest.id}.json":
            raise BackupError(f"{path.name} names another backup ({manifest.id!r})")
        found.append(manifest)
    return sorted(found, key=lambda m: m.created)


def find(store: Path, backup_id: str | None) -> Manifest:
    known = manifests(store)
    if not known:
        raise BackupError(f"no backup in {store}")
    if backup_id is None:
        return known[-1]
    for manifest in known:
        if manifest.id == backup_id:
            return manifest
    raise BackupError(f"no backup {backup_id} in {store} (`ccvc backup list`)")


def present(store: Path, manifest: Manifest) -> bool:
    """Its data file is there, of its size (what prune counts a backup by, without reading it all)."""
    data = store / manifest.data_file
    return data.is_file() and data.stat().st_size == manifest.data_bytes


def check_stored(store: Path, manifest: Manifest) -> Path:
    """The data file, once its size and SHA-256 are the manifest's."""
    data = store / manifest.data_file
    if not data.is_file():
        raise BackupError(f"{manifest.id}: its data file {data.name} is missing")
    if data.stat().st_size != manifest.data_bytes or sha256_file(data) != manifest.data_sha256:
        raise BackupError(f"{manifest.id}: {data.name} is not the file backed up (size or SHA-256 differ)")
    return data


def plain_copy(store: Path, manifest: Manifest, key: bytes | None, directory: Path) -> Path:
    """The dump as written, checked: decrypted into `directory` when the backup is encrypted."""
    data = check_stored(store, manifest)
    if not manifest.encrypted:
        return data
    if key is None:
        raise BackupError(f"{manifest.id} is encrypted: configure its key (CCVC_BACKUP_KEY_FILE)")
    plain = directory / f"{manifest.id}.dump"
    with private(plain) as out:
        dumped = unseal(data, out, key, manifest.id)
    if dumped != manifest.dump_sha256:
        raise BackupError(f"{manifest.id}: the decrypted dump's SHA-256 is not the manifest's")
    return plain


def temporary(store: Path) -> "tempfile.TemporaryDirectory[str]":
    """Working space inside the store (same disk, same protection: the store is its owner's alone),
    removed afterwards; one left by a command that was killed is removed by the next."""
    store.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in store.glob(".work-*"):
        if stale.is_dir() and datetime.now(UTC).timestamp() - stale.stat().st_mtime > STALE_SECONDS:
            shutil.rmtree(stale, ignore_errors=True)
    return tempfile.TemporaryDirectory(dir=store, prefix=".work-")


# -- pruning -----------------------------------------------------------------------------------------------------


def months_after(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day where it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    days = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


def to_prune(backups: Sequence[Manifest], now: datetime) -> list[Manifest]:
    """The backups the rule lets go: never the newest; an older one once a newer backup has existed for
    at least KEEP_MONTHS months (the next one after it: it is the newer one that has existed longest).
    The caller passes only backups that are there (present, their size the manifest's)."""
    ordered = sorted(backups, key=lambda m: m.created)
    return [
        older
        for older, newer in zip(ordered, ordered[1:], strict=False)
        if months_after(newer.created, KEEP_MONTHS) <= now
    ]
