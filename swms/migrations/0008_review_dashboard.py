"""Review-log indexes for the review dashboard (issue #13).

Two partial covering indexes on PostgreSQL, which read the dashboard's figures without touching the table:
- the reviewers' decisions by time, with what the dashboard groups and counts by (queue, office, item, action);
- each item's submissions by time, for "the submission a decision decided on" (median days to decision).
Without them the province's dashboard read ~6,400 heap pages of decisions and probed the item index once
per decision (645 ms p50 at province scale). Plain SQL because the model keeps no partial/covering index
(the embedded SQLite demo does not need them); the model state is unchanged.
"""

from django.db import migrations

DECISIONS = (
    "CREATE INDEX IF NOT EXISTS swms_reviewlog_decision_idx ON swms_reviewlog (created_at) "
    "INCLUDE (content_type_id, object_id, actor_region_id, action) "
    "WHERE step IN ('initial', 'final') AND action IN ('approve', 'reject', 'return')"
)
SUBMITS = (
    "CREATE INDEX IF NOT EXISTS swms_reviewlog_submit_idx ON swms_reviewlog (content_type_id, object_id, created_at) "
    "WHERE action = 'submit'"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DECISIONS)
        schema_editor.execute(SUBMITS)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS swms_reviewlog_decision_idx")
        schema_editor.execute("DROP INDEX IF EXISTS swms_reviewlog_submit_idx")


class Migration(migrations.Migration):
    dependencies = [("swms", "0007_export_jobs")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
