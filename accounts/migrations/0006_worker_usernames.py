# Workers' accounts whose username is their ID number (P1/P2: a username is stored and logged in plain text)
# get a non-personal one (accounts.usernames); their history rows lose the old username too. Runs before the
# history tables become append-only (0007_append_only) and after the numbers are encrypted (the ID number is
# compared by its keyed hash).

from django.db import migrations

from accounts.usernames import worker_username
from swms.encrypted_fields import hash_value


def rename_workers(apps, schema_editor):
    connection = schema_editor.connection
    User = apps.get_model("accounts", "User")
    qn = connection.ops.quote_name
    table = qn(User._meta.db_table)
    history = qn(apps.get_model("accounts", "HistoricalUser")._meta.db_table)
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, username, id_number_hash FROM {table} "  # noqa: S608
                           f"WHERE id > %s AND id_number_hash IS NOT NULL ORDER BY id LIMIT 2000", [last])
            rows = cursor.fetchall()
        if not rows:
            return
        renames = [(worker_username(), pk) for pk, username, hashed in rows if hash_value(username) == hashed]
        with connection.cursor() as cursor:
            for new, pk in renames:  # few rows: statement by statement
                cursor.execute(f"UPDATE {table} SET username = %s WHERE id = %s", [new, pk])  # noqa: S608
                # History rows of the account: the old username (the ID number) replaced by the new one.
                cursor.execute(f"UPDATE {history} SET username = %s WHERE id = %s", [new, pk])  # noqa: S608
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_pii_encrypt_rows"),
    ]
    run_before = [
        ("accounts", "0007_append_only"),
    ]

    operations = [
        migrations.RunPython(rename_workers, migrations.RunPython.noop, elidable=False),
    ]
