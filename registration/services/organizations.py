"""Social work service organizations (社会工作服务机构): sign-up, profile, review decisions and staff.

Every write to an `Organization` or its `OrganizationStaff` goes through this module; the review
steps themselves go through the shared workflow (swms.workflow): county initial review, city final
review, like registration applications.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from accounts.models import Region, RegionLevel, User, UserKind
from notices.services import message_send
from swms.domains import ServiceDomain
from swms.workflow import (
    State,
    TransitionNotAllowed,
    review_approve,
    review_reject,
    review_return,
    review_submit,
)

from ..models import Organization, OrganizationStaff, QualificationLevel

# An organization registers where it is seated: a county (district) or a town (street); 东莞's towns
# have no county above them and still count.
ORGANIZATION_REGION_LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWN)

# What an organization may edit while its registration is a draft, returned or rejected.
PROFILE_FIELDS = (
    "name", "uscc", "legal_representative", "region", "address", "contact_person", "contact_phone",
    "service_domains", "founded_on", "registration_authority",
)
# What stays editable after submission and approval, without review (like a worker's contact data).
CONTACT_FIELDS = ("contact_person", "contact_phone", "address")
STAFF_FIELDS = ("name", "gender", "position", "phone", "qualification_level", "certificate_no", "joined_on")

MOBILE_RE = re.compile(r"^1\d{10}$")
_USCC_SHAPE = re.compile(r"^[0-9A-Z]{18}$")


class OrganizationError(Exception):
    """A domain error with a message fit for the user."""

    def __init__(self, message):
        self.message = message
        super().__init__(str(message))


# --- Unified social credit code (统一社会信用代码, GB 32100) -------------------------------------------


def normalize_uscc(value: str) -> str:
    """Full-width characters folded, spaces and dashes dropped, upper case: the stored form."""
    return stdnum_uscc.compact(unicodedata.normalize("NFKC", value or ""))


def looks_like_uscc(value: str) -> bool:
    """True if `value` (normalized) has the shape of a credit code, check digit aside."""
    return bool(_USCC_SHAPE.match(value))


def validate_uscc(value: str) -> str:
    """The normalized code, or ValidationError saying what is wrong (length, characters, check digit)."""
    number = normalize_uscc(value)
    if len(number) != 18:
        raise ValidationError(gettext_lazy("A unified social credit code has 18 characters."), code="length")
    try:
        return stdnum_uscc.validate(number)
    except InvalidChecksum:
        raise ValidationError(
            gettext_lazy("The check character of this unified social credit code is wrong."), code="checksum"
        ) from None
    except StdnumError:
        raise ValidationError(
            gettext_lazy("A unified social credit code has 8 digits followed by 10 digits or capital letters "
                         "(not I, O, S, V or Z)."),
            code="chars",
        ) from None


def _duplicate_uscc_message() -> str:
    return _("An organization with this unified social credit code is already registered. Log in with its "
             "account, or ask the civil-affairs office if you think this is a mistake.")


def _check_region(region: Region | None) -> None:
    if region is None or region.level not in ORGANIZATION_REGION_LEVELS:
        raise OrganizationError(_("Choose the county (district) or town (street) where the organization is seated."))


def _check_phone_free(phone: str, account: User | None) -> None:
    others = User.objects.filter(phone=phone)
    if account is not None:
        others = others.exclude(pk=account.pk)
    if others.exists():
        raise OrganizationError(_("This mobile number belongs to another account."))


def _sync_account(organization: Organization, fields: set[str]) -> None:
    """The account mirrors the organization's name, region and mobile (login identifier, SMS target)."""
    account = organization.account
    changed = []
    if "name" in fields and account.full_name != organization.name:
        account.full_name = organization.name[:100]
        changed.append("full_name")
    if "region" in fields and account.region_id != organization.region_id:
        account.region_id = organization.region_id
        changed.append("region")
    phone = organization.contact_phone
    if "contact_phone" in fields and MOBILE_RE.match(phone or "") and account.phone != phone:
        _check_phone_free(phone, account)
        account.phone = phone
        changed.append("phone")
    if changed:
        account.save(update_fields=changed)


# --- Sign-up and profile ---------------------------------------------------------------------------


def organization_signup(
    *,
    username: str,
    password: str,
    name: str,
    uscc: str,
    legal_representative: str,
    region: Region,
    address: str,
    contact_person: str,
    mobile: str,
    service_domains: list[str],
    founded_on: datetime.date | None,
    registration_authority: str,
    email: str = "",
) -> Organization:
    """Create the organization account and its draft registration; the password passes the policy. The
    email is the account's: messages and forgotten-password links go there."""
    uscc = validate_uscc(uscc)
    _check_region(region)
    if Organization.objects.filter(uscc=uscc).exists():
        raise OrganizationError(_duplicate_uscc_message())
    if User.objects.filter(username__iexact=username).exists():
        raise OrganizationError(_("This username is taken; choose another."))
    _check_phone_free(mobile, None)
    user = User(username=username, kind=UserKind.ORGANIZATION, region=region, phone=mobile, full_name=name[:100],
                email=email)
    validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            return Organization.objects.create(
                account=user, name=name, uscc=uscc, legal_representative=legal_representative, region=region,
                address=address, contact_person=contact_person, contact_phone=mobile,
                service_domains=list(service_domains), founded_on=founded_on,
                registration_authority=registration_authority,
            )
    except IntegrityError:
        # Someone signed up with the same code, username or mobile at the same moment.
        if Organization.objects.filter(uscc=uscc).exists():
            raise OrganizationError(_duplicate_uscc_message()) from None
        raise OrganizationError(_("This username or mobile number is already taken.")) from None


def _ensure_editable(organization: Organization) -> None:
    if not organization.is_editable:
        raise OrganizationError(_("The registration is under review or approved and cannot be changed now."))


def organization_save(*, organization: Organization, data: dict, actor: User) -> Organization:
    """Save a draft, returned or rejected registration; fields outside PROFILE_FIELDS are ignored."""
    data = {k: v for k, v in data.items() if k in PROFILE_FIELDS}
    if "uscc" in data:
        data["uscc"] = validate_uscc(data["uscc"])
    if "region" in data:
        _check_region(data["region"])
    with transaction.atomic():
        locked = Organization.objects.select_for_update(of=("self",)).select_related("account").get(pk=organization.pk)
        _ensure_editable(locked)
        if "uscc" in data and Organization.objects.filter(uscc=data["uscc"]).exclude(pk=locked.pk).exists():
            raise OrganizationError(_duplicate_uscc_message())
        for field, value in data.items():
            setattr(locked, field, value)
        locked._history_user = actor
        locked.save()
        _sync_account(locked, set(data))
    return locked


def missing_fields(organization: Organization) -> list[str]:
    """Fields the registration still lacks before it can be submitted."""
    return [f for f in PROFILE_FIELDS if getattr(organization, f) in (None, "", [])]


def organization_submit(*, organization: Organization, actor: User) -> Organization:
    """Submit (or resubmit) the registration to the county; refuses while required fields are missing."""
    missing = missing_fields(organization)
    if missing:
        labels = "、".join(str(Organization._meta.get_field(f).verbose_name) for f in missing)
        raise OrganizationError(_("Please fill in: %(fields)s") % {"fields": labels})
    return review_submit(organization, actor=actor)


def organization_contact_update(*, organization: Organization, data: dict, actor: User) -> Organization:
    """Contact person, contact phone, address and the account's email may change at any time without
    review."""
    with transaction.atomic():
        locked = Organization.objects.select_for_update(of=("self",)).select_related("account").get(pk=organization.pk)
        changed = {f for f in CONTACT_FIELDS if f in data and getattr(locked, f) != data[f]}
        for field in changed:
            setattr(locked, field, data[field])
        locked._history_user = actor
        locked._change_reason = "contact update"
        locked.save(update_fields=[*CONTACT_FIELDS, "updated_at"])
        _sync_account(locked, changed)
        email = data.get("email")
        if email is not None and email != locked.account.email:
            locked.account.email = email
            locked.account.save(update_fields=["email"])
    return locked


def domain_labels(organization: Organization) -> list[str]:
    """The organization's service domains as labels, in the order of ServiceDomain."""
    chosen = set(organization.service_domains or [])
    return [str(label) for value, label in ServiceDomain.choices if value in chosen]


# --- Review ------------------------------------------------------------------------------------------


def organization_review_context(organization: Organization) -> dict:
    """What the reviewer's detail page shows besides the record: domain labels and current staff."""
    return {
        "domains": domain_labels(organization),
        "staff": with_level_labels(organization_staff(organization).filter(left_on__isnull=True)),
    }


def _notify(organization: Organization, title: str, body: str) -> None:
    message_send(user=organization.account, title=title, body=body, link=reverse("registration:organization-profile"),
                 sms=True, email=True)


def organization_decide(*, organization: Organization, actor: User, action: str, comment: str = "") -> Organization:
    """A reviewer's decision (approve, reject, return) on an organization registration; tells the account."""
    with transaction.atomic():
        if action == "approve":
            organization = review_approve(organization, actor=actor, comment=comment)
            if organization.status == State.APPROVED:
                title = _("Your organization registration was approved")
            else:
                title = _("Your organization registration passed the initial review")
        elif action == "reject":
            organization = review_reject(organization, actor=actor, comment=comment)
            title = _("Your organization registration was not approved")
        elif action == "return":
            organization = review_return(organization, actor=actor, comment=comment)
            title = _("Your organization registration was returned for changes")
        else:
            raise TransitionNotAllowed()
        _notify(organization, title, comment)
    return organization


# --- Staff --------------------------------------------------------------------------------------------


def organization_staff(organization: Organization):
    """The organization's staff: current members first (by name), then those who left, latest first."""
    return organization.staff.order_by(F("left_on").desc(nulls_first=True), "name", "pk")


def with_level_labels(rows) -> list[OrganizationStaff]:
    """The rows as a list, each with `level_label`, the qualification level's label."""
    levels = dict(QualificationLevel.choices)
    rows = list(rows)
    for row in rows:
        row.level_label = levels.get(row.qualification_level, row.qualification_level)
    return rows


def staff_save(*, organization: Organization, data: dict, staff: OrganizationStaff | None = None) -> OrganizationStaff:
    """Add a staff member or correct one's details (leaving goes through `staff_leave`)."""
    if staff is None:
        staff = OrganizationStaff(organization=organization)
    elif staff.organization_id != organization.pk:
        raise OrganizationError(_("This staff member belongs to another organization."))
    joined_on = data.get("joined_on", staff.joined_on)
    if joined_on and joined_on > timezone.localdate():
        raise OrganizationError(_("The joining date cannot be in the future."))
    if joined_on and staff.left_on and joined_on > staff.left_on:
        raise OrganizationError(_("The joining date cannot be after the leaving date."))
    for field in STAFF_FIELDS:
        if field in data:
            setattr(staff, field, data[field])
    staff.save()
    return staff


def staff_leave(*, staff: OrganizationStaff, left_on: datetime.date) -> OrganizationStaff:
    """Mark a staff member as left on a date; the row is kept for the record, never deleted."""
    if left_on > timezone.localdate():
        raise OrganizationError(_("The leaving date cannot be in the future."))
    with transaction.atomic():
        locked = OrganizationStaff.objects.select_for_update().get(pk=staff.pk)
        if locked.left_on is not None:
            raise OrganizationError(_("%(name)s has already left.") % {"name": locked.name})
        if locked.joined_on and left_on < locked.joined_on:
            raise OrganizationError(_("The leaving date cannot be before the joining date."))
        locked.left_on = left_on
        locked.save(update_fields=["left_on"])
    staff.left_on = left_on
    return locked
