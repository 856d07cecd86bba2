"""Export jobs: format, heartbeat, retry attempt, size and expiry (issue #13)."""

import datetime

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def expire_existing(apps, schema_editor):
    """Files written before expiry existed expire SWMS_EXPORT_RETENTION_DAYS after they were written."""
    ExportJob = apps.get_model("swms", "ExportJob")
    days = datetime.timedelta(days=getattr(settings, "SWMS_EXPORT_RETENTION_DAYS", 7))
    for job in ExportJob.objects.filter(status="done", expires_at__isnull=True).only("pk", "finished_at",
                                                                                      "created_at"):
        job.expires_at = (job.finished_at or job.created_at) + days
        job.save(update_fields=["expires_at"])


class Migration(migrations.Migration):
    dependencies = [("swms", "0006_review_log_oversight_actions")]

    operations = [
        migrations.AddField(
            model_name="exportjob",
            name="attempt",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="exportjob",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportjob",
            name="format",
            field=models.CharField(choices=[("xlsx", "Excel"), ("csv", "CSV")], default="xlsx", max_length=4),
        ),
        migrations.AddField(
            model_name="exportjob",
            name="heartbeat_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="exportjob",
            name="size",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="exportjob",
            name="status",
            field=models.CharField(
                choices=[("pending", "Waiting"), ("running", "Running"), ("done", "Done"), ("failed", "Failed"),
                         ("expired", "Expired")],
                default="pending", max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="exportjob",
            index=models.Index(fields=["user", "-created_at"], name="exportjob_user_idx"),
        ),
        migrations.AddIndex(
            model_name="exportjob",
            index=models.Index(fields=["status", "heartbeat_at"], name="exportjob_status_idx"),
        ),
        migrations.RunPython(expire_existing, migrations.RunPython.noop),
    ]
