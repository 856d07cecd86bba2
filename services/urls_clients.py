from django.urls import path

from . import views_clients as v

# Clients (服务对象): the station's own pages, then officials' read-only pages.
urlpatterns = [
    path("clients/", v.client_list, name="client-list"),
    path("clients/new/", v.client_new, name="client-new"),
    path("clients/<int:pk>/", v.client_detail, name="client-detail"),
    path("clients/<int:pk>/edit/", v.client_edit, name="client-edit"),
    path("clients/<int:pk>/delete/", v.client_delete_view, name="client-delete"),
    path("official/clients/", v.official_client_list, name="official-client-list"),
    path("official/clients/<int:pk>/", v.official_client_detail, name="official-client-detail"),
]
