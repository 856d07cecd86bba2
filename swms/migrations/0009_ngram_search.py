"""The `swms_ngrams(text)` SQL function behind name search (swms/search.py), PostgreSQL only: the distinct
characters and character pairs of a text, for GIN indexes that answer two-character Chinese names."""

from django.db import migrations


def create(apps, schema_editor):
    from swms.search import NGRAMS_FUNCTION_SQL

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NGRAMS_FUNCTION_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS swms_ngrams(text)")


class Migration(migrations.Migration):
    dependencies = [("swms", "0008_review_dashboard")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
