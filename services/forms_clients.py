"""Forms of the clients' pages: the station's entry form and the list filters (station and officials)."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from swms.forms import BootstrapFormMixin
from swms.ids import normalize_ric, validate_ric
from swms.search import json_list_contains, text_contains

from .models import Client, PersonType

GENDERS = [("male", _("Male")), ("female", _("Female"))]


class ClientForm(BootstrapFormMixin, forms.ModelForm):
    """Field-level checks only; the rules across fields (ID number against birth date and gender,
    birth date or age, duplicates) are services.clients.client_save's."""

    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False,
                                help_text=_("Optional. The birth date and gender are taken from it when left empty."))
    gender = forms.ChoiceField(label=_("gender"), choices=[("", "—"), *GENDERS], required=False)
    birth_date = forms.DateField(label=_("birth date"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    age = forms.IntegerField(label=_("age"), min_value=0, max_value=130, required=False,
                             help_text=_("Only when the birth date is not known."))
    person_types = forms.MultipleChoiceField(label=_("person types"), choices=PersonType.choices, required=False,
                                             widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Client
        fields = ["name", "gender", "id_number", "birth_date", "age", "person_types", "phone", "address", "notes",
                  "filed"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def clean_id_number(self):
        value = self.cleaned_data["id_number"].strip()
        return validate_ric(value) if value else ""

    def _post_clean(self):
        # The instance is not saved by the form (client_save does it); skip the model's validation,
        # which would also run against the instance the view holds.
        pass


class DeleteForm(BootstrapFormMixin, forms.Form):
    confirm = forms.BooleanField(label=_("I want to delete this client"))


def with_person_type(queryset, value: str):
    """Clients having `value` among their person types."""
    return queryset.filter(json_list_contains("person_types", value))


def search_clients(queryset, value: str):
    """A whole ID number or phone number matches exactly (both encrypted at rest: no part of them can be
    searched); otherwise part of the name."""
    value = value.strip()
    if not value:
        return queryset
    number = normalize_ric(value)
    if len(number) == 18:
        return queryset.filter(id_number=number)
    query = Q(name__icontains=value)
    if value.isdigit():
        query |= Q(phone=value)
    return queryset.filter(query)


class StationClientFilter(django_filters.FilterSet):
    """The station's own list: search and person type."""

    q = django_filters.CharFilter(label=_("Name, phone or ID number"), method="filter_q")
    person_type = django_filters.ChoiceFilter(label=_("person type"), choices=PersonType.choices,
                                              method="filter_person_type", empty_label=_("All person types"))

    class Meta:
        model = Client
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("aria-label", str(field.label))

    def filter_q(self, queryset, name, value):
        return search_clients(queryset, value)

    def filter_person_type(self, queryset, name, value):
        return with_person_type(queryset, value)


def _years_ago(years: int, today: datetime.date) -> datetime.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


class OfficialClientFilter(StationClientFilter):
    """Officials' filter panel (manual 2.5 with the 2.4 search): besides the search, person type,
    filed, gender, how added, station and an age range."""

    q = django_filters.CharFilter(label=_("Name or ID number"), method="filter_q")
    filed = django_filters.ChoiceFilter(label=_("file opened (建档)"), method="filter_filed", empty_label=_("All"),
                                        choices=[("yes", _("Yes")), ("no", _("No"))])
    gender = django_filters.ChoiceFilter(label=_("gender"), choices=GENDERS, empty_label=_("All"))
    source = django_filters.ChoiceFilter(label=_("how added"), choices=Client.Source.choices, empty_label=_("All"))
    station = django_filters.CharFilter(label=_("Station name or code"), method="filter_station")
    age_min = django_filters.NumberFilter(label=_("Age from"), method="filter_age_min", min_value=0, max_value=150)
    age_max = django_filters.NumberFilter(label=_("Age to"), method="filter_age_max", min_value=0, max_value=150)

    # The fields inside the collapsible panel (the search stays outside): the panel opens when one is set.
    panel_fields = ("person_type", "filed", "gender", "source", "station", "age_min", "age_max")

    class Meta:
        model = Client
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        # Officials search by name or the whole ID number (manual 2.4), not by fragments of numbers.
        value = value.strip()
        number = normalize_ric(value)
        if len(number) == 18:
            return queryset.filter(id_number=number)
        return queryset.filter(text_contains("name", value)) if value else queryset

    def filter_filed(self, queryset, name, value):
        return queryset.filter(filed=value == "yes")

    def filter_station(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(station__name__icontains=value) | Q(station__code__startswith=value))

    # A client's age is the birth date's when there is one, otherwise the age recorded.
    def filter_age_min(self, queryset, name, value):
        latest_birth = _years_ago(int(value), timezone.localdate())
        return queryset.filter(Q(birth_date__lte=latest_birth) | Q(birth_date__isnull=True, age__gte=value))

    def filter_age_max(self, queryset, name, value):
        earliest_birth = _years_ago(int(value) + 1, timezone.localdate())
        return queryset.filter(Q(birth_date__gt=earliest_birth) | Q(birth_date__isnull=True, age__lte=value))

    @property
    def panel_open(self) -> bool:
        data = self.data or {}
        return any(data.get(f) for f in self.panel_fields)
