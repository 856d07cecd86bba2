"""Substring search on names that stays fast at province scale, two-character Chinese names included.

`name ILIKE '%张伟%'` reads every row: B-tree indexes cannot answer a substring, and pg_trgm's trigram
indexes cannot answer a string shorter than three characters (张伟 has no trigram), which is most Chinese
personal names. So names are indexed by their characters and character pairs instead: the SQL function
`swms_ngrams(text)` (migration swms 0009) returns the single characters and adjacent pairs of the
lower-cased text, kept in a generated column `<column>_ngrams` with a GIN index (`ngram_index()` in the
model's migration), which answers "contains all these pairs" from posting lists. `text_contains(field, value)` asks for every pair of
the search string (or its one character), with the `ILIKE` as the exact check for longer strings, so
results are the same as before, only found through the index. On SQLite (the demo) it is the plain `ILIKE`.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.lookups import DataContains
from django.db import connection, models
from django.db.migrations.operations.base import Operation
from django.db.models import F, Func, Q, Value

# Single characters (string_to_array with a NULL separator) and adjacent pairs; duplicates are harmless in a
# GIN index. ~8 µs a name: the COST tells the planner it is dearer than a LIKE, so that a common name is
# found by walking the list's order index and a rare one through the GIN index.
NGRAMS_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION swms_ngrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 200 AS $$
  SELECT string_to_array(lower(t), NULL)
         || ARRAY(SELECT substr(lower(t), i, 2) FROM generate_series(1, length(t) - 1) AS i)
$$;
"""


def ngrams(text: str) -> list[str]:
    """What the search asks the index for: the distinct pairs of `text`, or its single character."""
    text = text.lower()
    if len(text) == 1:
        return [text]
    return sorted({text[i:i + 2] for i in range(len(text) - 1)})


NGRAM_SUFFIX = "_ngrams"


class NgramsOf(Func):
    """The stored n-grams of a text column: the generated column `<column>_ngrams` that `ngram_index()` adds
    next to it on PostgreSQL (the models do not declare it; the database computes it on every write)."""

    output_field = ArrayField(models.TextField())

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        column = self.source_expressions[0].target.column
        quoted = connection.ops.quote_name(column)
        if not sql.endswith(quoted):
            raise ValueError(f"no n-gram column for {sql}")
        return sql[: -len(quoted)] + connection.ops.quote_name(column + NGRAM_SUFFIX), params


def has_ngrams(model, field: str) -> bool:
    """Whether the column at the end of `field` (a lookup path from `model`) has stored n-grams: its model
    names it in `NGRAM_FIELDS` (and a migration adds the column with `ngram_index()`)."""
    *path, last = field.split("__")
    for name in path:
        model = model._meta.get_field(name).related_model
    return last in getattr(model, "NGRAM_FIELDS", ())


def text_contains(field: str, value: str, *, model=None) -> Q:
    """`field` contains `value` (case-insensitive), through the n-gram index where there is one.

    One or two characters: containing the n-gram is exactly containing the text, so the n-gram condition is
    the whole filter and the planner's estimate (from the column's statistics) is right. Longer: every pair
    must be there, and the LIKE checks that they are in order. With `model`, a column without n-grams
    (see has_ngrams) is searched with the LIKE alone."""
    value = value.strip()
    condition = Q(**{f"{field}__icontains": value})
    if not value or connection.vendor != "postgresql" or (model is not None and not has_ngrams(model, field)):
        return condition
    wanted = Value(ngrams(value), output_field=ArrayField(models.TextField()))
    grams = Q(DataContains(NgramsOf(F(field)), wanted))
    return grams if len(value) <= 2 else grams & condition


def json_list_contains(field: str, value: str) -> Q:
    """A JSON list column holding `value`: jsonb containment on PostgreSQL (a GIN index answers it), the
    quoted value in the JSON text on the embedded SQLite, which has no containment."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [value]})
    return Q(**{f"{field}__icontains": f'"{value}"'})


class PostgresOnly(Operation):
    """A schema operation that runs on PostgreSQL only (the embedded SQLite demo has no use for it) and
    leaves Django's model state alone. Subclasses give `forwards_sql` / `backwards_sql` for a table."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str, name: str, **options):
        self.model_name, self.name, self.options = model_name, name, options

    def state_forwards(self, app_label, state):
        pass

    def _run(self, state, app_label, schema_editor, statements):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(state.apps.get_model(app_label, self.model_name)._meta.db_table)
        for sql in statements(schema_editor.quote_name, table):
            schema_editor.execute(sql)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(to_state, app_label, schema_editor, self.forwards_sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(from_state, app_label, schema_editor, self.backwards_sql)

    def describe(self):
        return f"{type(self).__name__} {self.name} on {self.model_name} (PostgreSQL only)"

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name, "name": self.name, **self.options}


class PostgresIndex(PostgresOnly):
    """`CREATE INDEX name ON table USING <using>`: the GIN indexes of the search (JSON containment)."""

    def __init__(self, model_name: str, name: str, using: str):
        super().__init__(model_name, name, using=using)

    def forwards_sql(self, qn, table):
        return [f"CREATE INDEX IF NOT EXISTS {qn(self.name)} ON {table} USING {self.options['using']}"]

    def backwards_sql(self, qn, table):
        return [f"DROP INDEX IF EXISTS {qn(self.name)}"]


class NgramColumn(PostgresOnly):
    """`<column>_ngrams text[] GENERATED ALWAYS AS (swms_ngrams(column)) STORED` and a GIN index on it. A
    stored column rather than an index on the expression: a plan that filters rows (a common name found by
    walking the list's order index, a bounded count) reads the array instead of computing it per row."""

    def __init__(self, model_name: str, column: str, name: str):
        super().__init__(model_name, name, column=column)

    def forwards_sql(self, qn, table):
        column = self.options["column"]
        grams = qn(column + NGRAM_SUFFIX)
        return [f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {grams} text[] "
                f"GENERATED ALWAYS AS (swms_ngrams({qn(column)})) STORED",
                f"CREATE INDEX IF NOT EXISTS {qn(self.name)} ON {table} USING gin ({grams})"]

    def backwards_sql(self, qn, table):
        return [f"ALTER TABLE {table} DROP COLUMN IF EXISTS {qn(self.options['column'] + NGRAM_SUFFIX)}"]


def ngram_index(model_name: str, column: str, name: str) -> NgramColumn:
    """What `text_contains()` on that column is answered by (see NgramColumn)."""
    return NgramColumn(model_name, column, name)
