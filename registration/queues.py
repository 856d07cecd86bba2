"""The registration app's review queues (see swms/review_queues.py), registered in RegistrationConfig.ready()."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from swms.review_queues import Queue

from . import review
from .eligibility import ce_hours_between
from .filters import (
    ApplicationFilter,
    CEClaimFilter,
    CorrectionFilter,
    CoursewareFilter,
    OrganizationFilter,
    ProfileChangeFilter,
    ProfileFilter,
    RegionChangeFilter,
    ReplacementFilter,
    RestoreFilter,
)
from .models import (
    CE_HOURS_REQUIRED,
    CEClaim,
    Courseware,
    Organization,
    ProfileChangeRequest,
    RegionChangeRequest,
    RegistrationApplication,
    RegistrationKind,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)
from .services import organizations as org_services


def _application_extra(application):
    ce = None
    if application.kind in (RegistrationKind.RENEWAL, RegistrationKind.LATE):
        previous = application.worker.registrations.order_by("-valid_to").first()
        if previous is not None:
            end = timezone.localdate() if application.kind == RegistrationKind.RENEWAL else previous.valid_to
            ce = {"have": ce_hours_between(application.worker, previous.valid_from, end),
                  "need": CE_HOURS_REQUIRED[previous.level]}
    return {
        "materials": application.materials.all(),
        "ce": ce,
        "changes": application.history.select_related("history_user").order_by("-history_date")[:20],
    }


def _profile_extra(worker):
    """Every profile field in the form's sections, with what changed since the last approval."""
    from .selectors.profiles import profile_review_context

    return profile_review_context(worker)


def _decider(service, name):
    """(obj, actor, action, comment) -> service(name=obj, actor=..., action=..., comment=...)."""
    return lambda obj, actor, action, comment: service(**{name: obj}, actor=actor, action=action, comment=comment)


def _application_decide(obj, actor, action, comment):
    service = {"approve": review.application_approve, "reject": review.application_reject,
               "return": review.application_return}[action]
    return service(application=obj, actor=actor, comment=comment)


def _queue(key, model, filterset, title, name, template, path, decider, select_related, **kw):
    return Queue(
        key, model, filterset, title,
        list_url=f"registration:{name}-queue", detail_url=f"registration:{name}-review",
        decide_url=f"registration:{name}-decide", template=template, path=path, decider=decider,
        select_related=select_related, **kw,
    )


QUEUES = [
    Queue(
        "applications", RegistrationApplication, ApplicationFilter, _("Registration applications"),
        list_url="registration:review-queue", detail_url="registration:review-detail",
        decide_url="registration:review-decide", template="registration/review/application.html", path="",
        decider=_application_decide, detail_context=_application_extra,
        select_related=("worker", "region", "qualification", "initial_region", "final_region"),
    ),
    _queue("profiles", SocialWorker, ProfileFilter, _("Social worker profiles"), "profile",
           "registration/review/profile.html", "profiles/", _decider(review.profile_decide, "worker"),
           ("work_region", "user", "initial_region", "final_region"), detail_context=_profile_extra),
    _queue("profile_changes", ProfileChangeRequest, ProfileChangeFilter, _("Profile change requests"),
           "profile-change", "registration/review/profile_change.html", "profile-changes/",
           _decider(review.profile_change_decide, "change"),
           ("worker", "region", "initial_region", "final_region")),
    _queue("corrections", RosterCorrectionRequest, CorrectionFilter, _("Roster correction requests"), "correction",
           "registration/review/correction.html", "corrections/", _decider(review.correction_decide, "correction"),
           ("worker", "region", "initial_region", "final_region")),
    _queue("ce", CEClaim, CEClaimFilter, _("Offline CE hours"), "ce", "registration/review/ce_claim.html", "ce/",
           _decider(review.ce_claim_decide, "claim"), ("worker", "region", "initial_region", "final_region")),
    _queue("courseware", Courseware, CoursewareFilter, _("Courseware"), "courseware",
           "registration/review/courseware.html", "courseware/", _decider(review.courseware_decide, "courseware"),
           ("region", "initial_region", "final_region", "applicant"),
           also_active=("registration:courseware-new", "registration:courseware-edit"),
           create=("registration:courseware-new", _("Add courseware"), ("county",))),
    _queue("restores", RestoreApplication, RestoreFilter, _("Restore applications"), "restore",
           "registration/review/restore.html", "restores/", _decider(review.restore_decide, "restore"),
           ("worker", "region", "registration", "initial_region", "final_region")),
    _queue("replacements", ReplacementRequest, ReplacementFilter, _("Certificate replacements"), "replacement",
           "registration/review/replacement.html", "replacements/",
           _decider(review.replacement_decide, "replacement"),
           ("worker", "region", "registration", "initial_region", "final_region")),
    _queue("region_changes", RegionChangeRequest, RegionChangeFilter, _("Region or employer changes"),
           "region-change", "registration/review/region_change.html", "region-changes/",
           _decider(review.region_change_decide, "change"),
           ("worker", "old_region", "new_region", "initial_region", "final_region")),
    _queue("organizations", Organization, OrganizationFilter, _("Social work service organizations"),
           "organization", "registration/review/organization.html", "organizations/",
           _decider(org_services.organization_decide, "organization"),
           ("region", "account", "initial_region", "final_region"),
           detail_context=org_services.organization_review_context),
]
