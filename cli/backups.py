"""`ccvc backup create | list | verify | restore | prune | key | schedule`: monthly backups kept as
Decision 832 says (db/backups.py has the formats and the rule; docs/operations.md the runbook)."""

import argparse
import asyncio
import shlex
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from cli._common import CommandError, Commands, database, print_json, run
from db import backups
from db.backups import Manifest
from db.engine import create_engine
from db.migrate import display
from gateway.config import Settings


def _store(settings: Settings, args: argparse.Namespace) -> Path:
    return Path(args.dir) if args.dir else settings.backup_dir


def _key(settings: Settings) -> bytes | None:
    return None if settings.backup_key_file is None else backups.load_key(settings.backup_key_file)


def _now(args: argparse.Namespace) -> datetime:
    """Now, or the moment `--now` names (to see what prune would do on a given day)."""
    given: str | None = getattr(args, "now", None)
    if given is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        raise CommandError(f"--now {given!r} is not a date and time (2027-03-01T00:00:00+07:00)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    store, key = _store(settings, args), _key(settings)
    if settings.env == "production" and key is None:
        raise CommandError("refusing an unencrypted backup of personal data in production: set CCVC_BACKUP_KEY_FILE")
    manifest = run(_create(settings, store, key, _now(args)))
    print(
        f"Backed up {display(settings.database_url)} as {manifest.id} in {store} ({manifest.data_bytes:,} bytes, "
        f"{'encrypted' if manifest.encrypted else 'NOT encrypted'}, {sum(manifest.tables.values()):,} rows)."
    )
    return 0


async def _create(settings: Settings, store: Path, key: bytes | None, now: datetime) -> Manifest:
    backup_id = backups.new_id(now)
    if (store / f"{backup_id}.json").exists():
        raise CommandError(f"{backup_id} exists already in {store}: one backup a second")
    data = store / f"{backup_id}.data"
    with backups.temporary(store) as work:
        try:
            revision, tables, content, dumped = await _dump_consistently(settings, data, key, backup_id, Path(work))
        except BaseException:
            data.unlink(missing_ok=True)  # half a backup is none: it would only be mistaken for one
            raise
    manifest = Manifest(
        id=backup_id,
        created_at=now.astimezone(UTC).isoformat(),
        backend="sqlite" if settings.database_url.startswith("sqlite") else "postgresql",
        source=display(settings.database_url),
        schema_revision=revision,
        tables=tables,
        content_sha256=content,
        dump_sha256=dumped,
        data_sha256=backups.sha256_file(data),
        data_bytes=data.stat().st_size,
        encrypted=key is not None,
    )
    backups.write_manifest(store, backups.sealed_manifest(manifest, key))  # last: no manifest, no backup
    return manifest


async def _dump_consistently(
    settings: Settings, data: Path, key: bytes | None, backup_id: str, work: Path
) -> tuple[str, dict[str, int], str, str]:
    """The dump sealed into `data`, and the revision, counts and content hash of exactly what it holds
    while others write, and its SHA-256: on PostgreSQL pg_dump reads the snapshot of the transaction
    that counts (pg_export_snapshot) and its output is sealed as it comes; on SQLite the copy (a private
    file in the store's working space) is counted itself, then sealed."""
    async with database(settings) as engine:
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="REPEATABLE READ")
                snapshot = str((await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one())
                revision = await backups.schema_revision(conn)
                tables, content = await backups.content(conn)
                # The transaction stays open while pg_dump reads its snapshot.
                dumped = await asyncio.to_thread(
                    backups.dump_postgres, settings.database_url, data, key, backup_id, snapshot
                )
                return revision, tables, content, dumped
    copy = work / "copy.db"
    await asyncio.to_thread(backups.dump_sqlite, settings.database_url, copy)
    counting = create_engine(f"sqlite+aiosqlite:///{copy}")
    try:
        async with counting.connect() as conn:
            revision = await backups.schema_revision(conn)
            tables, content = await backups.content(conn)
    finally:
        await counting.dispose()
    with copy.open("rb") as source:
        dumped = backups.seal(source, data, key, backup_id)
    return revision, tables, content, dumped


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    found = backups.manifests(_store(settings, args))
    if args.json:
        print_json(
            [
                {
                    "id": m.id,
                    "createdAt": m.created_at,
                    "bytes": m.data_bytes,
                    "encrypted": m.encrypted,
                    "schemaRevision": m.schema_revision,
                    "rows": sum(m.tables.values()),
                }
                for m in found
            ]
        )
        return 0
    for m in found:
        print(
            f"{m.id}  {m.created_at}  {m.data_bytes:>14,} bytes  schema {m.schema_revision}  "
            f"{sum(m.tables.values()):,} rows  {'encrypted' if m.encrypted else 'NOT encrypted'}"
        )
    if not found:
        print(f"No backup in {_store(settings, args)}.")
    return 0


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    store, key = _store(settings, args), _key(settings)
    manifest = backups.find(store, args.id)
    backups.check_manifest(manifest, key, _now(args))
    backups.check_stored(store, manifest)
    if manifest.encrypted and key is not None:
        with backups.temporary(store):
            if backups.unseal(store / manifest.data_file, None, key, manifest.id) != manifest.dump_sha256:
                raise CommandError(f"{manifest.id}: the decrypted dump's SHA-256 is not the manifest's", 1)
        print(f"{manifest.id}: intact, every chunk decrypts and authenticates, the dump is the one backed up.")
    elif manifest.encrypted:
        print(f"{manifest.id}: the stored file is intact (no key here to decrypt it: CCVC_BACKUP_KEY_FILE).")
    else:
        print(f"{manifest.id}: intact (SHA-256 and size are the manifest's).")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings, args)
    manifest = backups.find(store, args.id)
    backups.check_manifest(manifest, _key(settings), _now(args))
    backend = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    if manifest.backend != backend:
        raise CommandError(f"{manifest.id} is a {manifest.backend} backup; CCVC_DATABASE_URL is {backend}")
    run(_restore(settings, store, manifest))
    print(
        f"Restored {manifest.id} into {display(settings.database_url)}: {sum(manifest.tables.values()):,} rows "
        "in every table as backed up, content hash equal."
    )
    return 0


async def _restore(settings: Settings, store: Path, manifest: Manifest) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            if not await backups.is_empty(conn):
                raise CommandError(f"{display(settings.database_url)} holds data: restore into an empty database")
    finally:
        await engine.dispose()
    with backups.temporary(store) as work:
        dumped = backups.plain_copy(store, manifest, _key(settings), Path(work))
        backups.load(settings.database_url, dumped)
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            tables, content = await backups.content(conn)
    finally:
        await engine.dispose()
    if tables != manifest.tables or content != manifest.content_sha256:
        differ = sorted(
            name for name in manifest.tables.keys() | tables.keys() if manifest.tables.get(name) != tables.get(name)
        )
        raise CommandError(
            f"restored, but not as backed up: {'row counts of ' + ', '.join(differ) if differ else 'content hash'} differ",
            1,
        )


def cmd_prune(settings: Settings, args: argparse.Namespace) -> int:
    store, key, now = _store(settings, args), _key(settings), _now(args)
    known = backups.manifests(store)
    for manifest in known:  # one not sealed with the key (where there is one) stops it: nothing is deleted
        backups.check_manifest(manifest, key, now)
    present = [m for m in known if backups.present(store, m)]
    for missing in sorted({m.id for m in known} - {m.id for m in present}):
        print(f"{missing}: its data file is missing or not its size; it counts for nothing (`ccvc backup verify --id`)")
    going = backups.to_prune(present, now)
    for manifest in going:
        if args.dry_run:
            print(f"would delete {manifest.id} ({manifest.created_at})")
            continue
        (store / f"{manifest.id}.json").unlink()  # the manifest first: a half-deleted backup is listed no more
        (store / manifest.data_file).unlink(missing_ok=True)
        print(f"deleted {manifest.id} ({manifest.created_at})")
    if not going:
        print("Nothing to prune: every older backup is kept until a newer one is three months old.")
    return 0


def cmd_key(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.out)
    backups.new_key(path)
    print(
        f"Wrote a new backup key to {path} (mode 600). Keep a copy apart from the backups: without it they cannot be read."
    )
    return 0


def cmd_schedule(settings: Settings, args: argparse.Namespace) -> int:
    """The monthly job, for cron and for Kubernetes: back up, verify, prune by the rule."""
    store = str(_store(settings, args))
    steps = f"ccvc backup create --dir {store} && ccvc backup verify --dir {store} && ccvc backup prune --dir {store}"
    print("# crontab (the gateway's host): 02:00 on the 1st of every month, in the gateway's directory")
    print(f"0 2 1 * * cd {shlex.quote(str(Path.cwd()))} && PATH=.venv/bin:$PATH {steps}")
    print()
    print(CRONJOB.format(steps=steps, store=store))
    return 0


# The one source of the backup CronJob: deploy/k8s/backup-cronjob.yaml is this, as `ccvc backup schedule
# --dir /var/lib/ccvc/backups` prints it (tests/deploy/test_k8s.py holds them equal). Names and security as
# deploy/k8s/deployment.yaml: the Secret and ConfigMap `ccvc-gateway`, user 10001, a read-only root.
CRONJOB = """# Kubernetes (kubectl apply -f -): the same job in the gateway's image, the store on its own volume
apiVersion: batch/v1
kind: CronJob
metadata:
  name: ccvc-backup
  labels:
    app.kubernetes.io/name: ccvc-gateway
    app.kubernetes.io/component: backup
spec:
  schedule: "0 2 1 * *"
  timeZone: Asia/Ho_Chi_Minh
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        metadata:
          labels:
            app.kubernetes.io/name: ccvc-gateway
            app.kubernetes.io/component: backup
        spec:
          restartPolicy: OnFailure
          securityContext:
            runAsNonRoot: true
            runAsUser: 10001
            runAsGroup: 10001
            fsGroup: 10001
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: backup
              image: ccvc-gateway:latest
              command: ["/bin/sh", "-c", "{steps}"]
              envFrom:
                - configMapRef:
                    name: ccvc-gateway
                - secretRef:
                    name: ccvc-gateway
              env:
                - name: CCVC_BACKUP_KEY_FILE
                  value: /run/secrets/ccvc-backup/key
              resources:
                requests:
                  cpu: 100m
                  memory: 256Mi
                limits:
                  memory: 1Gi
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities:
                  drop: ["ALL"]
              volumeMounts:
                - name: store
                  mountPath: {store}
                - name: backup-key
                  mountPath: /run/secrets/ccvc-backup
                  readOnly: true
                - name: tmp
                  mountPath: /tmp
          volumes:
            - name: store
              persistentVolumeClaim:
                claimName: ccvc-backups
            - name: backup-key
              secret:
                secretName: ccvc-backup-key
                defaultMode: 0440
            - name: tmp
              emptyDir: {{}}"""


def register(commands: Commands) -> None:
    group = commands.add_parser("backup", help="monthly backups: create, list, verify, restore, prune")
    sub = group.add_subparsers(dest="backup_command", required=True)

    def add(name: str, help: str, run: object) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help)
        parser.add_argument("--dir", help="the backup store (default CCVC_BACKUP_DIR, ./var/backups)")
        parser.set_defaults(run=run)
        return parser

    add("create", "back up CCVC_DATABASE_URL (encrypted with CCVC_BACKUP_KEY_FILE)", cmd_create)
    listing = add("list", "the store's backups, oldest first", cmd_list)
    listing.add_argument("--json", action="store_true")
    add("verify", "check a backup (the newest, or --id) without restoring it", cmd_verify).add_argument("--id")
    add("restore", "restore the newest backup (or --id) into the empty CCVC_DATABASE_URL", cmd_restore).add_argument(
        "--id"
    )
    prune = add(
        "prune",
        "delete what the rule lets go: never the newest; an older one once a newer one is 3 months old",
        cmd_prune,
    )
    prune.add_argument("--dry-run", action="store_true")
    prune.add_argument("--now", help=argparse.SUPPRESS)
    key = sub.add_parser("key", help="write a new backup key (256 bits, hex) to a file")
    key.add_argument("--out", required=True)
    key.set_defaults(run=cmd_key)
    add("schedule", "print the monthly job: a crontab line and a Kubernetes CronJob", cmd_schedule)
