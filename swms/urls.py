from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from registration.views_public import verify, verify_upload
from swms import health, views_exports, views_imports
from swms import reveal as reveal_views

urlpatterns = [
    # Load balancers' probes (swms/health.py: HealthCheckMiddleware answers them before any other middleware).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("reports.urls")),
    path("accounts/", include("accounts.urls")),
    path("registration/", include("registration.urls")),
    path("inbox/", include("notices.urls")),
    path("public/", include("notices.urls_public")),
    path("stations/", include("stations.urls")),
    path("services/", include("services.urls")),
    path("spotchecks/", include("spotchecks.urls")),
    path("exports/", views_exports.export_list, name="export-list"),
    path("exports/<int:pk>/", views_exports.export_detail, name="export-detail"),
    path("exports/<int:pk>/retry/", views_exports.export_retry_view, name="export-retry"),
    path("exports/<int:pk>/download/", views_exports.export_download, name="export-download"),
    path("imports/", views_imports.import_centre, name="import-centre"),
    path("imports/<int:pk>/", views_imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/confirm/", views_imports.import_confirm, name="import-confirm"),
    path("imports/<int:pk>/cancel/", views_imports.import_cancel, name="import-cancel"),
    path("imports/<int:pk>/retry/", views_imports.import_retry, name="import-retry"),
    path("imports/<int:pk>/errors/", views_imports.import_errors, name="import-errors"),
    path("imports/templates/<slug:kind>/", views_imports.import_template, name="import-template"),
    path("pii/<slug:kind>/<int:pk>/<slug:field>/", reveal_views.reveal, name="reveal"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/", verify_upload, name="verify-upload"),
    path("verify/<str:token>/", verify, name="verify"),
    path("captcha/", include("captcha.urls")),
    # The admin signs in through our login (captcha, lockout, second factor), never its own form.
    path(f"{settings.SWMS_ADMIN_PATH}login/", account_views.admin_login),
    path(settings.SWMS_ADMIN_PATH, admin.site.urls),
]

handler403 = "swms.views.permission_denied"
handler404 = "swms.views.not_found"
handler500 = "swms.views.server_error"
