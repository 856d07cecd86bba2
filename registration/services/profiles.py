"""Sign-up and the worker's profile (Xiamen manual: account, basic, contact and practice sections)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User, UserKind
from accounts.usernames import worker_username
from swms.ids import birth_date_from_ric, validate_ric
from swms.uploads import CheckedImage
from swms.workflow import review_submit

from ..models import (
    Gender,
    Qualification,
    SocialWorker,
)
from .common import RegistrationError, _ensure_editable


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
    user = User(username=worker_username(), kind=UserKind.SOCIAL_WORKER, id_number=id_number, phone=mobile,
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
