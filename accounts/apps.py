from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and regions")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import mfa, reauth, signals  # noqa: F401  (security event log receivers)

        user_logged_in.connect(mfa.on_login, dispatch_uid="accounts.mfa.on_login")
        user_logged_in.connect(reauth.on_login, dispatch_uid="accounts.reauth.on_login")
