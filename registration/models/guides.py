"""The registration guide (登记指南) and FAQ (常见问题) pages a province writes for its workers
(Beijing manual: the home page links both)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class GuideKind(models.TextChoices):
    GUIDE = "guide", _("Registration guide")
    FAQ = "faq", _("Frequently asked questions")


class GuidePage(models.Model):
    """One page of one province; its content is sanitized HTML (registration.services.guides)."""

    province = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("province")
    )
    kind = models.CharField(_("page"), max_length=10, choices=GuideKind.choices)
    content = models.TextField(_("content"), help_text=_("Sanitized HTML."))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("updated by")
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("guide page")
        verbose_name_plural = _("guide pages")
        constraints = [models.UniqueConstraint(fields=["province", "kind"], name="one_guide_page_per_province_kind")]

    def __str__(self):
        return f"{self.province} · {self.get_kind_display()}"
