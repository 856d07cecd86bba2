"""Keep synced station workers in step with the registry: a profile or registration change is copied
to every current post of that social worker."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from registration.models import Registration, SocialWorker


@receiver(post_save, sender=SocialWorker, dispatch_uid="stations_sync_profile")
def _profile_saved(sender, instance, **kwargs):
    _sync_later(instance.pk)


@receiver(post_save, sender=Registration, dispatch_uid="stations_sync_registration")
def _registration_saved(sender, instance, **kwargs):
    _sync_later(instance.worker_id)


def _sync_later(worker_id):
    from .models import StationWorker
    from .services import station_workers_sync_from_registry

    def run():
        if StationWorker.objects.filter(social_worker_id=worker_id, left_on__isnull=True).exists():
            station_workers_sync_from_registry(SocialWorker.objects.get(pk=worker_id))

    transaction.on_commit(run)
