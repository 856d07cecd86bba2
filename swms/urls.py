from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from registration.views_public import verify
from swms import views_exports

urlpatterns = [
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
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/<str:token>/", verify, name="verify"),
    path("captcha/", include("captcha.urls")),
    path(settings.SWMS_ADMIN_PATH, admin.site.urls),
]

handler404 = "swms.views.not_found"
handler500 = "swms.views.server_error"
