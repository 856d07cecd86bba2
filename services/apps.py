from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = _("Services")

    def ready(self):
        from swms.review_queues import register

        from .queues import QUEUES

        register(*QUEUES)

        from accounts.regions_import import regions_moved

        regions_moved.connect(_regions_moved, dispatch_uid="services.activity_provinces")


def _regions_moved(sender, **kwargs):
    from .activities import refresh_activity_provinces

    refresh_activity_provinces()
