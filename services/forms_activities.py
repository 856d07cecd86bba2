"""The activity form, built once per category from the declarations in services/categories.py: the
common fields, then `basic_<name>` and `summary_<name>` for the category's own fields."""

from __future__ import annotations

import datetime
import re

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stations.models import StationWorker
from swms.domains import ServiceDomain
from swms.forms import BootstrapFormMixin
from swms.ids import normalize_ric
from swms.pii import mask_id_number
from swms.search import json_list_contains, text_contains

from .categories import CATEGORIES, Category, Field
from .models import Activity, ActivityCategory, ActivityStatus, Client, PersonType

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_INPUTS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
DATE_FORMAT = "%Y-%m-%d"

COMMON = ("status", "name", "lead_worker", "contact_phone", "service_domains", "started_at", "ended_at", "location",
          "volunteer_count")
PEOPLE = ("clients", "workers")


def _datetime_field(label, required=True):
    return forms.DateTimeField(
        label=label, required=required, input_formats=DATETIME_INPUTS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


def _date_field(label, required=True):
    return forms.DateField(label=label, required=required, input_formats=[DATE_FORMAT],
                           widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT))


def declared_form_field(field: Field, *, required: bool) -> forms.Field:
    """The form field for one declared category field."""
    if field.kind == "textarea":
        return forms.CharField(label=field.label, required=required, max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    if field.kind == "date":
        return _date_field(field.label, required)
    if field.kind == "datetime":
        return _datetime_field(field.label, required)
    if field.kind == "choice":
        return forms.ChoiceField(label=field.label, required=required,
                                 choices=[("", "---------"), *field.choices])
    if field.kind == "int":
        return forms.IntegerField(label=field.label, required=required, min_value=0, max_value=1_000_000)
    return forms.CharField(label=field.label, required=required, max_length=200)


def _from_json(field: Field, value):
    """A stored JSON value back into what the form field shows."""
    if value in (None, ""):
        return value
    try:
        if field.kind == "datetime":
            return datetime.datetime.fromisoformat(value)
        if field.kind == "date":
            return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return value


class ClientChoiceField(forms.ModelMultipleChoiceField):
    """The activity's clients: chosen with the searchable picker (hidden inputs), checked against the
    station's clients like any multiple choice, without ever listing them all."""

    widget = forms.MultipleHiddenInput

    def label_from_instance(self, obj):
        masked = mask_id_number(obj.id_number)
        return f"{obj.name} ({masked})" if masked else obj.name


# The picker's search returns at most this many clients: type more to narrow it.
PICKER_LIMIT = 20
_PHONE = re.compile(r"[0-9+\-]{5,30}")


def client_picker_matches(queryset, q: str):
    """Clients of `queryset` matching the picker's query: part of a name, or a whole ID number or phone number
    (exactly: both are encrypted at rest, swms.encrypted_fields, so no part of them can be searched)."""
    q = q.strip()
    if not q:
        return queryset.none()
    number = normalize_ric(q)
    if len(number) == 18:
        return queryset.filter(id_number=number)
    query = Q(name__icontains=q)
    if _PHONE.fullmatch(q):
        query |= Q(phone=q)
    return queryset.filter(query)


class ActivityFormBase(BootstrapFormMixin, forms.Form):
    """Common fields of all seven categories; `activity_form_class` adds the category's own."""

    category: Category

    status = forms.ChoiceField(label=_("status"), choices=ActivityStatus.choices, initial=ActivityStatus.ONGOING,
                               widget=forms.RadioSelect)
    name = forms.CharField(label=_("activity name"), max_length=200)
    lead_worker = forms.ModelChoiceField(label=_("responsible worker"), queryset=StationWorker.objects.none())
    contact_phone = forms.CharField(label=_("contact phone"), max_length=30)
    service_domains = forms.MultipleChoiceField(label=_("service domains"), choices=ServiceDomain.choices,
                                                widget=forms.CheckboxSelectMultiple)
    started_at = _datetime_field(_("start"))
    ended_at = _datetime_field(_("end"), required=False)
    location = forms.CharField(label=_("location"), max_length=200, required=False)
    volunteer_count = forms.IntegerField(label=_("volunteers"), min_value=0, max_value=100_000, initial=0)
    clients = ClientChoiceField(
        label=_("clients served"), queryset=Client.objects.none(), required=False,
        help_text=_("Search by name, the last digits of the ID number or the phone number; "
                    "choose with Enter or a click."),
    )
    workers = forms.ModelMultipleChoiceField(
        label=_("workers taking part"), queryset=StationWorker.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, station, activity=None, **kwargs):
        if activity is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(activity)
        super().__init__(*args, **kwargs)
        self.station = station
        # The station's current workers and active clients; people already on the activity stay
        # choosable (a worker who has left since, a client deleted since).
        keep_workers = Q()
        keep_clients = Q()
        if activity is not None:
            keep_workers = Q(pk=activity.lead_worker_id) | Q(pk__in=activity.workers.values("pk"))
            keep_clients = Q(pk__in=activity.clients.values("pk"))
        workers = StationWorker.objects.filter(
            Q(station=station) & (Q(left_on__isnull=True) | keep_workers)
        ).order_by("left_on", "-is_head", "name")
        self.fields["lead_worker"].queryset = workers
        self.fields["workers"].queryset = workers
        self.fields["clients"].queryset = Client.objects.filter(
            Q(station=station) & (Q(deleted_at__isnull=True) | keep_clients)
        ).order_by("name", "pk")
        if self.category.clients_required:
            self.fields["clients"].required = True

    @classmethod
    def initial_for(cls, activity) -> dict:
        initial = {name: getattr(activity, name) for name in COMMON if name != "lead_worker"}
        initial["lead_worker"] = activity.lead_worker_id
        initial["clients"] = list(activity.clients.values_list("pk", flat=True))
        initial["workers"] = list(activity.workers.values_list("pk", flat=True))
        for field in cls.category.basic:
            initial[f"basic_{field.name}"] = _from_json(field, activity.details.get(field.name))
        for field in cls.category.summary:
            initial[f"summary_{field.name}"] = _from_json(field, activity.summary.get(field.name))
        return initial

    # --- groups of bound fields, for the template ---

    def _bound(self, names):
        return [self[n] for n in names]

    @property
    def common_fields(self):
        return self._bound(COMMON)

    @property
    def basic_fields(self):
        return self._bound(f"basic_{f.name}" for f in self.category.basic)

    @property
    def summary_fields(self):
        return self._bound(f"summary_{f.name}" for f in self.category.summary)

    @property
    def people_fields(self):
        return self._bound(PEOPLE)

    @property
    def chosen_clients(self) -> list[dict]:
        """The clients chosen so far (initial or posted), as the picker's chips: only the station's own."""
        values = self["clients"].value() or []
        pks = [int(v) for v in values if str(v).isdigit()]
        field = self.fields["clients"]
        chosen = {c.pk: c for c in field.queryset.filter(pk__in=pks)}
        return [{"pk": pk, "label": field.label_from_instance(chosen[pk])} for pk in dict.fromkeys(pks)
                if pk in chosen]

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if status == ActivityStatus.ENDED:
            if not cleaned.get("ended_at") and "ended_at" not in self.errors:
                self.add_error("ended_at", _("An activity that has ended needs its end date and time."))
            for field in self.category.summary:
                key = f"summary_{field.name}"
                if field.required and key not in self.errors and cleaned.get(key) in (None, ""):
                    self.add_error(key, _("Required once the activity has ended."))
        elif status == ActivityStatus.ONGOING:
            # No summary record while in progress: whatever was typed there is ignored, errors too.
            for field in self.category.summary:
                key = f"summary_{field.name}"
                self.errors.pop(key, None)
                cleaned.pop(key, None)
        start, end = cleaned.get("started_at"), cleaned.get("ended_at")
        if start and end and end < start:
            self.add_error("ended_at", _("The end is before the start."))
        return cleaned

    # --- values for services.activities.activity_save ---

    def common_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in COMMON}

    def details(self) -> dict:
        return {f.name: self.cleaned_data.get(f"basic_{f.name}") for f in self.category.basic}

    def summary(self) -> dict:
        return {f.name: self.cleaned_data.get(f"summary_{f.name}") for f in self.category.summary}


_FORM_CLASSES: dict[str, type[ActivityFormBase]] = {}


def activity_form_class(category: Category | str) -> type[ActivityFormBase]:
    """The form of one category: common fields plus its declared basic and summary fields (built once)."""
    key = category if isinstance(category, str) else category.key
    if key not in _FORM_CLASSES:
        spec = CATEGORIES[key]
        attrs = {"category": spec, "__module__": __name__}
        for field in spec.basic:
            attrs[f"basic_{field.name}"] = declared_form_field(field, required=field.required)
        for field in spec.summary:
            # Required only once the activity has ended: clean() decides.
            attrs[f"summary_{field.name}"] = declared_form_field(field, required=False)
        _FORM_CLASSES[key] = type(f"{str(key).title()}ActivityForm", (ActivityFormBase,), attrs)
    return _FORM_CLASSES[key]



# --- Officials' filter panel (manual 2.6: the conditions open and close under the search buttons) ---


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class ActivityFilter(django_filters.FilterSet):
    """Filters of the officials' activity list. Dates become datetime bounds so the (station,
    started_at) index is usable; JSON list membership is a text match on the quoted value, which
    works on PostgreSQL and on the SQLite demo alike."""

    q = django_filters.CharFilter(label=_("Activity name or service code"), method="filter_q")
    category = django_filters.ChoiceFilter(label=_("category"), choices=ActivityCategory.choices)
    status = django_filters.ChoiceFilter(label=_("status"), choices=ActivityStatus.choices)
    domain = django_filters.ChoiceFilter(label=_("service domain"), choices=ServiceDomain.choices,
                                         method="filter_domain")
    started_from = django_filters.DateFilter(label=_("Started on or after"), method="filter_started_from",
                                             widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT))
    started_to = django_filters.DateFilter(label=_("Started on or before"), method="filter_started_to",
                                           widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT))
    worker = django_filters.CharFilter(label=_("Responsible worker"), method="filter_worker")
    person_type = django_filters.ChoiceFilter(label=_("Client type"), choices=PersonType.choices,
                                              method="filter_person_type")
    station = django_filters.CharFilter(label=_("Station name or code"), method="filter_station")

    # Shown in the always-open row; the rest sit in the collapsible panel.
    MAIN = ("q", "category", "status")

    class Meta:
        model = Activity
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"

    @property
    def main_fields(self):
        return [self.form[n] for n in self.MAIN]

    @property
    def more_fields(self):
        return [self.form[n] for n in self.form.fields if n not in self.MAIN]

    @property
    def more_active(self) -> bool:
        """Open the panel when one of its conditions is in use."""
        data = self.data or {}
        return any(data.get(n) for n in self.form.fields if n not in self.MAIN)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(text_contains("name", value) | Q(code__startswith=value)) if value else queryset

    def filter_domain(self, queryset, name, value):
        return queryset.filter(service_domains__icontains=f'"{value}"')

    def filter_started_from(self, queryset, name, value):
        return queryset.filter(started_at__gte=_day_start(value))

    def filter_started_to(self, queryset, name, value):
        return queryset.filter(started_at__lt=_day_start(value + datetime.timedelta(days=1)))

    def filter_worker(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(lead_worker__name__icontains=value) if value else queryset

    def filter_person_type(self, queryset, name, value):
        # The person types of its clients are kept on the activity (GIN-indexed on PostgreSQL).
        return queryset.filter(json_list_contains("client_types", value))

    def filter_station(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(station__name__icontains=value) | Q(station__code__startswith=value))
