"""`manage.py restore BACKUP_DIR [--database-url URL]`: a backup of `manage.py backup` into an EMPTY database
and an EMPTY store, then proof that it is complete.

1. The backup itself is checked first (the dump's and every file's size and SHA-256 against manifest.json):
   a damaged backup is refused before anything is written.
2. The target database (--database-url, default DATABASE_URL) must have no tables and the default storage
   (SWMS_STORAGE_URL, or the media folder) no files: a restore never overwrites or merges.
3. pg_restore (one transaction, stops at the first error; objects owned by the user restoring), then every
   file written back through the storage API under its own name.
4. Verification: every table's row count and the applied migrations against the manifest, every file read
   back from the store against its size and SHA-256. Any difference is reported and the command exits
   non-zero.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from swms.health import PROBE_FOLDER

from .backup import (
    CHUNK,
    FILES,
    FORMAT,
    MANIFEST,
    applied_migrations,
    db_settings_from_url,
    pg_env,
    pg_program,
    psycopg_connect,
    table_counts,
    verify_folder,
)


def storage_has_files(storage, path: str = "") -> bool:
    """Whether the store holds any file (the readiness probe's folder aside)."""
    try:
        folders, files = storage.listdir(path)
    except FileNotFoundError:
        return False
    if files:
        return True
    return any(storage_has_files(storage, f"{path}{folder}/") for folder in folders
               if not (path == "" and folder == PROBE_FOLDER))


class Command(BaseCommand):
    help = "Restore a backup into an empty database and an empty store, then verify row counts and checksums."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="The backup folder written by `manage.py backup`.")
        parser.add_argument("--database-url", help="The empty database to restore into (default: DATABASE_URL).")

    def handle(self, *args, **options):
        from django.core.files.storage import default_storage

        folder = Path(options["backup"])
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise CommandError(f"{folder / MANIFEST} cannot be read: {e}") from None
        if manifest.get("format") != FORMAT:
            raise CommandError(f"{folder} is not a backup of this format ({FORMAT}).")

        # 1. The backup is intact.
        problems = verify_folder(folder, manifest)
        if problems:
            raise CommandError("The backup is damaged; nothing was restored:\n  " + "\n  ".join(problems))
        self.stdout.write(f"Backup {folder.name} of {manifest['created_at']}: intact "
                          f"({len(manifest['tables'])} tables, {len(manifest['files'])} files).")

        # 2. The targets are empty.
        target = (db_settings_from_url(options["database_url"]) if options["database_url"]
                  else connections["default"].settings_dict)
        with psycopg_connect(target, autocommit=True) as conn:
            server_version = conn.info.server_version
            tables = table_counts(conn.cursor())
        if tables:
            raise CommandError(f"The database {target.get('NAME')} is not empty ({len(tables)} tables): "
                               "restore only into an empty database.")
        if storage_has_files(default_storage):
            raise CommandError("The file store is not empty: restore only into an empty store.")

        # 3. Database, then files.
        result = subprocess.run(  # noqa: S603 - no shell; arguments are ours
            [pg_program("pg_restore", server_version), "--exit-on-error", "--single-transaction", "--no-owner",
             "--no-privileges", "--no-password", f"--dbname={target.get('NAME')}",
             str(folder / manifest["database"]["file"])],
            env=pg_env(target), capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()[:2000]}")
        self.stdout.write("Database restored.")
        for item in manifest["files"]:
            with open(folder / FILES / item["name"], "rb") as handle:
                stored = default_storage.save(item["name"], File(handle, name=item["name"]))
            if stored != item["name"]:
                raise CommandError(f"The store kept {item['name']!r} as {stored!r}.")
        self.stdout.write(f"Files restored: {len(manifest['files'])}.")

        # 4. Verification against the manifest.
        mismatches = []
        with psycopg_connect(target, autocommit=True) as conn:
            counts = table_counts(conn.cursor())
            migrations = applied_migrations(conn.cursor())
        for table in sorted(set(manifest["tables"]) | set(counts)):
            expected, found = manifest["tables"].get(table), counts.get(table)
            if expected != found:
                mismatches.append(f"table {table}: {found} rows, the backup had {expected}")
        if migrations != manifest["migrations"]:
            mismatches.append("applied migrations differ from the backup's")
        for item in manifest["files"]:
            digest, size = hashlib.sha256(), 0
            try:
                with default_storage.open(item["name"], "rb") as handle:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
            except FileNotFoundError:
                mismatches.append(f"file {item['name']}: not in the store")
                continue
            if (size, digest.hexdigest()) != (item["size"], item["sha256"]):
                mismatches.append(f"file {item['name']}: size or SHA-256 differs from the backup's")

        rows = sum(counts.values())
        self.stdout.write(f"Verified: {len(counts)} tables, {rows} rows; {len(manifest['files'])} files, "
                          f"{sum(item['size'] for item in manifest['files'])} bytes.")
        if manifest.get("missing_files"):
            self.stdout.write(f"Note: {len(manifest['missing_files'])} files were already missing when the backup "
                              "was taken (listed in manifest.json).")
        if mismatches:
            raise CommandError("The restore does not match the backup:\n  " + "\n  ".join(mismatches))
        self.stdout.write(self.style.SUCCESS("Restore complete: every row count and checksum matches the backup."))
