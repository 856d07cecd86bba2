import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0006_activity_province"),
    ]

    operations = [
        migrations.AlterField(
            model_name="activity",
            name="province",
            field=models.ForeignKey(
                db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                to="accounts.region",
            ),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)), fields=["province", "-started_at", "-id"],
                include=("station",), name="activity_province_order_idx",
            ),
        ),
    ]
