from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SwmsConfig(AppConfig):
    name = "swms"
    verbose_name = _("Shared machinery")
