"""Append-only records (SECURITY.md L2): PostgreSQL triggers (django-pgtrigger) refuse UPDATE and DELETE on the
review log, the security event log, the certificate lookups and every django-simple-history table, whoever
sends the statement — the ORM, raw SQL or a psql session under the application's database role.

Registered from `SwmsConfig.ready()` (the history models exist only once simple_history has built them) and
installed by the apps' migrations (pgtrigger's migration integration); on SQLite, the embedded demo, the
migrations' trigger operations do nothing.

One UPDATE stays possible: a user's deletion sets the user's foreign keys on these rows to NULL (SET_NULL of
`SecurityEvent.actor/target` and of simple_history's `history_user`). The trigger lets an UPDATE through only
when those columns go to NULL and nothing else in the row changes; any other change is refused. Accounts are
deactivated rather than deleted in this system, but a superuser may still delete one in the admin.

Maintenance that must rewrite or remove rows does so inside `rewrite(...)` (pgtrigger.ignore of exactly the
named triggers): the retention purge (`manage.py purge_expired_records`) and the re-encryption of history rows
by a key rotation.
"""

from __future__ import annotations

from contextlib import contextmanager

import pgtrigger

UPDATE = "append_only_update"
DELETE = "append_only_delete"

# Explicit log tables and the user foreign keys that a user's deletion may set to NULL on them.
LOG_MODELS = {
    "swms.ReviewLog": (),
    "accounts.SecurityEvent": ("actor_id", "target_id"),
    "registration.CertificateLookup": (),
}
HISTORY_NULLABLE = ("history_user_id",)


def _update_condition(nullable: tuple[str, ...]) -> pgtrigger.Condition:
    """WHEN clause of the UPDATE trigger: true (refuse) unless the only change is `nullable` columns set to
    NULL. Column-independent (jsonb of the whole row), so a column added later is covered without a new
    trigger."""
    if not nullable:
        return None
    minus = "".join(f" - '{column}'" for column in nullable)
    allowed = " AND ".join(
        [f"(to_jsonb(NEW.*){minus}) = (to_jsonb(OLD.*){minus})", "to_jsonb(NEW.*) <> to_jsonb(OLD.*)"]
        + [f'(NEW."{column}" IS NULL OR NEW."{column}" IS NOT DISTINCT FROM OLD."{column}")' for column in nullable]
    )
    return pgtrigger.Condition(f"NOT ({allowed})")


def triggers_for(nullable: tuple[str, ...]) -> list[pgtrigger.Trigger]:
    update = {"condition": _update_condition(nullable)} if nullable else {}
    return [
        pgtrigger.Protect(name=UPDATE, operation=pgtrigger.Update, **update),
        pgtrigger.Protect(name=DELETE, operation=pgtrigger.Delete),
    ]


def history_models() -> list:
    """Every simple_history table: the historical models and the historical m2m models."""
    from django.apps import apps
    from simple_history.models import HistoricalChanges

    # The test suite's scaffolding app (tests.testapp) is not part of the system.
    return [model for model in apps.get_models()
            if issubclass(model, HistoricalChanges) and not model.__module__.startswith("tests.")]


def protected_models() -> list:
    """Every model whose table is append-only."""
    from django.apps import apps

    return [apps.get_model(label) for label in LOG_MODELS] + history_models()


def register() -> None:
    """Attach the triggers to the models (idempotent). Called from SwmsConfig.ready()."""
    from django.apps import apps

    for label, nullable in LOG_MODELS.items():
        _register(apps.get_model(label), nullable)
    for model in history_models():
        # The m2m history tables have no history_user: nothing in them may change.
        fields = {f.attname for f in model._meta.concrete_fields}
        _register(model, tuple(c for c in HISTORY_NULLABLE if c in fields))


def _register(model, nullable) -> None:
    existing = {trigger.name for trigger in getattr(model._meta, "triggers", [])}
    for trigger in triggers_for(nullable):
        if trigger.name not in existing:
            pgtrigger.register(trigger)(model)


def uris(*models, operations=(UPDATE, DELETE)) -> list[str]:
    return [f"{model._meta.label}:{name}" for model in models for name in operations]


@contextmanager
def rewrite(*models, operations=(UPDATE, DELETE)):
    """Lift the append-only triggers of `models` (default: all protected ones) for the statements inside:
    the retention purge, the re-encryption of history rows. Nothing else may use it."""
    models = models or tuple(protected_models())
    with pgtrigger.ignore(*uris(*models, operations=operations)):
        yield
