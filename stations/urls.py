from django.urls import path

from . import views as v

app_name = "stations"

urlpatterns = [
    # Officials
    path("", v.station_list, name="list"),
    path("new/", v.station_edit, name="create"),
    path("<int:pk>/", v.station_detail, name="detail"),
    path("<int:pk>/edit/", v.station_edit, name="edit"),
    path("<int:pk>/delete/", v.station_delete, name="delete"),
    path("<int:pk>/password/", v.station_password, name="password"),
    path("workers/", v.worker_overview, name="worker-overview"),
    # Station accounts and operating organizations
    path("switch/", v.station_switch, name="switch"),
    path("mine/", v.my_station, name="mine"),
    path("mine/workers/", v.workers, name="workers"),
    path("mine/workers/new/", v.worker_add, name="worker-add"),
    path("mine/workers/<int:pk>/", v.worker_edit, name="worker-edit"),
    path("mine/workers/<int:pk>/leave/", v.worker_leave, name="worker-leave"),
]
