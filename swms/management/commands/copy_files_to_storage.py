"""Copy the private files of a one-host installation from its disk into the object store, under the same names.

    SWMS_STORAGE_URL=s3://… python manage.py copy_files_to_storage [--source DIR] [--all] [--dry-run]

By default every file a FileField of any model refers to is copied from DIR (default MEDIA_ROOT) to the default
storage, which must be the object store (SWMS_STORAGE_URL); `--all` copies every file below DIR instead (files the
database no longer refers to as well). Idempotent: an object already there with the same size and checksum is
left alone, a different one is replaced. Each upload is checked afterwards (size, and the MD5 the store computed,
or the bytes read back). Files the database names but the disk lacks are listed; the command fails (exit 1) only
when an upload fails or does not verify.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, models
from django.utils.translation import gettext as _

from swms.storage import describe, is_object_storage, object_key

CHUNK = 1 << 20
PROGRESS_EVERY = 100


def _digests(path: Path) -> tuple[str, str]:
    """(sha256, md5) of a local file, read once."""
    sha, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - compared with the store's ETag, not for security
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


class Command(BaseCommand):
    help = _("Copy the private files from the local disk into the object storage (SWMS_STORAGE_URL), same names.")

    def add_arguments(self, parser):
        parser.add_argument("--source", default=None,
                            help=_("Folder holding the files (default: MEDIA_ROOT)."))
        parser.add_argument("--all", action="store_true", dest="all_files",
                            help=_("Copy every file below the folder, not only those the database refers to."))
        parser.add_argument("--dry-run", action="store_true", help=_("Only tell what would be copied."))

    def handle(self, *args, source, all_files, dry_run, **options):
        storage = default_storage
        if not is_object_storage(storage):
            raise CommandError(_("The default storage is the local filesystem: set SWMS_STORAGE_URL to the object "
                                 "storage to copy the files into."))
        self.storage = storage
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.verbosity = options.get("verbosity", 1)
        self.source = Path(source or settings.MEDIA_ROOT).resolve()
        if not self.source.is_dir():
            raise CommandError(_("%(folder)s is not a folder.") % {"folder": self.source})
        self.counts = {"copied": 0, "replaced": 0, "present": 0, "missing": 0, "failed": 0, "bytes": 0}
        self.missing: list[str] = []
        target = describe(settings.SWMS_STORAGE_URL) if settings.SWMS_STORAGE_URL else self.bucket
        self.stdout.write(_("%(what)s from %(source)s to %(target)s%(dry)s") % {
            "what": _("Every file") if all_files else _("The files the database refers to"),
            "source": self.source, "target": target, "dry": _(" (dry run: nothing is written)") if dry_run else ""})
        seen = 0
        for name in (self._all_names() if all_files else self._referenced_names()):
            seen += 1
            self._one(name, dry_run)
            if self.verbosity >= 1 and seen % PROGRESS_EVERY == 0:
                self.stdout.write(_("… %(n)d files looked at") % {"n": seen})
        c = self.counts
        summary = _("%(seen)d files: %(copied)d copied (%(mb).1f MB), %(replaced)d replaced, %(present)d already "
                    "there, %(missing)d missing on disk, %(failed)d failed.") % {
            "seen": seen, "copied": c["copied"], "mb": c["bytes"] / 2**20, "replaced": c["replaced"],
            "present": c["present"], "missing": c["missing"], "failed": c["failed"]}
        if dry_run:
            summary = _("Dry run: %(seen)d files: %(copied)d would be copied, %(replaced)d replaced, %(present)d are "
                        "already there, %(missing)d missing on disk.") % {
                "seen": seen, "copied": c["copied"], "replaced": c["replaced"], "present": c["present"],
                "missing": c["missing"]}
        for name in self.missing[:50]:
            self.stderr.write(_("Missing on disk: %(name)s") % {"name": name})
        if c["failed"]:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))

    # --- What to copy ---------------------------------------------------------------------------------------

    def _referenced_names(self):
        """The names in every FileField (stored in the default storage) of every model, each field's once."""
        for model in apps.get_models():
            if model._meta.proxy or not model._meta.managed:
                continue
            for field in model._meta.local_concrete_fields:
                if not isinstance(field, models.FileField) or field.storage is not default_storage:
                    continue
                column = field.attname
                rows = (model._base_manager.using(DEFAULT_DB_ALIAS).exclude(**{column: ""})
                        .exclude(**{f"{column}__isnull": True}).order_by().values_list(column, flat=True).distinct())
                yield from rows.iterator(chunk_size=2000)

    def _all_names(self):
        for folder, _dirs, files in os.walk(self.source):
            for file in sorted(files):
                yield Path(folder, file).relative_to(self.source).as_posix()

    # --- One file -------------------------------------------------------------------------------------------

    def _say(self, text):
        if self.verbosity >= 2:
            self.stdout.write(text)

    def _head(self, key):
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise

    def _stored_sha256(self, key) -> str:
        digest = hashlib.sha256()
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest()

    def _matches(self, head, key, size, sha256, md5) -> bool:
        """Whether the stored object holds these bytes: its recorded SHA-256, else the store's MD5 ETag (single-part
        uploads), else the bytes read back."""
        if head is None or head["ContentLength"] != size:
            return False
        recorded = (head.get("Metadata") or {}).get("sha256")
        if recorded:
            return recorded == sha256
        etag = head.get("ETag", "").strip('"')
        if len(etag) == 32 and "-" not in etag:
            return etag == md5
        return self._stored_sha256(key) == sha256

    def _one(self, name: str, dry_run: bool) -> None:
        local = (self.source / name).resolve()
        if not local.is_relative_to(self.source):
            self.counts["failed"] += 1
            self.stderr.write(_("Refused (outside the folder): %(name)s") % {"name": name})
            return
        if not local.is_file():
            self.counts["missing"] += 1
            self.missing.append(name)
            return
        key = object_key(self.storage, name)
        size = local.stat().st_size
        sha256, md5 = _digests(local)
        head = self._head(key)
        if self._matches(head, key, size, sha256, md5):
            self.counts["present"] += 1
            self._say(_("Already there: %(name)s") % {"name": name})
            return
        what = "replaced" if head is not None else "copied"
        if dry_run:
            self.counts[what] += 1
            self._say(_("Would copy: %(name)s") % {"name": name})
            return
        params = self.storage._get_write_parameters(key)
        params["Metadata"] = {**params.get("Metadata", {}), "sha256": sha256}
        try:
            self.client.upload_file(str(local), self.bucket, key, ExtraArgs=params,
                                    Config=self.storage.transfer_config)
            stored = self._head(key)
            etag = (stored or {}).get("ETag", "").strip('"')
            verified = stored is not None and stored["ContentLength"] == size and (
                etag == md5 if len(etag) == 32 and "-" not in etag else self._stored_sha256(key) == sha256)
        except Exception as e:  # noqa: BLE001 - counted and reported; the others are still copied
            self.counts["failed"] += 1
            self.stderr.write(_("Failed: %(name)s: %(error)s") % {"name": name, "error": e})
            return
        if not verified:
            self.counts["failed"] += 1
            self.stderr.write(_("Failed: %(name)s: the stored object does not match the file") % {"name": name})
            return
        self.counts[what] += 1
        self.counts["bytes"] += size
        self._say(_("Copied: %(name)s") % {"name": name})
