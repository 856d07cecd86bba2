from django.urls import path

from . import views_org as v

# Organizations' own pages; officials review them at review/organizations/ (registration/queues.py).
urlpatterns = [
    path("organizations/signup/", v.signup, name="organization-signup"),
    path("organization/", v.profile, name="organization-profile"),
    path("organization/contact/", v.contact, name="organization-contact"),
    path("organization/staff/", v.staff_list, name="organization-staff"),
    path("organization/staff/new/", v.staff_edit, name="organization-staff-new"),
    path("organization/staff/<int:pk>/", v.staff_edit, name="organization-staff-edit"),
    path("organization/staff/<int:pk>/leave/", v.staff_leave, name="organization-staff-leave"),
]
