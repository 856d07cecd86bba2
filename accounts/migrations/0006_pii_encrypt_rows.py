# Encrypt the existing ID and mobile numbers and fill their keyed hashes (P2), in batches, before the
# append-only triggers on the history tables exist. Works on PostgreSQL and SQLite; resumable.

from django.db import migrations

from swms.encrypted_fields import encrypt_existing


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_pii_encrypted"),
    ]
    run_before = [
        ("accounts", "0007_append_only"),
    ]

    operations = [
        migrations.RunPython(encrypt_existing(["accounts.User", "accounts.HistoricalUser"]), migrations.RunPython.noop, elidable=False),
    ]
