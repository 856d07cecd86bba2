from django.urls import path

from . import views_worker as v

urlpatterns = [
    path("signup/", v.signup, name="signup"),
    path("profile/", v.profile, name="profile"),
    path("profile/contact/", v.contact, name="contact"),
    path("profile/change-request/", v.profile_change_new, name="profile-change-new"),
    path("profile/region-change/", v.region_change, name="region-change"),
    path("profile/<int:pk>/photo/", v.profile_photo, name="profile-photo"),
    path("regions/options/", v.region_options, name="region-options"),
    path("corrections/", v.corrections, name="corrections"),
    path("corrections/new/", v.correction_edit, name="correction-new"),
    path("corrections/<int:pk>/", v.correction_edit, name="correction-edit"),
    path("corrections/<int:pk>/scan/", v.correction_scan, name="correction-scan"),
    path("apply/", v.apply, name="apply"),
    path("applications/<int:pk>/", v.application_detail, name="application-detail"),
    path("applications/<int:pk>/material/", v.application_material, name="application-material"),
    path("applications/<int:pk>/submit/", v.application_submit, name="application-submit"),
    path("applications/<int:pk>/withdraw/", v.application_withdraw, name="application-withdraw"),
    path("applications/<int:pk>/form.pdf", v.application_form, name="application-form"),
    path("materials/<int:pk>/", v.material_file, name="material-file"),
    path("history/", v.history, name="history"),
    path("registrations/<int:pk>/restore/", v.restore_new, name="restore-new"),
    path("registrations/<int:pk>/replacement/", v.replacement_new, name="replacement-new"),
    path("ce/", v.ce_ledger, name="ce"),
    path("courseware/", v.courseware_library, name="courseware-library"),
    path("courseware/<int:pk>/finish/", v.courseware_finish, name="courseware-finish"),
    path("ce/claims/new/", v.ce_claim_edit, name="ce-claim-new"),
    path("ce/claims/<int:pk>/", v.ce_claim_edit, name="ce-claim-edit"),
    path("ce/claims/<int:pk>/proof/", v.ce_claim_proof, name="ce-claim-proof"),
    path("certificates/<int:pk>/", v.certificate_file, name="certificate-file"),
]
