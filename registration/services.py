"""Worker-side registration services: sign-up, profile, roster corrections, applications."""

from __future__ import annotations

import datetime
import hashlib
import io
import uuid
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from accounts.models import User, UserKind
from swms.ids import birth_date_from_ric, validate_ric
from swms.uploads import ALLOWED_FORMATS, CheckedImage
from swms.workflow import Action, State, review_submit, review_withdraw

from .eligibility import current_window, worker_eligibility
from .models import (
    DEFAULT_PICKUP,
    ApplicationMaterial,
    Gender,
    MaterialKind,
    Pickup,
    Qualification,
    Registration,
    RegistrationApplication,
    RegistrationKind,
    RosterCorrectionRequest,
    SocialWorker,
)


class RegistrationError(Exception):
    """A domain error with a message fit for the user."""


# --- Sign-up and profile -------------------------------------------------------------------------


def socialworker_signup(*, id_number: str, name: str, mobile: str, email: str, password: str) -> tuple[User, bool]:
    """Create a social worker's account and draft profile. Returns (user, found_in_roster).

    When the exam roster knows the ID number, the name comes from the roster and is locked.
    """
    id_number = validate_ric(id_number)
    if User.objects.filter(id_number=id_number).exists() or SocialWorker.objects.filter(id_number=id_number).exists():
        raise RegistrationError(_("An account with this ID number already exists. Log in or reset your password."))
    if User.objects.filter(phone=mobile).exists():
        raise RegistrationError(_("This mobile number belongs to another account."))
    roster = Qualification.objects.filter(id_number=id_number).order_by("-exam_year").first()
    if roster is not None:
        name = roster.name
    user = User(username=id_number, kind=UserKind.SOCIAL_WORKER, id_number=id_number, phone=mobile,
                email=email, full_name=name)
    validate_password(password, user)
    user.set_password(password)
    birth = birth_date_from_ric(id_number)
    with transaction.atomic():
        user.save()
        SocialWorker.objects.create(
            user=user, name=name, id_number=id_number, roster_locked=roster is not None,
            birth_date=birth, gender=Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE,
            mobile=mobile, email=email,
        )
    return user, roster is not None


def _ensure_editable(obj) -> None:
    if not obj.is_editable:
        raise RegistrationError(_("This has been submitted and cannot be changed until it is reviewed."))


def profile_save(*, worker: SocialWorker, data: dict, photo: CheckedImage | None = None) -> SocialWorker:
    """Save the profile as a draft (incomplete is fine); contact fields are saved here too."""
    _ensure_editable(worker)
    locked = {"id_number", "user", "status"} | ({"name", "birth_date", "gender"} if worker.roster_locked else set())
    if worker.region_locked:
        locked |= {"work_region", "employer"}
    for field, value in data.items():
        if field not in locked:
            setattr(worker, field, value)
    if photo is not None:
        worker.photo.save(photo.content.name, photo.content, save=False)
    worker.save()
    return worker


def profile_submit(*, worker: SocialWorker, actor: User) -> SocialWorker:
    """Submit the profile for the county's review; refuses while required fields are missing."""
    missing = worker.missing_fields()
    if missing:
        labels = "、".join(str(SocialWorker._meta.get_field(f).verbose_name) for f in missing)
        raise RegistrationError(_("Please fill in: %(fields)s") % {"fields": labels})
    return review_submit(worker, actor=actor)


def profile_contact_update(*, worker: SocialWorker, data: dict) -> SocialWorker:
    """Contact information may change at any time without review (Xiamen: 联系信息修改)."""
    for field in SocialWorker.CONTACT_FIELDS:
        if field in data:
            setattr(worker, field, data[field])
    worker.save(update_fields=[*SocialWorker.CONTACT_FIELDS, "updated_at"])
    return worker


# --- Roster correction ---------------------------------------------------------------------------


def roster_correction_save(
    *, worker: SocialWorker, request: RosterCorrectionRequest | None, data: dict, scan: CheckedImage | None
) -> RosterCorrectionRequest:
    """Create or update a draft "my exam record is missing" request."""
    if request is None:
        request = RosterCorrectionRequest(applicant=worker.user, worker=worker)
    else:
        _ensure_editable(request)
    for field in ("region", "level", "certificate_no", "exam_year", "issuing_province", "note"):
        if field in data:
            setattr(request, field, data[field])
    if scan is not None:
        request.scan.save(scan.content.name, scan.content, save=False)
    if not request.scan:
        raise RegistrationError(_("Please upload a scan of your certificate."))
    request.save()
    return request


def roster_correction_submit(*, request: RosterCorrectionRequest, actor: User) -> RosterCorrectionRequest:
    return review_submit(request, actor=actor)


# --- Applications ----------------------------------------------------------------------------------


def application_start(*, worker: SocialWorker, kind: str, today: datetime.date | None = None) -> RegistrationApplication:
    """Open a draft application of an allowed kind (one open application per person; rejected and
    withdrawn ones are closed and do not count). The profile photo becomes its photo material."""
    today = today or timezone.localdate()
    existing = RegistrationApplication.objects.filter(worker=worker).open().first()
    if existing is not None:
        raise RegistrationError(_("You already have an open application; continue that one."))
    decision = _decision(worker, kind, today)
    missing = worker.missing_fields()
    if missing:
        raise RegistrationError(_("Please complete your profile first."))
    window = current_window(worker.work_region, on_date=today)
    if not window.is_open:
        raise RegistrationError(window.reason)
    try:
        with transaction.atomic():
            application = RegistrationApplication.objects.create(
                applicant=worker.user, worker=worker, kind=kind, qualification_id=decision.qualification_id,
                window=window.window, region=worker.work_region, pickup=DEFAULT_PICKUP[kind],
                mailing_address=worker.address,
            )
    except IntegrityError:
        # A second tab started one at the same moment: the partial unique constraint decided.
        raise RegistrationError(_("You already have an open application; continue that one.")) from None
    _photo_from_profile(application)
    return application


def _decision(worker, kind, today):
    for decision in worker_eligibility(worker, on_date=today):
        if decision.kind == kind:
            if not decision.allowed:
                raise RegistrationError(decision.reason)
            return decision
    raise RegistrationError(_("Unknown registration kind."))


def application_withdraw(*, application: RegistrationApplication, actor: User) -> RegistrationApplication:
    """Withdraw (撤回) a draft or returned application: it is closed for good, and a new one may be
    started. A submitted one cannot be withdrawn before it is reviewed (Beijing manual 2.3)."""
    if not application.workflow.allowed(application.status, Action.WITHDRAW):
        if application.status in application.workflow.waiting:
            raise RegistrationError(_("A submitted application cannot be withdrawn until it is reviewed."))
        raise RegistrationError(_("This application is already closed."))
    return review_withdraw(application, actor=actor)


def application_save(*, application: RegistrationApplication, pickup: str, mailing_address: str) -> RegistrationApplication:
    """Save the application's own fields as a draft."""
    _ensure_editable(application)
    application.pickup = pickup
    application.mailing_address = mailing_address
    application.save(update_fields=["pickup", "mailing_address", "updated_at"])
    return application


def _store_material(
    application: RegistrationApplication, kind: str, *, content, content_type: str, size: int,
    width: int | None, height: int | None, sha256: str, by_system: bool = False,
) -> ApplicationMaterial:
    """Store one material, replacing the one of the same kind; the old file goes only after commit."""
    with transaction.atomic():
        old = ApplicationMaterial.objects.select_for_update().filter(application=application, kind=kind).first()
        if old is not None:
            old_file = old.file
            old.delete()
            transaction.on_commit(lambda: old_file.delete(save=False))
        material = ApplicationMaterial(
            application=application, kind=kind, content_type=content_type, size=size, width=width, height=height,
            sha256=sha256, attached_by_system=by_system,
        )
        material.file.save(content.name, content, save=False)
        material.save()
    return material


def application_material_attach(
    *, application: RegistrationApplication, kind: str, image: CheckedImage
) -> ApplicationMaterial:
    """Store (or replace) one material of a draft application."""
    _ensure_editable(application)
    return _store_material(
        application, kind, content=image.content, content_type=image.content_type, size=image.size,
        width=image.width, height=image.height, sha256=image.sha256,
    )


def application_materials_attach(
    *, application: RegistrationApplication, images: dict[str, CheckedImage]
) -> list[ApplicationMaterial]:
    """Store several checked materials at once, each on its own: one that fails loses nothing else."""
    _ensure_editable(application)
    return [application_material_attach(application=application, kind=kind, image=image)
            for kind, image in images.items()]


def _photo_from_profile(application: RegistrationApplication) -> ApplicationMaterial | None:
    """Copy the worker's profile photo (checked by content when it was uploaded) as the application's
    photo, unless the same photo is already attached; None when the profile has no readable photo."""
    worker = application.worker
    if not worker.photo:
        return None
    try:
        with worker.photo.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        return None
    digest = hashlib.sha256(data).hexdigest()
    current = application.materials.filter(kind=MaterialKind.PHOTO).first()
    if current is not None and current.sha256 == digest:
        return current
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height, fmt = image.width, image.height, image.format
    except (UnidentifiedImageError, OSError):
        return None
    ext, content_type = ALLOWED_FORMATS.get(fmt, ("png", "image/png"))
    return _store_material(
        application, MaterialKind.PHOTO, content=ContentFile(data, name=f"{uuid.uuid4().hex}.{ext}"),
        content_type=content_type, size=len(data), width=width, height=height, sha256=digest, by_system=True,
    )


def required_materials(application: RegistrationApplication) -> list[str]:
    """Materials this application needs (Beijing manual 2.2–2.6)."""
    kinds = [MaterialKind.PHOTO, MaterialKind.ID_FRONT, MaterialKind.ID_BACK, MaterialKind.QUALIFICATION]
    if application.kind in (RegistrationKind.RENEWAL, RegistrationKind.LATE):
        # The last certificate is attached automatically when this system issued it.
        if not Registration.objects.filter(worker=application.worker).exists():
            kinds.append(MaterialKind.LAST_REGISTRATION)
        if not ce_covered(application):
            kinds.append(MaterialKind.CE_PROOF)
    return kinds


@dataclass(frozen=True)
class MaterialSlot:
    """One material of an application as the worker sees it."""

    kind: str
    label: str
    state: str  # "uploaded", "missing", "from_profile" or "not_needed"
    material: ApplicationMaterial | None = None
    note: str = ""

    @property
    def uploadable(self) -> bool:
        """Gets a file input: the photo always comes from the profile, and what is not needed needs none."""
        return self.kind != MaterialKind.PHOTO and self.state in ("uploaded", "missing")


def application_material_slots(application: RegistrationApplication) -> list[MaterialSlot]:
    """Every material of the application's kind with its state, in the order of the manual."""
    present = {m.kind: m for m in application.materials.all()}
    if not application.is_editable:
        return [MaterialSlot(k, label, "uploaded", present[k]) for k, label in MaterialKind.choices if k in present]
    required = set(required_materials(application))
    optional = {MaterialKind.LAST_REGISTRATION: _("Not needed: your last registration is in this system."),
                MaterialKind.CE_PROOF: _("Not needed: your continuing-education records cover the hours.")}
    slots = []
    for kind, label in MaterialKind.choices:
        material = present.get(kind)
        if kind == MaterialKind.PHOTO:
            if application.worker.photo:
                note = _("Taken from your profile photo; to change it, change the photo in your profile.")
                slots.append(MaterialSlot(kind, label, "from_profile", material, note))
            else:
                slots.append(MaterialSlot(kind, label, "missing", None, _("Add a two-inch photo to your profile.")))
        elif kind in required:
            slots.append(MaterialSlot(kind, label, "uploaded" if material else "missing", material))
        elif material is not None:
            slots.append(MaterialSlot(kind, label, "uploaded", material))
        elif kind in optional and application.kind in (RegistrationKind.RENEWAL, RegistrationKind.LATE):
            slots.append(MaterialSlot(kind, label, "not_needed", None, optional[kind]))
    return slots


def ce_covered(application: RegistrationApplication) -> bool:
    """True when the CE records already prove the hours, so no proof upload is needed."""
    for decision in worker_eligibility(application.worker, on_date=timezone.localdate()):
        if decision.kind == application.kind:
            return decision.ce_hours is not None and decision.ce_hours >= (decision.ce_required or 0)
    return False


def application_submit(
    *, application: RegistrationApplication, actor: User, pledge: bool, today: datetime.date | None = None
) -> RegistrationApplication:
    """Submit for review: pledge ticked, materials complete, still eligible, window open. The profile is
    submitted with it when still editable, so the data under review is frozen together, and the
    profile photo as it is now becomes the application's photo."""
    today = today or timezone.localdate()
    _ensure_editable(application)
    worker = application.worker
    # Everything still to do in one message, not one item per attempt.
    todo = []
    present = set(application.materials.values_list("kind", flat=True))
    if worker.photo:
        present.add(MaterialKind.PHOTO)
    else:
        todo.append(_("add a two-inch photo to your profile"))
    missing = [str(MaterialKind(k).label) for k in required_materials(application)
               if k not in present and k != MaterialKind.PHOTO]
    if missing:
        todo.append(_("upload %(materials)s") % {"materials": "、".join(missing)})
    if application.pickup == Pickup.MAIL and not application.mailing_address:
        todo.append(_("give the mailing address for the certificate"))
    if not pledge:
        todo.append(_("confirm the pledge that the information is true and valid"))
    if todo:
        raise RegistrationError(_("Before submitting, please: %(items)s.") % {"items": _("; ").join(todo)})
    _decision(worker, application.kind, today)
    window = current_window(worker.work_region, on_date=today)
    if not window.is_open:
        raise RegistrationError(window.reason)
    with transaction.atomic():
        if _photo_from_profile(application) is None:
            raise RegistrationError(_("Your profile photo cannot be read; please upload it again in your profile."))
        application.region = worker.work_region
        application.window = window.window
        application.pledge = True
        application.pledged_at = timezone.now()
        application.save(update_fields=["region", "window", "pledge", "pledged_at", "updated_at"])
        if worker.is_editable:
            profile_submit(worker=worker, actor=actor)
        return review_submit(application, actor=actor)


# --- Offline continuing-education hours ------------------------------------------------------------


def ce_claim_submit(*, worker: SocialWorker, claim=None, data: dict, proof: CheckedImage | None):
    """Save and submit an offline CE claim to the county of the worker's region."""
    from .models import CEClaim

    if worker.work_region is None:
        raise RegistrationError(_("Please set your work region in your profile first."))
    if claim is None:
        claim = CEClaim(applicant=worker.user, worker=worker)
    else:
        _ensure_editable(claim)
    for field in ("provider", "course", "started_on", "finished_on", "hours"):
        setattr(claim, field, data[field])
    if claim.finished_on < claim.started_on:
        raise RegistrationError(_("The course cannot end before it starts."))
    if claim.finished_on > timezone.localdate():
        raise RegistrationError(_("Hours can be claimed only for courses already finished."))
    claim.region = worker.work_region
    if proof is not None:
        claim.proof.save(proof.content.name, proof.content, save=False)
    if not claim.proof:
        raise RegistrationError(_("Please upload the proof of attendance."))
    with transaction.atomic():
        claim.save()
        return review_submit(claim, actor=worker.user)


# --- Restore after freezing ----------------------------------------------------------------------


def restore_submit(*, worker: SocialWorker, registration: Registration, reason: str):
    """A frozen worker applies to restore the registration (county then city review)."""
    from .models import RestoreApplication

    if registration.worker_id != worker.pk or registration.status != Registration.Status.FROZEN:
        raise RegistrationError(_("Only a frozen registration of yours can be restored."))
    if not reason.strip():
        raise RegistrationError(_("Please explain why the registration should be restored."))
    if worker.work_region is None:
        raise RegistrationError(_("Please set your work region in your profile first."))
    existing = RestoreApplication.objects.filter(registration=registration).exclude(status="approved").first()
    if existing is not None and not existing.is_editable:
        raise RegistrationError(_("A restore application for this registration is already open."))
    try:
        with transaction.atomic():
            if existing is not None:  # returned or rejected: fix the reason and send it again
                existing.reason, existing.region = reason.strip(), worker.work_region
                existing.save(update_fields=["reason", "region"])
                return review_submit(existing, actor=worker.user)
            application = RestoreApplication.objects.create(
                applicant=worker.user, worker=worker, registration=registration, region=worker.work_region,
                reason=reason.strip(),
            )
            return review_submit(application, actor=worker.user)
    except IntegrityError:
        raise RegistrationError(_("A restore application for this registration is already open.")) from None


def replacement_submit(*, worker: SocialWorker, registration: Registration, reason: str, details: str = ""):
    """Ask the county for a new certificate (补换); the registration number is filled in for the worker."""
    from .models import ReplacementRequest

    if registration.worker_id != worker.pk or registration.status != Registration.Status.VALID:
        raise RegistrationError(_("Only a valid registration of yours can get a replacement certificate."))
    if not registration.certificates.filter(revoked_at__isnull=True).exists():
        raise RegistrationError(_("This registration has no certificate yet."))
    if ReplacementRequest.objects.filter(registration=registration, status="submitted").exists():
        raise RegistrationError(_("A replacement request for this certificate is already waiting for review."))
    if reason not in ReplacementRequest.Reason.values:
        raise RegistrationError(_("Please choose a reason."))
    with transaction.atomic():
        request = ReplacementRequest.objects.create(
            applicant=worker.user, worker=worker, registration=registration,
            region=worker.work_region or registration.region, reason=reason, details=details.strip(),
        )
        return review_submit(request, actor=worker.user)


def region_change_submit(*, worker: SocialWorker, new_region, new_employer: str, reason: str):
    """Ask to move to another work region or employer; the new region's county and city review it."""
    from accounts.models import RegionLevel

    from .models import RegionChangeRequest

    if new_region is None or new_region.level not in (RegionLevel.TOWN, RegionLevel.VILLAGE):
        raise RegistrationError(_("Choose the town or street where you will work."))
    if new_region.pk == worker.work_region_id and new_employer.strip() == worker.employer:
        raise RegistrationError(_("Nothing would change."))
    if not reason.strip() or not new_employer.strip():
        raise RegistrationError(_("Please give the new employer and the reason."))
    pending = RegionChangeRequest.objects.filter(worker=worker).exclude(status__in=["approved", "rejected"]).first()
    if pending is not None and not pending.is_editable:
        raise RegistrationError(_("A change request is already open."))
    with transaction.atomic():
        if pending is not None:  # returned for changes: correct it and send it again
            pending.new_region, pending.new_employer, pending.reason = new_region, new_employer.strip(), reason.strip()
            pending.save(update_fields=["new_region", "new_employer", "reason"])
            return review_submit(pending, actor=worker.user)
        request = RegionChangeRequest.objects.create(
            applicant=worker.user, worker=worker, old_region=worker.work_region, new_region=new_region,
            old_employer=worker.employer, new_employer=new_employer.strip(), reason=reason.strip(),
        )
        return review_submit(request, actor=worker.user)


def profile_change_submit(*, worker: SocialWorker, reason: str):
    """Ask the county to unlock the approved profile for one edit (信息修改申请); a returned request is
    corrected and sent again."""
    from .models import ProfileChangeRequest

    reason = (reason or "").strip()
    if worker.status != State.APPROVED:
        raise RegistrationError(_("Only an approved profile needs a change request; edit it directly."))
    if not reason:
        raise RegistrationError(_("Please say what you want to change and why."))
    if worker.work_region_id is None:
        raise RegistrationError(_("Your profile has no work region, so no county can review the request."))
    open_request = ProfileChangeRequest.objects.filter(worker=worker, status__in=["submitted", "returned", "draft"]).first()
    if open_request is not None and not open_request.is_editable:
        raise RegistrationError(_("A change request is already waiting for the county."))
    with transaction.atomic():
        if open_request is not None:
            open_request.reason, open_request.region = reason, worker.work_region
            open_request.save(update_fields=["reason", "region"])
            return review_submit(open_request, actor=worker.user)
        request = ProfileChangeRequest.objects.create(
            applicant=worker.user, worker=worker, region=worker.work_region, reason=reason
        )
        return review_submit(request, actor=worker.user)
