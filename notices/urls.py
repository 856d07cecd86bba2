from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("read-all/", views.mark_all_read, name="mark-all-read"),
]
