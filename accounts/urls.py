from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_claim, views_mfa

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/sms/", views_mfa.sms_login_view, name="sms-login"),
    path("2fa/", views_mfa.mfa_security, name="mfa-security"),
    path("2fa/setup/", views_mfa.mfa_setup, name="mfa-setup"),
    path("2fa/verify/", views_mfa.mfa_verify, name="mfa-verify"),
    path("2fa/backup-codes/", views_mfa.mfa_backup_codes, name="mfa-backup-codes"),
    path("2fa/disable/", views_mfa.mfa_disable, name="mfa-disable"),
    path("reauth/", views_mfa.reauth_view, name="reauth"),
    path("claim/", views_claim.claim, name="claim"),
    path("logout/", views.logout_view, name="logout"),
    path("password/change/", views.password_change_view, name="password-change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password-reset-done",
    ),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password-reset-complete",
    ),
    path("officials/", views.official_list, name="official-list"),
    path("officials/new/", views.official_create, name="official-create"),
    path("officials/<int:pk>/", views.official_detail, name="official-detail"),
    path("officials/<int:pk>/deactivate/", views.official_deactivate, name="official-deactivate"),
    path("officials/<int:pk>/activate/", views.official_activate, name="official-activate"),
    path("officials/<int:pk>/reset-password/", views.official_password_reset, name="official-password-reset"),
    path("officials/<int:pk>/reset-2fa/", views.official_mfa_reset, name="official-mfa-reset"),
    path("workers/<int:pk>/reset-password/", views.worker_password_reset, name="worker-password-reset"),
    path("organizations/<int:pk>/reset-password/", views.organization_password_reset,
         name="organization-password-reset"),
    path("regions/<int:pk>/children/", views.region_children, name="region-children"),
]

