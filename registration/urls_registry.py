from django.urls import path

from . import views_registry as v

# The officials' registry (社工登记库) and certificates issued.
urlpatterns = [
    path("registry/", v.registry_list, name="registry"),
    path("registry/workers/<int:pk>/", v.registry_worker, name="registry-worker"),
    path("registry/registrations/<int:pk>/freeze/", v.registry_freeze, name="registry-freeze"),
    path("registry/registrations/<int:pk>/unfreeze/", v.registry_unfreeze, name="registry-unfreeze"),
    path("registry/registrations/<int:pk>/cancel/", v.registry_cancel, name="registry-cancel"),
    path("registry/certificates/", v.certificate_list, name="certificate-list"),
    path("registry/certificates/<int:pk>/reissue/", v.certificate_reissue, name="certificate-reissue"),
]
