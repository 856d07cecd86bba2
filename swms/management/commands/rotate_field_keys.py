"""Re-encrypt every encrypted column (ID and mobile numbers, history tables included) under the first key of
SWMS_FIELD_KEYS, and with --hash-key-previous recompute every keyed hash under the new SWMS_HASH_KEY.

Field key: prepend a new Fernet key to SWMS_FIELD_KEYS (keep the old ones after it), restart, run this
command, then drop the old keys. Hash key: set SWMS_HASH_KEY to the new key and SWMS_HASH_KEY_PREVIOUS to the
old one (lookups match either meanwhile), restart, run with --hash-key-previous, then unset
SWMS_HASH_KEY_PREVIOUS. Rows go by primary key in batches, each batch committed on its own: an interrupted
run is simply run again (rows already under the current key and hash are left alone).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from swms import crypto
from swms.encrypted_fields import encrypted_models, process_table


class Command(BaseCommand):
    help = "Re-encrypt ID and mobile numbers under the current field key (and rehash them under a new hash key)."

    def add_arguments(self, parser):
        parser.add_argument("--hash-key-previous", action="store_true",
                            help="SWMS_HASH_KEY was changed (the old one in SWMS_HASH_KEY_PREVIOUS): recompute "
                                 "every keyed hash from the plain value under the new key.")
        parser.add_argument("--batch", type=int, default=2000, help="rows per query and per commit")

    def handle(self, *args, hash_key_previous=False, batch=2000, **options):
        from accounts.models import SecurityEvent
        from accounts.services import security_event_record

        if not crypto.field_keys():
            raise CommandError("SWMS_FIELD_KEYS is empty.")
        if hash_key_previous:
            previous = getattr(settings, "SWMS_HASH_KEY_PREVIOUS", "")
            if not previous or previous == settings.SWMS_HASH_KEY:
                raise CommandError("Set SWMS_HASH_KEY to the new key and SWMS_HASH_KEY_PREVIOUS to the old one.")
        mode = "rehash" if hash_key_previous else "rotate"
        totals = {}
        for model in encrypted_models():
            total = model._default_manager.count()
            with tqdm(total=total, desc=model._meta.label, unit="rows", file=self.stderr, disable=not total,
                      mininterval=0.5) as bar, _rewriting(model):
                totals[model._meta.label] = process_table(connection, model, mode=mode, batch=batch,
                                                          progress=bar.update)
        changed = sum(totals.values())
        detail = (f"rotate_field_keys{' --hash-key-previous' if hash_key_previous else ''}: {changed} rows "
                  f"rewritten under the current {'field and hash keys' if hash_key_previous else 'field key'}; "
                  + ", ".join(f"{label} {n}" for label, n in totals.items()))
        security_event_record(kind=SecurityEvent.Kind.KEY_ROTATION, username="manage.py", success=True,
                              detail=detail[:255])
        self.stdout.write(detail)


def _rewriting(model):
    """History tables are append-only (swms/append_only.py): their UPDATE trigger is lifted for this table
    while its tokens are rewritten, as the module allows for a key rotation."""
    from contextlib import nullcontext

    from simple_history.models import HistoricalChanges

    if connection.vendor != "postgresql" or not issubclass(model, HistoricalChanges):
        return nullcontext()
    from swms import append_only

    return append_only.rewrite(model, operations=(append_only.UPDATE,))
