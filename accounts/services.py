"""Account services: every write to accounts goes through one of these functions."""

from __future__ import annotations

import secrets
import string
from importlib import import_module

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from swms.http import client_ip
from swms.pii import log_identifier

from . import audit_chain
from .models import Region, SecurityEvent, User, UserKind, UserSession
from .operator_roles import MANAGE_ACCOUNTS, can


class AccountError(Exception):
    """A domain error with a message fit for the user."""


def security_event_record(
    *,
    kind: str,
    request=None,
    actor: User | None = None,
    target: User | None = None,
    username: str = "",
    success: bool = True,
    detail: str = "",
) -> SecurityEvent:
    """Write one row of the security event log."""
    # The same address django-axes locks on; None for a peer that is no IP (a unix socket).
    ip = client_ip(request) if request is not None else None
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if not username and target is not None:
        username = target.username
    # Control characters stripped so a crafted username cannot forge log lines (L4); an ID or mobile
    # number kept only masked, with a keyed hash to correlate attempts on the same number (P1).
    username, subject_hash = log_identifier(username)
    # Appended to the hash chain (L2): accounts/audit_chain.py.
    return audit_chain.append(
        kind=kind,
        actor=actor,
        target=target,
        username=username[:150],
        subject_hash=subject_hash,
        ip_address=ip,
        success=success,
        detail=detail[:255],
    )


def generate_initial_password(length: int = 12) -> str:
    """A random password that satisfies the policy (all four character classes)."""
    alphabet = string.ascii_letters + string.digits + "@#%+=?"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(c in "@#%+=?" for c in pw)
        ):
            return pw


def sessions_end_for(user: User, keep_session_key: str | None = None) -> int:
    """End every server-side session of `user` (S3). Returns how many were ended."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


def official_create(
    *,
    actor: User | None,
    username: str,
    region: Region,
    full_name: str = "",
    phone: str | None = None,
    email: str = "",
    request=None,
) -> tuple[User, str]:
    """Create an official account below the actor's node; returns the user and the initial password,
    which is shown once and must be changed at first login."""
    if actor is not None and not can(actor, MANAGE_ACCOUNTS):
        if not (actor.is_official and actor.region.contains(region) and region.pk != actor.region_id):
            raise PermissionDenied(_("You can only create accounts for regions below your own."))
    if User.objects.filter(username=username).exists():
        raise AccountError(_("The username %(username)s is taken.") % {"username": username})
    password = generate_initial_password()
    with transaction.atomic():
        user = User(
            username=username,
            kind=UserKind.OFFICIAL,
            region=region,
            full_name=full_name,
            phone=phone or None,
            email=email,
            must_change_password=True,
            created_by=actor,
        )
        user.set_password(password)
        user.save()
        security_event_record(
            kind=SecurityEvent.Kind.ACCOUNT_CREATED, request=request, actor=actor, target=user
        )
    return user, password


def _check_manageable(actor: User, target: User) -> None:
    if not User.objects.manageable_by(actor).filter(pk=target.pk).exists():
        raise PermissionDenied(_("You can only manage accounts of lower levels in your region."))
    if actor.pk == target.pk:
        raise PermissionDenied(_("You cannot manage your own account here."))


def user_deactivate(*, actor: User, target: User, request=None) -> User:
    """Deactivate an account and end its sessions at once (S3, Z6)."""
    _check_manageable(actor, target)
    with transaction.atomic():
        target = User.objects.select_for_update().get(pk=target.pk)
        if not target.is_active:
            raise AccountError(_("This account is already deactivated."))
        target.is_active = False
        target.save(update_fields=["is_active"])
        security_event_record(
            kind=SecurityEvent.Kind.ACCOUNT_DEACTIVATED, request=request, actor=actor, target=target
        )
    sessions_end_for(target)
    return target


def user_activate(*, actor: User, target: User, request=None) -> User:
    """Reactivate a deactivated account."""
    _check_manageable(actor, target)
    with transaction.atomic():
        target = User.objects.select_for_update().get(pk=target.pk)
        if target.is_active:
            raise AccountError(_("This account is already active."))
        target.is_active = True
        target.save(update_fields=["is_active"])
        security_event_record(
            kind=SecurityEvent.Kind.ACCOUNT_ACTIVATED, request=request, actor=actor, target=target
        )
    return target


def user_password_reset(*, actor: User, target: User, request=None) -> str:
    """Set a new random password that must be changed at next login; returns it to show once."""
    _check_manageable(actor, target)
    return _password_reset(actor=actor, target=target, request=request, detail="by administrator")


def _password_reset(*, actor: User, target: User, request, detail: str) -> str:
    """A random one-time password to be changed at next login; every session of the account ends."""
    password = generate_initial_password()
    with transaction.atomic():
        target = User.objects.select_for_update().get(pk=target.pk)
        target.set_password(password)
        target.must_change_password = True
        target.password_changed_at = timezone.now()
        target.save(update_fields=["password", "must_change_password", "password_changed_at"])
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET, request=request, actor=actor, target=target, detail=detail,
        )
    sessions_end_for(target)
    return password


def _subject_in_scope(actor: User, target: User) -> bool:
    """A social worker is in the scope of the officials above their work region, an organization in
    that of the officials above its region (the same rule as their review pages)."""
    from registration.models import Organization, SocialWorker

    if target.kind == UserKind.SOCIAL_WORKER:
        return SocialWorker.objects.visible_to(actor).filter(user=target).exists()
    if target.kind == UserKind.ORGANIZATION:
        return Organization.objects.visible_to(actor).filter(account=target).exists()
    return False


def subject_password_reset(*, actor: User, target: User, request=None) -> str:
    """An official resets the password of a social worker or organization of their subtree: a random
    one-time password, to be changed at next login, every session ended; returns it to show once."""
    if not (actor.is_official or can(actor, MANAGE_ACCOUNTS)) or not _subject_in_scope(actor, target):
        raise PermissionDenied(_("You can only reset the passwords of social workers and organizations in your region."))
    return _password_reset(actor=actor, target=target, request=request, detail="by official")


def password_change(*, user: User, new_password: str, request=None) -> None:
    """Change the user's own password (validated), clear the forced-change flag, keep this session
    and end every other one."""
    validate_password(new_password, user)
    if user.check_password(new_password):
        raise ValidationError(_("The new password must differ from the current one."))
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        security_event_record(kind=SecurityEvent.Kind.PASSWORD_CHANGE, request=request, actor=user, target=user)
    if request is not None:
        # update_session_auth_hash() rotates the session key: keep the row of this session (old key)
        # while ending the others, then move it to the new key so it stays tracked (S3).
        old_key = request.session.session_key
        update_session_auth_hash(request, user)
        sessions_end_for(user, keep_session_key=old_key)
        UserSession.objects.filter(session_key=old_key).delete()
        UserSession.objects.update_or_create(session_key=request.session.session_key, defaults={"user": user})
    else:
        sessions_end_for(user)


def password_reset_completed(*, user: User, request=None) -> None:
    """After a self-service reset by email link: the new password counts as freshly chosen."""
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["must_change_password", "password_changed_at"])
    security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_RESET, request=request, actor=user, target=user, detail="by email link"
    )
    sessions_end_for(user)


def official_username_for(region: Region) -> str:
    """The account-initialization username of a region's first official: mz + its short code."""
    return f"mz{region.short_code}"


def officials_initialize(*, root: Region, levels: list[str], progress=None) -> tuple[list[tuple[User, str]], int]:
    """Create one official per region of `root`'s subtree at the given levels, with random initial
    passwords to be changed at first login. Regions that already have their account are skipped, so a
    re-run creates only what is missing. Returns (created (user, password) pairs, skipped count)."""
    regions = list(Region.objects.within(root).filter(level__in=levels).order_by("tree_id", "lft"))
    taken = set(
        User.objects.filter(username__in=[official_username_for(r) for r in regions]).values_list(
            "username", flat=True
        )
    )
    created: list[tuple[User, str]] = []
    skipped = 0
    for i, region in enumerate(regions, start=1):
        username = official_username_for(region)
        if username in taken:
            skipped += 1
        else:
            with transaction.atomic():
                password = generate_initial_password()
                user = User(
                    username=username,
                    kind=UserKind.OFFICIAL,
                    region=region,
                    full_name=region.civil_affairs_office,
                    must_change_password=True,
                )
                user.set_password(password)
                user.save()
                security_event_record(
                    kind=SecurityEvent.Kind.ACCOUNT_CREATED, target=user, detail="init_officials"
                )
            created.append((user, password))
        if progress:
            progress(i, len(regions))
    return created, skipped
