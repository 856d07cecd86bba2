"""On PostgreSQL, GIN indexes for name search through n-grams (swms/search.py: two-character Chinese names
included) and for the person types of clients and of activities' clients (jsonb containment)."""

from django.db import migrations

from swms.search import PostgresIndex, ngram_index


class Migration(migrations.Migration):
    dependencies = [("services", "0004_activity_people_and_search"), ("swms", "0009_ngram_search")]

    operations = [
        ngram_index("client", "name", "client_name_ngram_idx"),
        ngram_index("activity", "name", "activity_name_ngram_idx"),
        PostgresIndex("client", "client_person_types_idx", "gin (person_types jsonb_path_ops)"),
        PostgresIndex("activity", "activity_client_types_idx", "gin (client_types jsonb_path_ops)"),
    ]
