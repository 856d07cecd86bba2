"""Review-log support for the review dashboard (issue #13).

- `submitted_at` on reviewers' rows: the submission each decision acted on, so "days to decision" is a
  subtraction on the row instead of a look-back per decision; existing rows are filled in one statement.
- On PostgreSQL, a partial covering index of the reviewers' decisions by time with what the dashboard groups
  and counts by (queue, item, office, action, submission), read without touching the table. Plain SQL
  because the model keeps no partial covering index (the embedded SQLite demo does not need it).
Before these the province's dashboard read ~6,400 heap pages of decisions and probed the item index once
per decision (645 ms p50 at province scale).
"""

from django.db import migrations, models

DECISIONS = (
    "CREATE INDEX IF NOT EXISTS swms_reviewlog_decision_idx ON swms_reviewlog (created_at) "
    "INCLUDE (content_type_id, object_id, actor_region_id, action, submitted_at) "
    "WHERE step IN ('initial', 'final') AND action IN ('approve', 'reject', 'return')"
)


def fill(apps, schema_editor):
    from swms.models import fill_review_log_submissions

    fill_review_log_submissions(schema_editor.connection)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DECISIONS)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS swms_reviewlog_decision_idx")


class Migration(migrations.Migration):
    dependencies = [("swms", "0007_export_jobs")]

    operations = [
        migrations.AddField(
            model_name="reviewlog",
            name="submitted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="submitted at"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create, drop, elidable=False),
    ]
