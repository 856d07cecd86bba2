"""Freezing registrations that were not renewed in time (monthly, by beat or command)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Region, RegionLevel
from notices.models import Message
from reports import aggregates

from .models import Registration, RegistrationPolicy

DEFAULT_GRACE_DAYS = 365


def registration_status_set(registration: Registration, status: str, *, reason: str, actor=None) -> None:
    """The state change of freezing (and of the officials' unfreeze and cancel, registration/services/
    oversight.py): saved per row, so the history keeps each change with its reason and author."""
    registration.status = status
    registration._change_reason = reason[:100]
    if actor is not None:
        registration._history_user = actor
    registration.save(update_fields=["status"])
    aggregates.registration_changed(registration)


def overdue_registrations(*, today: datetime.date | None = None):
    """Each worker's latest registration, still valid, expired longer ago than its province's grace."""
    today = today or timezone.localdate()
    grace = dict(RegistrationPolicy.objects.values_list("province_id", "freeze_grace_days"))
    newer = Registration.objects.filter(worker=OuterRef("worker"), valid_to__gt=OuterRef("valid_to"))
    ids: list[int] = []
    for province in Region.objects.filter(level=RegionLevel.PROVINCE):
        cutoff = today - datetime.timedelta(days=grace.get(province.pk, DEFAULT_GRACE_DAYS))
        ids += list(
            Registration.objects.filter(
                status=Registration.Status.VALID, valid_to__lt=cutoff, region__tree_id=province.tree_id
            )
            .exclude(Exists(newer))
            .values_list("pk", flat=True)
        )
    return Registration.objects.filter(pk__in=ids)


def registrations_freeze_overdue(*, today: datetime.date | None = None, dry_run: bool = False) -> int:
    """Freeze the overdue registrations and tell each worker why and how to restore."""
    rows = list(overdue_registrations(today=today).select_related("worker__user"))
    if dry_run or not rows:
        return len(rows)
    link = reverse("registration:history")
    with transaction.atomic():
        for registration in rows:
            registration_status_set(registration, Registration.Status.FROZEN, reason="not renewed in time")
        Message.objects.bulk_create([
            Message(
                user=r.worker.user,
                title=_("Your registration %(no)s is frozen") % {"no": r.registration_no},
                body=_("It expired on %(date)s and was not renewed in time. You can apply to restore it.")
                % {"date": r.valid_to},
                link=link,
            )
            for r in rows
        ])
    return len(rows)
