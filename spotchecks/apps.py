from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpotchecksConfig(AppConfig):
    name = "spotchecks"
    verbose_name = _("Spot checks")

    def ready(self):
        from swms.review_queues import register

        from .queues import QUEUES

        register(*QUEUES)
