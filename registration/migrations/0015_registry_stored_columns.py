"""Province-scale registry (issue #14): each worker keeps its current registration (the one ending last) and
each registration its counted CE hours since valid_from, filled here and kept by
registration/services/registry.py. The indexes follow in 0016 (PostgreSQL refuses CREATE INDEX on a table
with deferred constraint checks pending from the fill in the same transaction)."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    from registration.services.registry import REFRESH_ALL_SQL, refresh_rows

    if schema_editor.connection.vendor == "postgresql":
        for statement in REFRESH_ALL_SQL:
            schema_editor.execute(statement)
        return
    # Elsewhere (the SQLite demo) in batches, with the models as they are at this migration.
    SocialWorker = apps.get_model("registration", "SocialWorker")  # noqa: N806
    refresh_rows(Registration=apps.get_model("registration", "Registration"), SocialWorker=SocialWorker,
                 CERecord=apps.get_model("registration", "CERecord"),
                 worker_ids=SocialWorker.objects.values_list("pk", flat=True))


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0014_queue_order_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="registration",
            name="ce_hours",
            field=models.DecimalField(decimal_places=1, default=0, editable=False, max_digits=8,
                                      verbose_name="CE hours counted"),
        ),
        migrations.AddField(
            model_name="socialworker",
            name="current_registration",
            field=models.ForeignKey(blank=True, editable=False, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                    to="registration.registration", verbose_name="current registration"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
