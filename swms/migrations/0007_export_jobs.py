"""Export jobs: format, heartbeat, expiry (issue #13). Filled in by the export work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("swms", "0006_review_log_oversight_actions")]

    operations = []
