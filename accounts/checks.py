"""System checks of the accounts app."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def superusers_present(app_configs=None, **kwargs):
    """三员分立 (Z5): a superuser passes every permission check, so the three operator roles mean nothing while
    one exists. In production (SWMS_PRODUCTION) each active superuser is an error of `check --deploy`,
    elsewhere a warning. Convert them: create operators with `manage.py create_operator`, then have the
    security administrator open each superuser in the admin and save it (saving clears the superuser
    flag) or deactivate it."""
    from accounts.models import User

    try:
        names = list(User.objects.filter(is_superuser=True, is_active=True).values_list("username", flat=True)[:20])
    except DatabaseError:  # no database yet (first migrate): nothing to check
        return []
    if not names:
        return []
    level = Error if getattr(settings, "SWMS_PRODUCTION", False) else Warning
    return [level(
        f"Active superuser accounts: {', '.join(names)}. A superuser bypasses the three operator roles "
        "(system, security, audit administrators).",
        hint="Create operators with `manage.py create_operator --role system|security|audit --username …`, "
             "then clear the superuser flag (save the account in the admin as the security administrator) "
             "or deactivate it.",
        id="accounts.E001" if level is Error else "accounts.W001",
    )]
