"""`manage.py backup [--output DIR]`: the database and every stored file, with a manifest to verify them by
(MLPS 数据备份与恢复; the restore drill is in README.md, Operations → Backup and restore).

The backup is a folder `swms-backup-<UTC time>` (mode 0700) holding
- `database.dump`: pg_dump --format=custom of the database, taken in one snapshot;
- `files/<name>`: a copy of every file the database refers to (every FileField of every model), read through
  the default storage, so a local media folder and an S3 bucket are backed up the same way;
- `manifest.json`: when, the applied migrations, the row count of every table (counted in the dump's snapshot),
  and each file's name, size and SHA-256 (and the dump's), so `manage.py restore` can prove a restore complete.
  It holds no personal data: table names, numbers, and the storage names of files (random or structural).

The folder is written as `.<name>.partial` and renamed only after everything in it was read back and checked
against the manifest (and pg_restore read the dump's table of contents). The dump holds the personal-data
columns encrypted as they are in the database; the keys (SWMS_FIELD_KEYS, SWMS_HASH_KEY) and the certificate
signing key are never in a backup: keep them apart (see the README).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, models, transaction

FORMAT = "swms-backup/1"
DUMP = "database.dump"
MANIFEST = "manifest.json"
FILES = "files"
CHUNK = 1024 * 1024


# --- Shared with restore.py ---------------------------------------------------------------------------------


def db_settings_from_url(url: str) -> dict:
    import environ

    config = environ.Env.db_url_config(url)
    if "sqlite" in config.get("ENGINE", ""):
        raise CommandError("Backups need PostgreSQL (DATABASE_URL postgres://…).")
    return config


def pg_env(db: dict) -> dict:
    """The environment that points pg_dump / pg_restore / psycopg at `db` (a DATABASES entry), password
    included, so that nothing secret appears on a command line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    pairs = {
        "PGHOST": db.get("HOST") or "", "PGPORT": str(db.get("PORT") or ""), "PGUSER": db.get("USER") or "",
        "PGPASSWORD": db.get("PASSWORD") or "", "PGDATABASE": db.get("NAME") or "",
    }
    options = db.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"), ("sslcert", "PGSSLCERT"),
                             ("sslkey", "PGSSLKEY"), ("connect_timeout", "PGCONNECT_TIMEOUT")):
        if options.get(option) not in (None, ""):
            pairs[variable] = str(options[option])
    env.update({key: value for key, value in pairs.items() if value})
    return env


def psycopg_connect(db: dict, **kwargs):
    import psycopg

    env = pg_env(db)
    return psycopg.connect(
        host=env.get("PGHOST"), port=env.get("PGPORT"), user=env.get("PGUSER"), password=env.get("PGPASSWORD"),
        dbname=env.get("PGDATABASE"), connect_timeout=int(env.get("PGCONNECT_TIMEOUT", "10")), **kwargs,
    )


def pg_program(name: str, server_version: int) -> str:
    """The PostgreSQL client program for the server's major version (pg_dump refuses a newer server):
    SWMS_PG_BIN_DIR, else Debian's /usr/lib/postgresql/<major>/bin, else the PATH."""
    major = server_version // 10000
    candidates = []
    if os.environ.get("SWMS_PG_BIN_DIR"):
        candidates.append(Path(os.environ["SWMS_PG_BIN_DIR"]) / name)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin/{name}"))
    found = next((str(path) for path in candidates if path.is_file()), None) or shutil.which(name)
    if not found:
        raise CommandError(f"{name} not found (install postgresql-client-{major} or set SWMS_PG_BIN_DIR).")
    # The PostgreSQL client found above, no shell.
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    match = re.search(r"(\d+)(?:\.(\d+))?", version)
    if not match or int(match.group(1)) < major:
        raise CommandError(f"{found} is {version.strip()}; the server is PostgreSQL {major}: "
                           f"use a client of version {major} or later.")
    return found


def sha256_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def table_counts(cursor) -> dict[str, int]:
    """Rows of every table outside PostgreSQL's own schemas, as {"schema.table": count}."""
    cursor.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    )
    counts = {}
    for schema, table in cursor.fetchall():
        quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))
        cursor.execute(f"SELECT count(*) FROM {quoted}")  # noqa: S608 - identifiers quoted above
        counts[f"{schema}.{table}"] = cursor.fetchone()[0]
    return counts


def applied_migrations(cursor) -> list[list[str]]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    return [list(row) for row in cursor.fetchall()]


def safe_name(name: str) -> bool:
    """A storage name that stays inside the backup's files/ folder."""
    return (bool(name) and not name.startswith("/") and "\\" not in name and "\x00" not in name
            and posixpath.normpath(name) == name and not name.startswith(".."))


# --- The command --------------------------------------------------------------------------------------------


def stored_file_names(using: str) -> list[str]:
    """Every file name held by a FileField of any model (the files the database refers to)."""
    names: set[str] = set()
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                values = (model._base_manager.using(using).exclude(**{f"{field.attname}__isnull": True})
                          .exclude(**{field.attname: ""}).values_list(field.attname, flat=True).distinct())
                names.update(values)
    return sorted(names)


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and every stored file, with a manifest of row counts and checksums."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="Folder to write the backup into (default SWMS_BACKUP_DIR).")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")
        parser.add_argument("--database-url", help="Where pg_dump connects (default: the alias's settings); "
                                                   "point it at PostgreSQL itself, not at PgBouncer.")

    def handle(self, *args, **options):
        from django.core.files.storage import default_storage

        alias = options["database"]
        connection = connections[alias]
        if connection.vendor != "postgresql":
            raise CommandError("Backups need PostgreSQL (DATABASE_URL postgres://…).")
        if connection.in_atomic_block:
            raise CommandError("Run the backup outside a transaction.")
        dump_db = (db_settings_from_url(options["database_url"]) if options["database_url"]
                   else connection.settings_dict)
        parent = Path(options["output"] or settings.SWMS_BACKUP_DIR)
        parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        name = f"swms-backup-{now:%Y%m%dT%H%M%SZ}"
        final = parent / name
        if final.exists():
            raise CommandError(f"{final} exists already.")
        partial = parent / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(mode=0o700)
        os.chmod(partial, 0o700)
        try:
            manifest = self._write(connection, alias, dump_db, partial, now, default_storage)
            self._verify(partial, manifest, connection.pg_version)
            partial.rename(final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        total = sum(item["size"] for item in manifest["files"])
        self.stdout.write(
            f"Backup written and verified: {final}\n"
            f"  database: {sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables "
            f"({manifest['database']['size']} bytes)\n"
            f"  files: {len(manifest['files'])} ({total} bytes)"
            + (f", {len(manifest['missing_files'])} referenced but missing" if manifest["missing_files"] else "")
        )
        for missing in manifest["missing_files"]:
            self.stderr.write(f"  missing in the store (referenced by the database): {missing}")
        self.stdout.write(str(final))

    def _write(self, connection, alias, dump_db, folder: Path, now, storage) -> dict:
        pg_dump = pg_program("pg_dump", connection.pg_version)
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            # One snapshot for the dump, the counts and the file list: they describe the same moment.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            result = subprocess.run(  # noqa: S603 - no shell; arguments are ours
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password",
                 f"--file={folder / DUMP}"],
                env=pg_env(dump_db), capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise CommandError(f"pg_dump failed: {result.stderr.strip()[:2000]}")
            counts = table_counts(cursor)
            migrations = applied_migrations(cursor)
            names = stored_file_names(alias)
        files, missing = [], []
        root = folder / FILES
        for file_name in names:
            if not safe_name(file_name):
                raise CommandError(f"A stored file name leaves the backup folder: {file_name!r}")
            target = root / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            try:
                with storage.open(file_name, "rb") as source, open(target, "wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            except FileNotFoundError:
                target.unlink(missing_ok=True)
                missing.append(file_name)
                continue
            files.append({"name": file_name, "size": size, "sha256": digest.hexdigest()})
        dump_size, dump_sha = sha256_file(folder / DUMP)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "database": {"file": DUMP, "size": dump_size, "sha256": dump_sha,
                         "server_version": connection.pg_version},
            "migrations": migrations,
            "tables": counts,
            "files": files,
            "missing_files": missing,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        return manifest

    def _verify(self, folder: Path, manifest: dict, server_version: int):
        problems = verify_folder(folder, manifest)
        listing = subprocess.run([pg_program("pg_restore", server_version), "--list", str(folder / DUMP)],  # noqa: S603
                                 capture_output=True, text=True)
        if listing.returncode != 0:
            problems.append(f"{DUMP}: pg_restore cannot read it ({listing.stderr.strip()[:500]})")
        if problems:
            raise CommandError("The backup does not read back as written:\n  " + "\n  ".join(problems))


def verify_folder(folder: Path, manifest: dict) -> list[str]:
    """What in a backup folder differs from its manifest (the dump and every file: size and SHA-256)."""
    problems = []
    dump = folder / manifest["database"]["file"]
    if not dump.is_file():
        problems.append(f"{DUMP}: missing")
    elif sha256_file(dump) != (manifest["database"]["size"], manifest["database"]["sha256"]):
        problems.append(f"{DUMP}: checksum differs from the manifest")
    for item in manifest["files"]:
        if not safe_name(item["name"]):
            problems.append(f"unsafe file name in the manifest: {item['name']!r}")
            continue
        path = folder / FILES / item["name"]
        if not path.is_file():
            problems.append(f"{FILES}/{item['name']}: missing")
        elif sha256_file(path) != (item["size"], item["sha256"]):
            problems.append(f"{FILES}/{item['name']}: checksum differs from the manifest")
    return problems
