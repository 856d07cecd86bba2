"""Writes on clients (服务对象) of a station: add or edit with duplicate detection, and soft delete.

Views stay thin: they pass the form's cleaned data here and show a `ClientError` as the form's error.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from reports import aggregates
from stations.models import Station
from swms.ids import birth_date_from_ric, validate_ric

from .activities import refresh_activity_people
from .models import Client, PersonType

# The fields a station may enter; `source`, `created_by` and the dates are set here.
CLIENT_FIELDS = ("name", "gender", "id_number", "birth_date", "age", "person_types", "phone", "address", "notes",
                 "filed")
UNIQUE_ID_CONSTRAINT = "client_unique_id_per_station"


class ClientError(Exception):
    """A client change refused for a reason fit to show the user; `field` names the form field at fault."""

    def __init__(self, message, field: str | None = None):
        self.message = message
        self.field = field
        super().__init__(str(message))


def gender_from_ric(number: str) -> str:
    """GB 11643: the 17th character (sequence code) is odd for men, even for women."""
    return "male" if int(number[16]) % 2 else "female"


def _clean(data: dict) -> dict:
    """The station's entry made consistent: a normalized ID number, the birth date and gender it
    carries, either a birth date or an age, known person types in their canonical order."""
    values = {f: data.get(f) for f in CLIENT_FIELDS}
    for f in ("name", "gender", "id_number", "phone", "address", "notes"):
        values[f] = (values[f] or "").strip()
    values["filed"] = bool(values["filed"])
    if not values["name"]:
        raise ClientError(_("Give the client's name."), "name")
    if values["id_number"]:
        try:
            values["id_number"] = validate_ric(values["id_number"])
        except ValidationError as e:
            raise ClientError(e.messages[0], "id_number") from None
        id_birth = birth_date_from_ric(values["id_number"])
        if values["birth_date"] is None:
            values["birth_date"] = id_birth
        elif values["birth_date"] != id_birth:
            raise ClientError(
                _("The birth date does not match the ID number, which gives %(date)s.")
                % {"date": id_birth.isoformat()}, "birth_date")
        id_gender = gender_from_ric(values["id_number"])
        if not values["gender"]:
            values["gender"] = id_gender
        elif values["gender"] != id_gender:
            raise ClientError(_("The gender does not match the ID number."), "gender")
    if values["gender"] not in ("male", "female"):
        raise ClientError(_("Choose the gender."), "gender")
    if values["birth_date"] is not None:
        if values["birth_date"] > timezone.localdate():
            raise ClientError(_("The birth date is in the future."), "birth_date")
        values["age"] = None  # the age is computed from the birth date; a typed age would go stale
    elif values["age"] is None:
        raise ClientError(_("Give the birth date or, if it is not known, the age."), "birth_date")
    types = set(values["person_types"] or [])
    unknown = types - set(PersonType.values)
    if unknown:
        raise ClientError(_("Unknown person type: %(types)s.") % {"types": ", ".join(sorted(unknown))},
                          "person_types")
    values["person_types"] = [t for t in PersonType.values if t in types]
    return values


def client_duplicate(*, station: Station, values: dict, exclude_pk: int | None = None) -> tuple[Client, str] | None:
    """The client of `station` (not deleted) that these values describe, and how it was matched:
    the same ID number, or, where one of the two has no ID number, the same name, birth date and phone."""
    others = Client.objects.filter(station=station, deleted_at__isnull=True)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if values["id_number"]:
        found = others.filter(id_number=values["id_number"]).order_by("created_at", "id").first()
        if found is not None:
            return found, "id_number"
    if values["name"] and values["birth_date"] and values["phone"]:
        same = others.filter(name=values["name"], birth_date=values["birth_date"], phone=values["phone"])
        if values["id_number"]:
            # Two different valid ID numbers are two people, however alike the rest looks.
            same = same.filter(id_number="")
        found = same.order_by("created_at", "id").first()
        if found is not None:
            return found, "name"
    return None


def _duplicate_error(found: Client, how: str) -> ClientError:
    params = {"name": found.name, "date": timezone.localtime(found.created_at).date().isoformat()}
    if how == "id_number":
        return ClientError(
            _("This client is already registered at the station with the same ID number: %(name)s "
              "(added %(date)s).") % params, "id_number")
    return ClientError(
        _("This client is already registered at the station with the same name, birth date and phone: "
          "%(name)s (added %(date)s).") % params, None)


def client_save(*, station: Station, client: Client | None = None, data: dict, actor: User) -> Client:
    """Add a client to `station` (client=None) or edit one; the same person twice at a station is refused."""
    if station.is_deleted:
        raise ClientError(_("This station has been deleted."))
    values = _clean(data)
    try:
        with transaction.atomic():
            # One writer per station at a time: the name/birth date/phone check has no constraint behind it.
            Station.objects.select_for_update().filter(pk=station.pk).values_list("pk", flat=True).first()
            if client is None:
                target = Client(station=station, source=Client.Source.MANUAL, created_by=actor)
            else:
                target = Client.objects.select_for_update().filter(pk=client.pk, station=station).first()
                if target is None or target.deleted_at is not None:
                    raise ClientError(_("This client has been deleted."))
            duplicate = client_duplicate(station=station, values=values, exclude_pk=target.pk)
            if duplicate is not None:
                raise _duplicate_error(*duplicate)
            types_changed = target.pk is not None and set(target.person_types or ()) != set(values["person_types"])
            for field, value in values.items():
                setattr(target, field, value)
            target._history_user = actor
            target.save()
            if types_changed:
                # The person types its activities are found by (stored on each activity).
                refresh_activity_people(target.activities.values_list("pk", flat=True))
            aggregates.client_changed(target)
    except IntegrityError as e:
        # The race-proof backstop (another station session saved the same ID number first).
        if UNIQUE_ID_CONSTRAINT not in str(e):
            raise
        duplicate = client_duplicate(station=station, values=values, exclude_pk=client.pk if client else None)
        if duplicate is None:
            raise
        raise _duplicate_error(*duplicate) from None
    return target


def client_delete(*, client: Client, actor: User) -> Client:
    """Soft delete: the client leaves every list; the activities it took part in keep it (and count it)."""
    with transaction.atomic():
        target = Client.objects.select_for_update().get(pk=client.pk)
        if target.deleted_at is not None:
            raise ClientError(_("This client has already been deleted."))
        target.deleted_at = timezone.now()
        target._history_user = actor
        target.save(update_fields=["deleted_at", "updated_at"])
        aggregates.client_changed(target)
    return target
