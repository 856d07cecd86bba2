"""Review-log indexes for the review dashboard (issue #13). Filled in by the dashboard work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("swms", "0007_export_jobs")]

    operations = []
