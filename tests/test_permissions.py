"""Role × URL permission matrix (pretix style, SECURITY.md Z1/Z2/Z3).

Every named URL pattern of the project must appear in MATRIX; a new URL without a row fails
`test_every_url_pattern_is_in_the_matrix`. Out-of-scope objects give 404, roles that may never use
a page get 403, anonymous users are sent to the login page except on the public pages.
"""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import User
from tests.conftest import make_user
from tests.test_spotchecks import matrix_objects as spotcheck_objects

ROLES = ["anonymous", "social_worker", "organization", "station", "county", "city", "province", "outsider", "superuser"]

# Namespaces that belong to third-party apps and are covered elsewhere.
EXEMPT_NAMESPACES = {"admin", "captcha"}
EXEMPT_NAMES = {"captcha-image", "captcha-image-2x", "captcha-audio", "captcha-refresh"}

PUBLIC = dict.fromkeys(ROLES, 200)
LOGGED_IN_200 = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 200)}
OFFICIALS_ONLY = {
    "anonymous": 302,
    "social_worker": 403,
    "organization": 403,
    "station": 403,
    "county": 200,
    "city": 200,
    "province": 200,
    "outsider": 200,
    "superuser": 200,
}


def _object_rule(ok: int) -> dict:
    """A URL about the 洪桥街道 official (below 越秀区): the sibling county must get 404."""
    return {
        "anonymous": 302,
        "social_worker": 403,
        "organization": 403,
        "station": 403,
        "county": ok,
        "city": ok,
        "province": ok,
        "outsider": 404,
        "superuser": ok,
    }


NON_OFFICIALS_403 = {"social_worker": 403, "organization": 403, "station": 403}
WORKER_ONLY = {"anonymous": 302, "social_worker": 200, **dict.fromkeys(ROLES[2:], 403)}  # superuser too
WORKER_ONLY_POST = {"anonymous": 302, "social_worker": 302, **dict.fromkeys(ROLES[2:], 403)}
SIGNED_IN_200 = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 200)}
# Organizations' own pages: not even operators (superusers) use them.
ORG_ONLY = {"anonymous": 302, "social_worker": 403, "organization": 200, **dict.fromkeys(ROLES[3:], 403)}
ORG_ONLY_POST = {**ORG_ONLY, "organization": 302}
# Who a notice of 广州市 to every audience of 越秀区 reaches: not the city itself, the province, the
# sibling county or operators (who hold no place in the tree).
NOTICE_RECIPIENTS = {"anonymous": 302, "social_worker": 200, "organization": 200, "station": 200, "county": 200,
                     "city": 404, "province": 404, "outsider": 404, "superuser": 404}


def NOTICE_SENDER(ok):  # noqa: N802 - reads like the constants around it
    """Pages of the sending office (广州市) about its notice."""
    return {"anonymous": 302, **NON_OFFICIALS_403, "county": 404, "city": ok, "province": 404, "outsider": 404,
            "superuser": ok}


def IMPORTERS(ok):  # noqa: N802 - reads like the constants around it
    """The import centre: operators and province officials only; every other signed-in role is refused."""
    return {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "province": ok, "superuser": ok}


STATION_SIDE = {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "station": 200, "organization": 302}


def _file_rule():
    """A private file of the 洪桥街道 worker: the owner and officials above see it; nobody else."""
    return {
        "anonymous": 302, "social_worker": 200, "organization": 404, "station": 404, "county": 200, "city": 200,
        "province": 200, "outsider": 404, "superuser": 200,
    }


def _review_rule(ok: int):
    """An officials' page about the 洪桥街道 worker's item."""
    return {"anonymous": 302, **NON_OFFICIALS_403, "county": ok, "city": ok, "province": ok, "outsider": 404,
            "superuser": ok}


# An oversight action (freeze, cancel, re-issue) on the 洪桥街道 worker's registration: the city and province
# above act (an empty POST is refused with a message and sent back, 302); the county sees but may not (403).
OVERSIGHT_POST = {**_review_rule(302), "county": 403}

# url name -> (method, kwargs factory name, expected status per role)
MATRIX = {
    "reports:workbench": ("get", None, LOGGED_IN_200),
    # The organization of the matrix operates no station: it is told so and sent home (302).
    "reports:station-workbench": ("get", None, STATION_SIDE),
    "reports:statistics": ("get", None, OFFICIALS_ONLY),
    "reports:statistics-region": ("get", "county_region", _object_rule(200)),
    # Town officials are not overseers of review queues (403); county, city, province and superusers are.
    "reports:review-dashboard": ("get", None, OFFICIALS_ONLY),
    "accounts:login": ("get", None, {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}),
    "accounts:logout": ("post", None, dict.fromkeys(ROLES, 302)),
    "accounts:password-change": ("get", None, LOGGED_IN_200),
    "accounts:password-reset": ("get", None, PUBLIC),
    "accounts:password-reset-done": ("get", None, PUBLIC),
    "accounts:password-reset-confirm": ("get", "reset_token", PUBLIC),
    "accounts:password-reset-complete": ("get", None, PUBLIC),
    "accounts:official-list": ("get", None, OFFICIALS_ONLY),
    "accounts:official-create": ("get", None, OFFICIALS_ONLY),
    "accounts:official-detail": ("get", "town_official", _object_rule(200)),
    "accounts:official-deactivate": ("post", "town_official", _object_rule(302)),
    "accounts:official-activate": ("post", "town_official", _object_rule(302)),
    "accounts:official-password-reset": ("post", "town_official", _object_rule(200)),
    # Officials reset the passwords of the 洪桥街道 worker and organization (the new one is shown once).
    "accounts:worker-password-reset": ("post", "worker", _review_rule(200)),
    "accounts:organization-password-reset": ("post", "organization", _review_rule(200)),
    "accounts:region-children": (
        "get",
        "county_region",
        {**dict.fromkeys(ROLES, 200), "anonymous": 302, "outsider": 404},
    ),
    "set_language": ("post", None, dict.fromkeys(ROLES, 302)),
    # Load balancers' probes (#17): no login, no detail; answered before sessions and the second factor.
    "healthz": ("get", None, PUBLIC),
    "readyz": ("get", None, PUBLIC),
    # --- registration: worker side
    "registration:signup": ("get", None, {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}),
    "registration:profile": ("get", None, WORKER_ONLY),
    "registration:contact": ("post", None, WORKER_ONLY_POST),
    "registration:profile-photo": ("get", "worker", _file_rule()),
    "registration:region-options": ("get", None, PUBLIC),
    "registration:corrections": ("get", None, WORKER_ONLY),
    "registration:correction-new": ("get", None, WORKER_ONLY),
    "registration:correction-edit": ("get", "correction", WORKER_ONLY),
    "registration:correction-scan": ("get", "correction", _file_rule()),
    "registration:apply": ("get", None, WORKER_ONLY),
    "registration:application-detail": (
        "get", "application",
        {"anonymous": 302, "social_worker": 200, "organization": 404, "station": 404, "county": 302, "city": 302,
         "province": 302, "outsider": 404, "superuser": 302},
    ),
    "registration:application-material": ("post", "application", WORKER_ONLY_POST),
    "registration:application-submit": ("post", "application", WORKER_ONLY_POST),
    "registration:application-withdraw": ("post", "application", WORKER_ONLY_POST),
    "registration:application-form": ("get", "application", _file_rule()),
    "registration:material-file": ("get", "material", _file_rule()),
    "registration:history": ("get", None, WORKER_ONLY),
    "registration:certificate-file": ("get", "certificate", _file_rule()),
    "registration:ce": ("get", None, WORKER_ONLY),
    "registration:restore-new": ("post", "registration", WORKER_ONLY_POST),
    "registration:region-change": ("get", None, WORKER_ONLY),
    "registration:region-change-queue": ("get", None, OFFICIALS_ONLY),
    "registration:region-change-review": ("get", "region_change", _review_rule(200)),
    "registration:region-change-decide": ("post", "region_change", _review_rule(302)),
    "registration:replacement-new": ("post", "valid_registration", WORKER_ONLY_POST),
    "registration:profile-change-new": ("post", None, WORKER_ONLY_POST),
    "registration:profile-change-queue": ("get", None, OFFICIALS_ONLY),
    "registration:profile-change-review": ("get", "profile_change", _review_rule(200)),
    "registration:profile-change-decide": ("post", "profile_change", _review_rule(302)),
    "registration:replacement-queue": ("get", None, OFFICIALS_ONLY),
    "registration:replacement-review": ("get", "replacement", _review_rule(200)),
    "registration:replacement-decide": ("post", "replacement", _review_rule(302)),
    "registration:restore-queue": ("get", None, OFFICIALS_ONLY),
    "registration:restore-review": ("get", "restore", _review_rule(200)),
    "registration:restore-decide": ("post", "restore", _review_rule(302)),
    "registration:courseware-library": ("get", None, WORKER_ONLY),
    # The fixture's courseware is still under review: not open to workers yet.
    "registration:courseware-finish": ("post", "courseware", {**WORKER_ONLY_POST, "social_worker": 404}),
    "registration:courseware-queue": ("get", None, OFFICIALS_ONLY),
    "registration:courseware-new": ("get", None, OFFICIALS_ONLY),
    "registration:courseware-review": ("get", "courseware", _review_rule(200)),
    "registration:courseware-edit": ("get", "courseware", _review_rule(200)),
    "registration:courseware-decide": ("post", "courseware", _review_rule(302)),
    "registration:ce-claim-new": ("get", None, WORKER_ONLY),
    "registration:ce-claim-edit": ("get", "ce_claim", WORKER_ONLY),
    "registration:ce-claim-proof": ("get", "ce_claim", _file_rule()),
    "registration:ce-queue": ("get", None, OFFICIALS_ONLY),
    "registration:ce-review": ("get", "ce_claim", _review_rule(200)),
    "registration:ce-decide": ("post", "ce_claim", _review_rule(302)),
    "verify": ("get", "token", PUBLIC),
    "verify-upload": ("get", None, PUBLIC),
    # --- registration: organizations (the org role's own record is the submitted "organization")
    "registration:organization-signup": ("get", None, {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}),
    "registration:organization-profile": ("get", None, ORG_ONLY),
    "registration:organization-contact": ("post", None, ORG_ONLY),  # empty post: the page with its errors
    "registration:organization-staff": ("get", None, ORG_ONLY),
    "registration:organization-staff-new": ("get", None, ORG_ONLY),
    "registration:organization-staff-edit": ("get", "org_staff", ORG_ONLY),
    "registration:organization-staff-leave": ("post", "org_staff", ORG_ONLY_POST),
    "registration:organization-queue": ("get", None, OFFICIALS_ONLY),
    "registration:organization-review": ("get", "organization", _review_rule(200)),
    "registration:organization-decide": ("post", "organization", _review_rule(302)),
    # --- registration: officials' side
    "registration:review-queue": ("get", None, OFFICIALS_ONLY),
    "registration:review-detail": ("get", "application", _review_rule(200)),
    "registration:review-decide": ("post", "application", _review_rule(302)),
    "registration:profile-queue": ("get", None, OFFICIALS_ONLY),
    "registration:profile-review": ("get", "worker", _review_rule(200)),
    "registration:profile-decide": ("post", "worker", _review_rule(302)),
    "registration:correction-queue": ("get", None, OFFICIALS_ONLY),
    "registration:correction-review": ("get", "correction", _review_rule(200)),
    "registration:correction-decide": ("post", "correction", _review_rule(302)),
    # --- registration: the officials' registry (社工登记库) and certificates issued
    "registration:registry": ("get", None, OFFICIALS_ONLY),
    "registration:registry-worker": ("get", "worker", _review_rule(200)),
    "registration:registry-freeze": ("post", "valid_registration", OVERSIGHT_POST),
    "registration:registry-unfreeze": ("post", "valid_registration", OVERSIGHT_POST),
    "registration:registry-cancel": ("post", "valid_registration", OVERSIGHT_POST),
    "registration:certificate-list": ("get", None, OFFICIALS_ONLY),
    "registration:certificate-reissue": ("post", "valid_registration", OVERSIGHT_POST),
    "registration:window-list": ("get", None, OFFICIALS_ONLY),
    "registration:window-create": (
        "get", None, {**OFFICIALS_ONLY, "county": 302, "city": 302, "outsider": 302},
    ),
    "registration:window-edit": (
        "get", "window", {**OFFICIALS_ONLY, "county": 302, "city": 302, "outsider": 302},
    ),
    # --- registration guide and FAQ: public (the sign-up page links them); written by the province only
    "registration:guide": ("get", None, PUBLIC),
    "registration:faq": ("get", None, PUBLIC),
    "registration:guide-edit": ("get", None, {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "province": 200}),
    "registration:faq-edit": ("get", None, {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "province": 200}),
    # --- stations: officials' pages about the 洪桥街道 station, and the station's own pages
    "stations:list": ("get", None, OFFICIALS_ONLY),
    "stations:create": ("get", None, OFFICIALS_ONLY),
    "stations:detail": ("get", "station", _object_rule(200)),
    "stations:edit": ("get", "station", _object_rule(200)),
    "stations:delete": ("get", "station", _object_rule(200)),
    # Success shows the new password once (200).
    "stations:password": ("post", "station", _object_rule(200)),
    "stations:worker-overview": ("get", None, OFFICIALS_ONLY),
    # The organization account of the matrix operates no station: it is told so and sent home (302).
    "stations:mine": ("get", None, STATION_SIDE),
    "stations:workers": ("get", None, STATION_SIDE),
    "stations:worker-add": ("get", None, STATION_SIDE),
    "stations:worker-edit": ("get", "station_worker", STATION_SIDE),
    "stations:worker-leave": ("post", "station_worker", {**STATION_SIDE, "station": 302}),
    "stations:switch": ("post", None, {"anonymous": 302, **dict.fromkeys(ROLES[1:], 403), "organization": 404}),
    # --- services: clients (rows go here)
    "services:client-list": ("get", None, STATION_SIDE),
    "services:client-new": ("get", None, STATION_SIDE),
    "services:client-detail": ("get", "service_client", STATION_SIDE),
    "services:client-edit": ("get", "service_client", STATION_SIDE),
    "services:client-delete": ("get", "service_client", STATION_SIDE),
    "services:official-client-list": ("get", None, OFFICIALS_ONLY),
    "services:official-client-detail": ("get", "service_client", _object_rule(200)),
    # --- services: activities (rows go here)
    "services:activity-overview": ("get", None, STATION_SIDE),
    "services:activity-client-search": ("get", None, STATION_SIDE),  # the activity form's client picker
    "services:activity-list": ("get", "category", STATION_SIDE),
    "services:activity-new": ("get", "category", STATION_SIDE),
    "services:activity-detail": ("get", "activity", STATION_SIDE),
    "services:activity-edit": ("get", "activity", STATION_SIDE),
    "services:activity-delete": ("get", "activity", STATION_SIDE),  # GET: the confirmation page
    "services:official-activity-list": ("get", None, OFFICIALS_ONLY),
    "services:official-activity-detail": ("get", "activity", _object_rule(200)),
    # --- services: monthly summaries (rows go here)
    "services:summary-list": ("get", None, STATION_SIDE),
    "services:summary-new": ("post", None, {**STATION_SIDE, "station": 302}),
    "services:summary-detail": ("get", "summary", STATION_SIDE),
    # Submitted, so the edit page sends the station to the read-only page.
    "services:summary-edit": ("get", "summary", {**STATION_SIDE, "station": 302}),
    "services:summary-document": ("get", "summary", {
        "anonymous": 302, "social_worker": 404, "organization": 404, "station": 200, "county": 200, "city": 200,
        "province": 200, "outsider": 404, "superuser": 200}),
    "services:summary-completeness": ("get", None, OFFICIALS_ONLY),
    "services:summary-queue": ("get", None, OFFICIALS_ONLY),
    "services:summary-review": ("get", "summary", _review_rule(200)),
    "services:summary-decide": ("post", "summary", _review_rule(302)),
    # --- spot checks (抽查): a 广东省 batch; its rectification is open for 广州市 (the county below does not see it)
    "spotchecks:batch-list": ("get", None, OFFICIALS_ONLY),
    "spotchecks:batch-new": ("get", None, {**OFFICIALS_ONLY, "county": 403, "city": 403, "outsider": 403}),
    "spotchecks:batch-detail": ("get", "spotcheck_batch", {**_review_rule(200), "county": 404, "city": 404}),
    "spotchecks:batch-report": ("get", "spotcheck_batch", {**_review_rule(200), "county": 404, "city": 404}),
    "spotchecks:item-detail": ("get", "spotcheck_item", {**_review_rule(200), "county": 404, "city": 404}),
    "spotchecks:item-result": ("post", "spotcheck_item", {**_review_rule(302), "county": 404, "city": 404}),
    "spotchecks:rectification-list": ("get", None, OFFICIALS_ONLY),
    "spotchecks:rectification-answer": ("post", "rectification", {**_review_rule(302), "county": 404}),
    "spotchecks:rectification-queue": ("get", None, OFFICIALS_ONLY),
    "spotchecks:rectification-review": ("get", "rectification", {**_review_rule(200), "county": 404}),
    "spotchecks:rectification-decide": ("post", "rectification", {**_review_rule(302), "county": 404}),
    # --- notices: a 广州市 notice to every audience of 越秀区 (the 洪桥街道 accounts are inside it)
    "notices:received": ("get", None, SIGNED_IN_200),
    "notices:notice-detail": ("get", "notice", NOTICE_RECIPIENTS),
    "notices:attachment": ("get", "notice_attachment", {**NOTICE_RECIPIENTS, "city": 200, "superuser": 200}),
    "notices:sent": ("get", None, OFFICIALS_ONLY),
    "notices:notice-new": ("get", None, OFFICIALS_ONLY),
    "notices:notice-preview": ("post", None, OFFICIALS_ONLY),
    "notices:sent-detail": ("get", "notice", NOTICE_SENDER(200)),
    # Published: the edit page sends the sender to the read-only page.
    "notices:notice-edit": ("get", "notice", NOTICE_SENDER(302)),
    "notices:notice-publish": ("post", "notice", {**NOTICE_SENDER(302), "superuser": 403}),
    "notices:notice-withdraw": ("post", "notice", NOTICE_SENDER(302)),
    "notices:notice-remind": ("post", "notice", {**NOTICE_SENDER(302), "superuser": 403}),
    "portal:notices": ("get", None, PUBLIC),
    "portal:notice": ("get", "public_notice", PUBLIC),
    # --- export jobs: a finished export of the county official's; nobody else's business
    "export-detail": ("get", "export_job", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 404), "county": 200}),
    "export-download": ("get", "export_job", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 404), "county": 200}),
    "export-list": ("get", None, SIGNED_IN_200),
    # --- claiming an imported worker's account: for people not signed in
    "accounts:claim": ("get", None, {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}),
    # --- second factor, re-authentication, SMS-code login (A5, A6)
    "accounts:sms-login": ("get", None, {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}),
    "accounts:mfa-security": ("get", None, SIGNED_IN_200),
    "accounts:mfa-setup": ("get", None, SIGNED_IN_200),
    # Nobody here has an authenticator or a pending login to verify: back to where they belong.
    "accounts:mfa-verify": ("get", None, dict.fromkeys(ROLES, 302)),
    "accounts:mfa-backup-codes": ("post", None, dict.fromkeys(ROLES, 302)),
    "accounts:mfa-disable": ("post", None, dict.fromkeys(ROLES, 302)),
    "accounts:reauth": ("get", None, SIGNED_IN_200),
    "accounts:official-mfa-reset": ("post", "town_official", _object_rule(302)),
    # --- 显示完整号码: a worker's ID number, for the officials whose area holds the worker (the confirmation
    # step; the number itself is shown by the POST); every other role and the outsider get 404
    "reveal": ("get", "reveal_worker", {**dict.fromkeys(ROLES, 404), "anonymous": 302, "county": 200, "city": 200,
                                        "province": 200}),
    # --- the import centre: operators and province officials; a job of the 广东省 office
    "import-centre": ("get", None, IMPORTERS(200)),
    "import-template": ("get", "import_kind", IMPORTERS(200)),
    "import-detail": ("get", "import_job", IMPORTERS(200)),
    "import-errors": ("get", "import_job", IMPORTERS(200)),
    "import-confirm": ("post", "import_job", IMPORTERS(302)),
    "import-cancel": ("post", "import_job", IMPORTERS(302)),
    "import-retry": ("post", "import_job", IMPORTERS(302)),
    "export-retry": ("post", "export_job", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 404), "county": 302}),
    # --- inbox
    "notices:inbox": ("get", None, SIGNED_IN_200),
    "notices:message": ("get", "message", {"anonymous": 302, "social_worker": 200, **dict.fromkeys(ROLES[2:], 404)}),
    "notices:mark-all-read": ("post", None, {"anonymous": 302, **dict.fromkeys(ROLES[1:], 302)}),
}


def _walk(resolver, namespace=""):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            if ns in EXEMPT_NAMESPACES:
                continue
            yield from _walk(p, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{namespace}{p.name}"


def test_every_url_pattern_is_in_the_matrix():
    names = {n for n in _walk(get_resolver()) if n.split(":")[-1] not in EXEMPT_NAMES}
    missing = names - set(MATRIX)
    assert not missing, f"URL patterns missing from the permission matrix: {sorted(missing)}"
    stale = set(MATRIX) - names
    assert not stale, f"matrix rows for URLs that no longer exist: {sorted(stale)}"


@pytest.fixture
def registration_objects(regions, province_official, organization_user, settings, tmp_path):
    """A 洪桥街道 worker with photo, a submitted application with a material, a correction request
    at 越秀区, a Guangdong window, an inbox message, and the organization role's submitted 洪桥街道
    organization with one staff member."""
    from notices.models import Message
    from registration.models import (
        ApplicationMaterial,
        RegistrationApplication,
        RegistrationWindow,
        RosterCorrectionRequest,
    )
    from swms.uploads import check_image_upload
    from swms.workflow import review_submit
    from tests.factories import QualificationFactory, SocialWorkerFactory
    from tests.test_uploads import png_upload

    settings.MEDIA_ROOT = tmp_path
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    image = check_image_upload(png_upload(413, 626))
    worker.photo.save(image.content.name, image.content)
    qualification = QualificationFactory(id_number=worker.id_number)
    application = RegistrationApplication.objects.create(
        applicant=worker.user, worker=worker, kind="first", qualification=qualification, region=worker.work_region,
        pickup="mail",
    )
    material = ApplicationMaterial(application=application, kind="photo", content_type=image.content_type,
                                   size=image.size, sha256=image.sha256)
    material.file.save(image.content.name, check_image_upload(png_upload(413, 626)).content)
    review_submit(application, actor=worker.user)
    review_submit(worker, actor=worker.user)
    correction = RosterCorrectionRequest(applicant=worker.user, worker=worker, region=regions["越秀区"],
                                         level="assistant", certificate_no="X1", exam_year=2021)
    correction.scan.save(image.content.name, check_image_upload(png_upload(800, 600)).content)
    review_submit(correction, actor=worker.user)
    window = RegistrationWindow.objects.create(province=regions["广东省"], name="w", opens_on="2026-01-01",
                                               closes_on="2026-01-31", created_by=province_official)
    message = Message.objects.create(user=worker.user, title="t")
    from django.core.files.base import ContentFile

    from registration.models import Certificate
    from tests.factories import RegistrationFactory

    registration = RegistrationFactory(worker=worker, qualification=qualification)
    certificate = Certificate(registration=registration, issued_by="广州市民政局", sha256="0")
    certificate.file.save("c.pdf", ContentFile(b"%PDF-1.4 matrix"))
    from registration.services import ce_claim_submit

    ce_claim = ce_claim_submit(
        worker=worker, data={"provider": "P", "course": "C", "started_on": datetime.date(2025, 1, 1),
                             "finished_on": datetime.date(2025, 1, 2), "hours": 8}, proof=check_image_upload(png_upload(800, 600)),
    )
    from registration.review import courseware_submit

    county = User.objects.create_user("courseware_county", kind="official", region=regions["越秀区"])
    courseware = courseware_submit(actor=county, data={"title": "个案管理实务", "provider": "广东社工学院", "hours": 6,
                                                       "link": "https://example.org/c/1", "description": ""})
    from registration.services import restore_submit

    registration.status = "frozen"
    registration.save()
    restore = restore_submit(worker=worker, registration=registration, reason="继续教育已完成")
    from registration.services import replacement_submit

    valid_registration = RegistrationFactory(worker=worker, qualification=qualification)
    second = Certificate(registration=valid_registration, issued_by="广州市民政局", sha256="0")
    second.file.save("c2.pdf", ContentFile(b"%PDF-1.4 matrix"))
    replacement = replacement_submit(worker=worker, registration=valid_registration, reason="lost")
    from registration.models import ProfileChangeRequest

    profile_change = review_submit(ProfileChangeRequest.objects.create(
        applicant=worker.user, worker=worker, region=worker.work_region, reason="婚姻状况变更"), actor=worker.user)
    from registration.services import region_change_submit

    region_change = region_change_submit(worker=worker, new_region=regions["北京街道"], new_employer="新单位",
                                         reason="工作调动")
    from tests.test_organizations import make_organization

    organization = review_submit(make_organization(organization_user, regions["洪桥街道"]), actor=organization_user)
    org_staff = organization.staff.create(name="周敏")
    return {"worker": worker, "application": application, "material": material, "correction": correction,
            "window": window, "message": message, "certificate": certificate, "ce_claim": ce_claim,
            "courseware": courseware, "registration": registration, "restore": restore,
            "valid_registration": valid_registration, "replacement": replacement, "region_change": region_change,
            "profile_change": profile_change, "organization": organization, "org_staff": org_staff,
            **spotcheck_objects(regions, province_official, valid_registration)}


@pytest.fixture
def station_objects(regions, alice, city_official, province_official, station_user, settings, tmp_path):
    """The 洪桥街道 station, run by the matrix's station account, with one manual worker."""
    from stations.models import Station, StationWorker
    from tests.factories import make_id_number

    station = Station.objects.create(code="440104001000001", name="洪桥街道社工站", tier="station",
                                     region=regions["洪桥街道"], address="洪桥街1号", contact_person="陈",
                                     contact_phone="020-1", account=station_user, created_by=alice)
    worker = StationWorker.objects.create(station=station, source="manual", name="王", gender="male",
                                          id_number=make_id_number())
    from services.models import Activity, Client, MonthlySummary

    client = Client.objects.create(station=station, name="李阿姨", gender="female", person_types=["elderly"])
    activity = Activity.objects.create(station=station, category="case", code="440104001000001-202611-0001",
                                       name="独居长者个案", lead_worker=worker, contact_phone="020-1",
                                       service_domains=["elderly_care"], started_at="2026-11-02T09:00:00+08:00")
    activity.clients.add(client)
    summary = MonthlySummary.objects.create(station=station, month="2026-10-01", created_by=station_user, text="十月")
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    summary.document.save("summary.pdf", ContentFile(b"%PDF-1.4 matrix"))
    from swms.workflow import review_submit

    review_submit(summary, actor=station_user)
    from notices import notice_services
    from swms.uploads import check_document_upload
    from tests.test_document_checks import pdf_bytes

    city = User.objects.get(username="gz_city")
    from django.core.files.uploadedfile import SimpleUploadedFile

    notice = notice_services.notice_save(
        actor=city, notice=None, regions=[regions["越秀区"]],
        attachments=[check_document_upload(SimpleUploadedFile("方案.pdf", pdf_bytes()))],
        data=dict(title="通知", category="notice", content="内容", to_officials=True, to_stations=True,
                  to_organizations=True, to_workers=True))
    notice_services.notice_publish(actor=city, notice=notice)
    public = notice_services.notice_save(actor=city, notice=None, regions=[], data=dict(
        title="政策", category="policy", content="内容", to_stations=True, is_public=True))
    notice_services.notice_publish(actor=city, notice=public)
    return {"station": station, "station_worker": worker, "service_client": client, "activity": activity,
            "summary": summary, "notice": notice, "notice_attachment": notice.attachments.get(),
            "public_notice": public, "export_job": _export_job(alice),
            "import_job": _import_job(province_official)}


def _import_job(owner):
    from django.core.files.base import ContentFile

    from swms.models import ImportJob

    job = ImportJob.objects.create(kind="roster", user=owner, scope=owner.region, file_name="名单.xlsx", size=4,
                                   sha256="0" * 64, status="checked")
    job.file.save("a.xlsx", ContentFile(b"PK\x03\x04"), save=False)
    job.error_file.save("e.xlsx", ContentFile(b"PK\x03\x04"))
    return job


def _export_job(owner):
    from django.core.files.base import ContentFile

    from swms.models import ExportJob

    job = ExportJob.objects.create(user=owner, builder="stations.views.station_table", filename="s.xlsx",
                                   status="done", total=1)
    job.file.save("s.xlsx", ContentFile(b"PK\x03\x04"))
    return job


@pytest.fixture
def role_users(regions, alice, charlie, city_official, province_official, registration_objects, organization_user,
               station_user, superuser):
    return {
        "anonymous": None,
        "social_worker": registration_objects["worker"].user,
        "organization": organization_user,
        "station": station_user,
        "county": alice,
        "city": city_official,
        "province": province_official,
        "outsider": charlie,
        "superuser": superuser,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url_name", sorted(MATRIX))
def test_permission_matrix(client, regions, role_users, registration_objects, station_objects, role, url_name):
    method, kwargs_name, expected = MATRIX[url_name]
    target = make_user("hq_town_official", "official", regions["洪桥街道"])
    objects = {**registration_objects, **station_objects}
    kwargs = {
        None: {},
        "town_official": {"pk": target.pk},
        "county_region": {"pk": regions["越秀区"].pk},
        "reset_token": {"uidb64": "MQ", "token": "set-password"},
        "category": {"category": "case"},
        "import_kind": {"kind": "roster"},
        **{name: {"pk": objects[name].pk} for name in objects},
        "token": {"token": objects["certificate"].token},
        "reveal_worker": {"kind": "worker", "pk": objects["worker"].pk, "field": "id_number"},
    }[kwargs_name]
    user = role_users[role]
    if user is not None:
        client.force_login(user)
    url = reverse(url_name, kwargs=kwargs)
    response = getattr(client, method)(url, {"language": "zh-hans"} if url_name == "set_language" else {})
    assert response.status_code == expected[role], f"{role} {method.upper()} {url}"
    if role == "anonymous" and expected[role] == 302 and url_name not in ("accounts:logout", "set_language"):
        assert response["Location"].startswith(reverse("accounts:login"))


# Django's own set_language answers GET with a redirect and changes nothing, so it is not listed.
@pytest.mark.parametrize(
    "url_name", [name for name, (method, _, _) in MATRIX.items() if method == "post" and name != "set_language"]
)
def test_mutating_views_refuse_get(client, regions, alice, registration_objects, station_objects, url_name):
    """No state change through GET (I4)."""
    target = make_user("hq_town_official", "official", regions["洪桥街道"])
    kwargs_name = MATRIX[url_name][1]
    objects = {**registration_objects, **station_objects}
    kwargs = {"pk": target.pk} if kwargs_name == "town_official" else (
        {"pk": objects[kwargs_name].pk} if kwargs_name else {}
    )
    client.force_login(alice)
    response = client.get(reverse(url_name, kwargs=kwargs))
    assert response.status_code == 405
    target.refresh_from_db()
    assert target.is_active


def test_post_without_csrf_token_is_refused(regions, alice):
    from django.test import Client

    target = make_user("hq_town_official", "official", regions["洪桥街道"])
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    response = csrf_client.post(reverse("accounts:official-deactivate", kwargs={"pk": target.pk}))
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active


def test_admin_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "login" in response["Location"]
