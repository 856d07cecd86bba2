from django.urls import path

from . import views_notices

app_name = "portal"

# The public portal: no login (policies, notices and government-purchased service projects marked public).
urlpatterns = [
    path("notices/", views_notices.public_list, name="notices"),
    path("notices/<int:pk>/", views_notices.public_detail, name="notice"),
]
