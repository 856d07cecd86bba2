"""Personal data encrypted at rest (P2): ID and mobile numbers stored as Fernet tokens, each beside a keyed
hash ("blind index") for exact lookup and uniqueness.

A model declares the pair::

    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_hash = KeyedHashField(source="id_number", unique=True)

- In Python the attribute holds the plain value; the column holds ``crypto.encrypt(value)`` (a fresh IV
  every write, so equal numbers give different tokens). Empty strings and NULL are stored as they are,
  so blank fields keep working. Reading decrypts (``from_db_value``, so ``values_list`` gives plain text);
  a token no configured key opens raises ``crypto.DecryptionError`` instead of passing ciphertext on.
- ``<field>_hash`` is HMAC-SHA256 of the normalized value under SWMS_HASH_KEY (NULL for an empty value),
  derived from the plain attribute whenever it is read, so save(), create(), bulk_create() and
  bulk_update() (with the hash field named in its fields) always write the matching hash. Uniqueness
  and indexes live on it.
- ``filter(id_number=x)``, ``id_number__in=[...]``, ``get_or_create``, ``exclude`` and ``Q`` compile to the
  hash column (the value normalized the same way). ``isnull`` works on the column itself. Every other lookup
  (``icontains``, ``startswith``, ``gt``, ...) raises ``FieldError``: the database cannot compare ciphertext,
  so partial matching of these numbers is impossible in SQL, and ordering by them is meaningless.
- Raw SQL, COPY and bulk paths that write these columns use ``encrypt_value`` / ``hash_value``.
"""

from __future__ import annotations

from django.core.exceptions import FieldError
from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import Exact, In, IsNull, Lookup
from django.db.models.query_utils import DeferredAttribute

from swms import crypto

ALLOWED_LOOKUPS = {"exact", "iexact", "in", "isnull"}


def normalize(value) -> str:
    """The form a value is hashed in: stripped, upper-case (an ID number's check character x/X)."""
    return str(value).strip().upper()


def hash_value(value, key: str | None = None) -> str | None:
    """The blind-index value of a plain value (None for an empty one)."""
    if value is None:
        return None
    value = normalize(value)
    return crypto.keyed_hash(value, key) if value else None


def lookup_hashes(value) -> list[str]:
    """The hashes a lookup of `value` matches: under SWMS_HASH_KEY, and under SWMS_HASH_KEY_PREVIOUS while the
    hash key is being rotated (rows rotate_field_keys has not reached yet)."""
    from django.conf import settings

    hashed = hash_value(value)
    if hashed is None:
        return []
    previous = getattr(settings, "SWMS_HASH_KEY_PREVIOUS", "")
    return [hashed, hash_value(value, previous)] if previous else [hashed]


def encrypt_value(value):
    """What an EncryptedCharField's column holds for a plain value ("" and None unchanged)."""
    if value is None or value == "":
        return value
    return crypto.encrypt(str(value))


def decrypt_value(value):
    if value is None or value == "":
        return value
    return crypto.decrypt(value)


class EncryptedCharField(models.CharField):
    """A CharField whose column holds a Fernet token (a text column); `max_length` bounds the plain value
    (forms, validation). Pair it with a KeyedHashField named `<name>_hash`."""

    def db_type(self, connection):
        return connection.data_types["TextField"] % {}

    def rel_db_type(self, connection):
        return self.db_type(connection)

    def cast_db_type(self, connection):
        return self.db_type(connection)

    def check(self, **kwargs):
        # The column is a text column: the varchar max_length checks do not apply to it.
        return [e for e in super().check(**kwargs) if not e.id.startswith("fields.E12")]

    @property
    def hash_field_name(self) -> str:
        return f"{self.name}_hash"

    def hash_field(self):
        return self.model._meta.get_field(self.hash_field_name)

    def from_db_value(self, value, expression, connection):
        return decrypt_value(value)

    def get_db_prep_save(self, value, connection):
        if hasattr(value, "as_sql"):  # an expression (bulk_update's CASE): its Values encrypt themselves
            return value
        return encrypt_value(self.get_prep_value(value))

    def get_lookup(self, lookup_name):
        if lookup_name not in ALLOWED_LOOKUPS:
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted: only exact, in and isnull lookups work on it "
                f"(through {self.hash_field_name}), not {lookup_name!r}.")
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        raise FieldError(f"{self.model.__name__}.{self.name} is encrypted: no {lookup_name!r} on it.")


class _HashDescriptor(DeferredAttribute):
    """Reads the hash from the plain value when that is loaded (so it never goes stale), else the stored one. A
    data descriptor (with __set__), so that it is asked even when the instance holds a stored value."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        data = instance.__dict__
        source = self.field.source
        if source in data:
            return hash_value(data[source])
        if self.field.attname in data:
            return data[self.field.attname]
        return super().__get__(instance, cls)

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class KeyedHashField(models.CharField):
    """HMAC-SHA256 hex of the plain value of the EncryptedCharField `source` (NULL when that is empty)."""

    descriptor_class = _HashDescriptor

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs["max_length"] = 64
        kwargs["null"] = True
        kwargs["blank"] = True
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        if not cls._meta.abstract:
            _save_hashes_with_sources(cls)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key in ("max_length", "null", "blank", "editable"):
            kwargs.pop(key, None)
        return name, path, args, kwargs


def _save_hashes_with_sources(cls) -> None:
    """`save(update_fields=[...])` naming an encrypted field writes its hash too."""
    if "_swms_saves_hashes" in cls.__dict__:
        return
    original = cls.save

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            pairs = {f.source: f.name for f in self._meta.concrete_fields if isinstance(f, KeyedHashField)}
            extra = {pairs[name] for name in update_fields if name in pairs}
            if extra:
                kwargs["update_fields"] = [*update_fields, *extra]
        return original(self, *args, **kwargs)

    save.__doc__, save.__name__, save.__qualname__ = original.__doc__, "save", f"{cls.__qualname__}.save"
    cls.save = save
    cls._swms_saves_hashes = True


def _hash_col(lhs, field: EncryptedCharField) -> Col:
    if not isinstance(lhs, Col):
        raise FieldError(f"{field.name} is encrypted: only a plain column can be compared")
    hashed = field.hash_field()
    return Col(lhs.alias, hashed, hashed)


def _hash_rhs(value, field: EncryptedCharField):
    """The hash column of another encrypted column (OuterRef, F) compared with this one."""
    if isinstance(value, Col) and isinstance(value.target, EncryptedCharField):
        return _hash_col(value, value.target)
    raise FieldError(f"{field.name} is encrypted: compare it with a value or another encrypted column")


@EncryptedCharField.register_lookup
class EncryptedExact(Lookup):
    lookup_name = "exact"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [value])

    def as_sql(self, compiler, connection):
        field = self.lhs.output_field
        if self.rhs == "":  # blank values are stored blank, not encrypted
            return Exact(self.lhs, "").as_sql(compiler, connection)
        if hasattr(self.rhs, "resolve_expression"):
            return Exact(_hash_col(self.lhs, field), _hash_rhs(self.rhs, field)).as_sql(compiler, connection)
        hashes = lookup_hashes(self.rhs)
        if len(hashes) == 1:
            return Exact(_hash_col(self.lhs, field), hashes[0]).as_sql(compiler, connection)
        return In(_hash_col(self.lhs, field), hashes).as_sql(compiler, connection)


@EncryptedCharField.register_lookup
class EncryptedIExact(EncryptedExact):
    """The admin's `=field` search: the hash's normalization already ignores the case of the check character."""

    lookup_name = "iexact"


@EncryptedCharField.register_lookup
class EncryptedIn(Lookup):
    lookup_name = "in"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [value])

    def as_sql(self, compiler, connection):
        field = self.lhs.output_field
        if hasattr(self.rhs, "resolve_expression"):
            raise FieldError(f"{field.name} is encrypted: filter {field.hash_field_name}__in with a subquery of "
                             f"hashes instead")
        values = [v for v in self.rhs if v is not None]
        hashes = {h for v in values if v != "" for h in lookup_hashes(v)}
        parts, params = [], []
        if hashes:
            sql, p = In(_hash_col(self.lhs, field), sorted(hashes)).as_sql(compiler, connection)
            parts.append(sql)
            params.extend(p)
        if "" in values:
            sql, p = Exact(self.lhs, "").as_sql(compiler, connection)
            parts.append(sql)
            params.extend(p)
        if not parts:
            from django.core.exceptions import EmptyResultSet

            raise EmptyResultSet
        return "(" + " OR ".join(parts) + ")", params


EncryptedCharField.register_lookup(IsNull)


# --- Whole tables: the data migrations and manage.py rotate_field_keys -------------------------------------

TOKEN_PREFIX = "gAAAAA"  # every Fernet token (version byte 0x80 and a timestamp's leading zero bytes)


def encrypted_columns(model) -> list[tuple[str, str]]:
    """(column, hash column) of each EncryptedCharField of `model` (a real or a migration-state model)."""
    out = []
    for field in model._meta.concrete_fields:
        if isinstance(field, EncryptedCharField):
            out.append((field.column, model._meta.get_field(f"{field.name}_hash").column))
    return out


def encrypted_models(apps=None) -> list:
    from django.apps import apps as global_apps

    registry = apps or global_apps
    return [m for m in registry.get_models() if not m._meta.proxy and m._meta.managed and encrypted_columns(m)]


def process_table(connection, model, *, mode: str, batch: int = 2000, progress=None) -> int:
    """Walk `model`'s table by primary key, `batch` rows a query, and write back what changes; returns rows
    changed. Resumable and idempotent: a row already in the wanted state is left alone.

    mode "encrypt": plain values (the data migration) become tokens, hashes filled.
    mode "rotate": tokens not under the first key are re-encrypted under it (plain ones encrypted).
    mode "rehash": as "rotate", and every hash recomputed under the current SWMS_HASH_KEY.
    """
    from cryptography.fernet import Fernet, InvalidToken

    current = Fernet(crypto.field_keys()[0].encode())
    columns = encrypted_columns(model)
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    names = ", ".join(f"{qn(c)}, {qn(h)}" for c, h in columns)
    select = f"SELECT {pk}, {names} FROM {table} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"  # noqa: S608
    assign = ", ".join(f"{qn(c)} = %s, {qn(h)} = %s" for c, h in columns)
    update = f"UPDATE {table} SET {assign} WHERE {pk} = %s"  # noqa: S608
    last, changed = None, 0
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(select.replace(f"WHERE {pk} > %s ", ""), [batch])
            else:
                cursor.execute(select, [last, batch])
            rows = cursor.fetchall()
        if not rows:
            return changed
        writes = []
        for row in rows:
            values, dirty = [], False
            for i in range(len(columns)):
                stored, stored_hash = row[1 + 2 * i], row[2 + 2 * i]
                token, plain = stored, stored
                if stored and stored.startswith(TOKEN_PREFIX):
                    plain = None
                    if mode != "encrypt":
                        try:
                            plain = current.decrypt(stored.encode()).decode()
                        except InvalidToken:
                            plain = crypto.decrypt(stored)
                            token = current.encrypt(plain.encode()).decode()
                    if plain is None or (mode == "encrypt" and stored_hash is None):
                        plain = crypto.decrypt(stored)
                elif stored:
                    token = crypto.encrypt(stored)
                if mode == "rehash" or stored_hash is None or token != stored:
                    new_hash = hash_value(plain) if plain is not None else None
                else:
                    new_hash = stored_hash
                dirty = dirty or token != stored or new_hash != stored_hash
                values += [token, new_hash]
            if dirty:
                writes.append([*values, row[0]])
        if writes:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    # One statement per batch (pgtrigger.ignore, lifting a history table's append-only trigger,
                    # works on single statements, not on executemany).
                    width = 1 + 2 * len(columns)
                    row_sql = "(" + ", ".join(["%s::text"] * (width - 1) + ["%s::bigint"]) + ")"
                    names = ", ".join([*(f"v{i}" for i in range(width - 1)), "pk"])
                    sets = ", ".join(f"{qn(c)} = v.v{2 * i}, {qn(h)} = v.v{2 * i + 1}"
                                     for i, (c, h) in enumerate(columns))
                    cursor.execute(
                        f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row_sql] * len(writes))}) "  # noqa: S608
                        f"AS v({names}) WHERE {table}.{pk} = v.pk", [value for row in writes for value in row])
                else:
                    cursor.executemany(update, writes)
            changed += len(writes)
        last = rows[-1][0]
        if progress:
            progress(len(rows))


def encrypt_existing(model_names: list[str]):
    """A RunPython function encrypting the plain values of the given models ("app.Model", their historical
    models included) and filling their hashes."""

    def run(apps, schema_editor):
        for name in model_names:
            model = apps.get_model(name)
            process_table(schema_editor.connection, model, mode="encrypt")

    return run


def encrypted_pairs(model) -> list[tuple[str, str]]:
    """(attname, hash attname) of each EncryptedCharField of `model`, for code writing rows by COPY or raw SQL."""
    return [(f.attname, f"{f.attname}_hash") for f in model._meta.concrete_fields
            if isinstance(f, EncryptedCharField)]


def encrypt_row(pairs: list[tuple[str, str]], row: dict) -> dict:
    """A copy of `row` ({attname: plain value}) as the columns hold it: each encrypted value a token (one Fernet
    operation) and its hash beside it."""
    row = dict(row)
    for attname, hash_attname in pairs:
        if attname in row:
            plain = row[attname]
            row[hash_attname] = hash_value(plain)
            row[attname] = encrypt_value(plain)
    return row


def with_hash_fields(model, fields: list[str]) -> list[str]:
    """`fields` (names or attnames to write) plus the hash field of each encrypted one among them."""
    extra = [h for a, h in encrypted_pairs(model) if a in fields and h not in fields]
    return [*fields, *extra]


def with_hashes(model, values: dict) -> dict:
    """`values` for QuerySet.update() plus the hash of each encrypted field among them (update() encrypts the
    value itself, but does not know of the hash beside it)."""
    values = dict(values)
    for attname, hash_attname in encrypted_pairs(model):
        if attname in values:
            values[hash_attname] = hash_value(values[attname])
    return values


def _update_hashes_too() -> None:
    """QuerySet.update(id_number=...) writes the hash beside it too (update() encrypts the value itself through
    get_db_prep_save, but knows nothing of the hash field)."""
    from django.db.models.sql.subqueries import UpdateQuery

    original = UpdateQuery.add_update_fields
    if getattr(original, "_swms_hashes", False):
        return

    def add_update_fields(self, values_seq):
        values_seq = list(values_seq)
        named = {field for field, _model, _val in values_seq}
        for field, model, val in list(values_seq):
            if isinstance(field, EncryptedCharField) and not hasattr(val, "resolve_expression"):
                hashed = field.hash_field()
                if hashed not in named:
                    values_seq.append((hashed, model, hash_value(val)))
        return original(self, values_seq)

    add_update_fields._swms_hashes = True
    UpdateQuery.add_update_fields = add_update_fields


_update_hashes_too()
