from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from django.db.models.signals import post_save

        from swms.models import ReviewLog

        from .review_dashboard import review_logged

        post_save.connect(review_logged, sender=ReviewLog, dispatch_uid="reports.review_logged")
