"""The monthly data-return package (beat, 1st of the month): one package per configured province and period."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from accounts.models import Region
from swms.outbox import enqueue

from .models import ExchangePackage
from .services import ExchangeError, export_package, find_province, previous_period

logger = logging.getLogger(__name__)


@shared_task
def export_monthly_packages() -> int:
    """Monthly (beat): queue last month's package of every province in SWMS_EXCHANGE_PROVINCES (none on the
    national deployment)."""
    period = previous_period()
    queued = 0
    for code in settings.SWMS_EXCHANGE_PROVINCES:
        try:
            province = find_province(code)
        except ExchangeError as e:
            logger.error("SWMS_EXCHANGE_PROVINCES: %s", e)
            continue
        enqueue(export_province_package, province.pk, period)  # at commit, through the outbox
        queued += 1
    return queued


@shared_task(autoretry_for=(OperationalError, OSError), retry_backoff=True, max_retries=5)
def export_province_package(province_id: int, period: str) -> int:
    """One province's package for the period (idempotent: a re-run returns the package already made)."""
    existing = ExchangePackage.objects.filter(province_id=province_id, period=period, scheduled=True).first()
    if existing is not None:
        return existing.pk
    return export_package(Region.objects.get(pk=province_id), period=period, scheduled=True).pk
