# The province of each activity's station region, stored for the officials' lists (#14, national scale).
# Added empty and filled here; made required and indexed in 0007 (PostgreSQL will not alter a table with the
# fill's deferred foreign-key checks still pending in the same transaction).

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    from services.activities import refresh_activity_provinces

    refresh_activity_provinces(apps.get_model("services", "Activity"), apps.get_model("stations", "Station"),
                               apps.get_model("accounts", "Region"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_official_region_idx"),
        ("services", "0005_search_indexes"),
        ("stations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="activity",
            name="province",
            field=models.ForeignKey(
                db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="+", to="accounts.region",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
