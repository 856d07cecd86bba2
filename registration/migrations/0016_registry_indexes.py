"""Province-scale registry and certificates (issue #14): the registry's order over registered workers, its
state filters and its n-gram name search (swms/search.py: two-character Chinese names included); the
certificates page's order and its list of certificates due but not issued."""

from django.db import migrations, models

from swms.search import ngram_index


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0015_registry_stored_columns"),
        ("swms", "0009_ngram_search"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="registration",
            index=models.Index(fields=["status", "valid_to"], name="registration_status_valid_to"),
        ),
        migrations.AddIndex(
            model_name="socialworker",
            index=models.Index(condition=models.Q(("current_registration__isnull", False)), fields=["name", "id"],
                               name="socialworker_registry_order"),
        ),
        migrations.AddIndex(
            model_name="registration",
            index=models.Index(condition=models.Q(("status", "valid")), fields=["certificate_due_on", "id"],
                               name="registration_certificate_due"),
        ),
        migrations.AddIndex(
            model_name="certificate",
            index=models.Index(fields=["issued_at", "id"], name="certificate_list_order"),
        ),
        migrations.AddIndex(
            model_name="socialworker",
            index=models.Index(condition=models.Q(("current_registration__isnull", False)), fields=["work_region", "id"],
                               include=["current_registration"], name="socialworker_registry_region"),
        ),
        migrations.AddIndex(
            model_name="registration",
            index=models.Index(condition=models.Q(("status", "valid")), fields=["region", "certificate_due_on"],
                               include=["id"], name="registration_due_by_region"),
        ),
        migrations.AddIndex(
            model_name="registration",
            index=models.Index(fields=["id"], include=["level", "ce_hours"], name="registration_ce_lookup"),
        ),
        ngram_index("socialworker", "name", "socialworker_name_ngram_idx"),
    ]
