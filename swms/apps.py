from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SwmsConfig(AppConfig):
    name = "swms"
    verbose_name = _("Shared machinery")

    def ready(self):
        # Triggers that make the log and history tables append-only (L2); the history models exist by now.
        from . import append_only

        append_only.register()
        # --- Health and logs (#17) ---: the request id travels with the Celery tasks a request queues.
        from .request_id import connect_celery_signals

        connect_celery_signals()
