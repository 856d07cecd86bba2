# Chain the security events written before the hash chain existed (L2): each row's prev_hash and entry_hash,
# in id order, as accounts/audit_chain.py computes them. The append-only trigger is lifted for this one UPDATE.

import pgtrigger
from django.db import migrations


def chain_existing(apps, schema_editor):
    from accounts import audit_chain

    SecurityEvent = apps.get_model("accounts", "SecurityEvent")
    previous = ""
    with pgtrigger.ignore("accounts.SecurityEvent:append_only_update"):
        for event in SecurityEvent.objects.order_by("id").iterator(chunk_size=2000):
            if event.entry_hash and event.prev_hash == previous:
                previous = event.entry_hash
                continue
            event.prev_hash = previous
            event.entry_hash = audit_chain.entry_hash(event)
            SecurityEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, entry_hash=event.entry_hash)
            previous = event.entry_hash


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_append_only'),
    ]

    operations = [
        migrations.RunPython(chain_existing, migrations.RunPython.noop, elidable=False),
    ]
