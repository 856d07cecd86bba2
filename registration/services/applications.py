"""Registration applications of the four kinds: start, materials, submit, withdraw."""

from __future__ import annotations

import datetime
import hashlib
import io
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from accounts.models import User
from swms.uploads import ALLOWED_FORMATS, CheckedImage
from swms.workflow import Action, review_submit, review_withdraw

from ..eligibility import current_window, worker_eligibility
from ..models import (
    DEFAULT_PICKUP,
    ApplicationMaterial,
    MaterialKind,
    Pickup,
    Registration,
    RegistrationApplication,
    RegistrationKind,
    SocialWorker,
)
from .common import RegistrationError, _ensure_editable
from .profiles import profile_submit


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
