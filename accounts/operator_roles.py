"""三员分立 (MLPS level 3, SECURITY.md Z5): what each of the operators' three roles may do, in one place.

Operators are staff accounts without a kind or region that hold exactly one `User.operator_role`; none is a
superuser (a superuser passes every check and cannot be split). Each role is a fixed set of permission
strings "app_label.codename":

* capabilities of the business site, checked with `can(user, CAPABILITY)` in views, services and querysets
  (cheap: no query, nothing for accounts that hold no role);
* the Django admin's model permissions (`view_` / `add_` / `change_` / `delete_`), which `OperatorRoleBackend`
  hands to Django's `user.has_perm`, so the admin shows each role only its own models.

Roles are not Groups: a group or per-user permission could be added next to a role and give one account two
roles' powers. The admin does not offer groups or per-user permissions, and `OperatorRoleBackend` is the only
source of an operator's permissions.

This module imports no models (swms.scoping uses it while accounts.models is being loaded).
"""

from __future__ import annotations

from . import checks  # noqa: F401  (registers the deploy check that reports superusers)

SYSTEM = "system"
SECURITY = "security"
AUDIT = "audit"

# --- Capabilities of the business site -------------------------------------------------------------------
# The system administrator: system configuration and data — every region's records (the scope superusers had),
# the import centre, region imports, registration policies and review settings, notices, spot checks.
OPERATE_SYSTEM = "accounts.operate_system"
# The security administrator: accounts and roles — create, deactivate, unlock accounts, reset passwords and
# second factors, assign operator roles, end sessions.
MANAGE_ACCOUNTS = "accounts.manage_accounts"
# The auditor: read the security event log, the review log, history records, the lockout logs.
READ_AUDIT_LOGS = "accounts.read_audit_logs"

CAPABILITIES = (OPERATE_SYSTEM, MANAGE_ACCOUNTS, READ_AUDIT_LOGS)


def _model_perms(label: str, *actions: str) -> set[str]:
    app, model = label.split(".")
    return {f"{app}.{action}_{model}" for action in actions}


_CELERY_BEAT = ("periodictask", "crontabschedule", "intervalschedule", "clockedschedule", "solarschedule")
# django-otp's device models (second factors), when the apps are installed.
_OTP_DEVICES = ("otp_totp.totpdevice", "otp_static.staticdevice", "otp_static.statictoken")
# The audit trails: append-only evidence, read by the auditor only.
AUDIT_LOG_MODELS = ("accounts.securityevent", "swms.reviewlog", "axes.accesslog", "axes.accessfailurelog",
                    "axes.accessattempt")

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    SYSTEM: frozenset({
        OPERATE_SYSTEM,
        *_model_perms("accounts.region", "view", "change"),
        *(p for m in _CELERY_BEAT for p in _model_perms(f"django_celery_beat.{m}", "view", "add", "change", "delete")),
        # Celery's health (#17): worker and beat heartbeats, the outbox of queued tasks (read-only admin pages).
        *(p for m in ("outboxtask", "workerheartbeat", "beatheartbeat") for p in _model_perms(f"swms.{m}", "view")),
    }),
    SECURITY: frozenset({
        MANAGE_ACCOUNTS,
        # No delete: accounts are deactivated, never deleted (their records and log rows keep pointing at them).
        *_model_perms("accounts.user", "view", "add", "change"),
        # Lockouts: see who is locked out and unlock (deleting the attempt row is axes' unlock).
        *_model_perms("axes.accessattempt", "view", "delete"),
        *(p for m in _OTP_DEVICES for p in _model_perms(m, "view", "delete")),
    }),
    AUDIT: frozenset({
        READ_AUDIT_LOGS,
        *(p for m in AUDIT_LOG_MODELS for p in _model_perms(m, "view")),
        # simple_history's tables (HistoricalUser, …): read-only, added by `history_view_permissions()`.
    }),
}


def history_view_permissions() -> frozenset[str]:
    """view_ permissions of every simple_history table (the auditor reads them all)."""
    from django.apps import apps

    return frozenset(
        f"{m._meta.app_label}.view_{m._meta.model_name}"
        for m in apps.get_models()
        if m.__name__.startswith("Historical") and hasattr(m, "history_id")
    )


def role_permissions(role: str | None) -> frozenset[str]:
    """Every permission string of `role` (empty for no role or an unknown one)."""
    perms = ROLE_PERMISSIONS.get(role or "", frozenset())
    if role == AUDIT:
        perms = perms | history_view_permissions()
    return perms


def _role_of(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return ""
    if getattr(user, "kind", "") or not getattr(user, "is_staff", False):
        return ""  # only staff accounts without a kind are operators (the database constraint says the same)
    return getattr(user, "operator_role", "") or ""


def can(user, capability: str) -> bool:
    """True if `user` may use `capability` (an entry of CAPABILITIES or a model permission).

    A superuser still passes (Django's own rule): existing superusers keep working until they are converted;
    `manage.py check --deploy` reports each one (accounts.checks)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    role = _role_of(user)
    return bool(role) and capability in role_permissions(role)


def operator_role(user) -> str:
    """The user's operator role, or "" for everyone else (superusers included)."""
    return _role_of(user)


def is_operator(user) -> bool:
    """An operator: a superuser (legacy) or a staff account holding one of the three roles."""
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and (user.is_superuser or _role_of(user)))


class OperatorRoleBackend:
    """Authentication backend that authenticates nobody and gives operators their role's permissions.

    Django's `user.has_perm` and `has_module_perms` (what the admin asks) consult every backend; this one
    answers from ROLE_PERMISSIONS, so the admin follows the three roles."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None

    def get_all_permissions(self, user_obj, obj=None):
        if obj is not None:
            return set()
        return set(role_permissions(_role_of(user_obj)))

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return obj is None and perm in role_permissions(_role_of(user_obj))

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(f"{app_label}.") for p in role_permissions(_role_of(user_obj)))


# --- Creating operators and changing roles (services) --------------------------------------------------


def operator_create(*, username: str, role: str, email: str = "", full_name: str = "", actor=None, request=None):
    """Create an operator holding `role`: staff, not superuser, no kind or region, a random initial password
    that must be changed at first login. Returns (user, password). Writes a ROLE_CHANGED security event."""
    from django.db import transaction

    from .models import OperatorRole, SecurityEvent, User
    from .services import AccountError, generate_initial_password, security_event_record

    if role not in OperatorRole.values:
        raise AccountError(f"Unknown operator role {role!r}: one of {', '.join(OperatorRole.values)}.")
    if User.objects.filter(username=username).exists():
        raise AccountError(f"The username {username} is taken.")
    password = generate_initial_password()
    with transaction.atomic():
        user = User(username=username, kind="", region=None, operator_role=role, is_staff=True,
                    is_superuser=False, email=email, full_name=full_name, must_change_password=True,
                    created_by=actor)
        user.set_password(password)
        user.save()
        security_event_record(kind=SecurityEvent.Kind.ROLE_CHANGED, request=request, actor=actor, target=user,
                              username=username, success=True, detail=f"operator_role: - -> {role}")
    return user, password


def operator_role_change(*, actor, target, role: str, request=None):
    """The security administrator gives `target` another operator role ("" takes it away). Nobody changes
    their own role. Writes a ROLE_CHANGED security event."""
    from django.core.exceptions import PermissionDenied

    from .models import OperatorRole, SecurityEvent
    from .services import AccountError, security_event_record

    if actor is not None and not can(actor, MANAGE_ACCOUNTS):
        raise PermissionDenied("Only the security administrator assigns operator roles.")
    if actor is not None and actor.pk == target.pk:
        raise PermissionDenied("Nobody changes their own role.")
    if role and role not in OperatorRole.values:
        raise AccountError(f"Unknown operator role {role!r}.")
    if role and (target.kind or target.region_id):
        raise AccountError("An operator role is the account's only role: the account has a type or region.")
    old = target.operator_role
    target.operator_role = role
    target.is_staff = bool(role)
    target.is_superuser = False
    target.save(update_fields=["operator_role", "is_staff", "is_superuser"])
    security_event_record(kind=SecurityEvent.Kind.ROLE_CHANGED, request=request, actor=actor, target=target,
                          username=target.get_username(), success=True,
                          detail=f"operator_role: {old or '-'} -> {role or '-'}")
    return target
