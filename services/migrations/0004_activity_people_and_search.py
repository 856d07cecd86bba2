"""Province-scale lists (issue #14): the activity keeps its client and worker counts and its clients' person
types (filled here from the links; kept by services.activities.refresh_activity_people), the officials' list
order as a partial index. The search indexes follow in 0005 (PostgreSQL refuses CREATE INDEX on a table with
deferred constraint checks pending from the fill in the same transaction)."""

from django.conf import settings
from django.db import migrations, models


def fill(apps, schema_editor):
    from services.activities import refresh_all_activity_people

    refresh_all_activity_people()


class Migration(migrations.Migration):

    dependencies = [
        ('services', '0003_queue_order_index'),
        ('stations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='activity',
            name='client_count',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='clients served'),
        ),
        migrations.AddField(
            model_name='activity',
            name='client_types',
            field=models.JSONField(blank=True, default=list, editable=False, verbose_name='person types of the clients'),
        ),
        migrations.AddField(
            model_name='activity',
            name='worker_count',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='workers taking part'),
        ),
        migrations.AddField(
            model_name='historicalactivity',
            name='client_count',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='clients served'),
        ),
        migrations.AddField(
            model_name='historicalactivity',
            name='client_types',
            field=models.JSONField(blank=True, default=list, editable=False, verbose_name='person types of the clients'),
        ),
        migrations.AddField(
            model_name='historicalactivity',
            name='worker_count',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='workers taking part'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['-started_at', '-id'], include=('station',), name='activity_list_order_idx'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['category', 'status', '-started_at', '-id'], name='activity_list_cat_idx'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
