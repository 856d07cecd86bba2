"""The statistics page (统计分析): figures of a region by child region, read from the aggregates.

Every figure is a table (one row per child region, a row for records held at the region itself when
there are any, and a total row) whose cells link to the list behind them, plus a bar chart of the
totals. The query count does not depend on the number of children: each read is one GROUP BY over
`StatRollup` (the subtree sums kept for every region) for the region and its children.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Sum,
    Value,
    When,
)
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import aggregates as A
from .models import StatRollup

EXPIRING_DAYS = 90


# --- Period ---------------------------------------------------------------------------------------


def _add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    first: datetime.date  # first day of the first month
    last: datetime.date  # first day of the last month
    label: str
    query: str  # the GET parameters that select it

    @property
    def months(self) -> list[datetime.date]:
        out, m = [], self.first
        while m <= self.last:
            out.append(m)
            m = _add_months(m, 1)
        return out

    @property
    def end_day(self) -> datetime.date:
        return _add_months(self.last, 1) - datetime.timedelta(days=1)


def _month_value(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except (TypeError, ValueError):
        raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None


class PeriodForm(forms.Form):
    """Month, quarter, year or a range of months (default: this year)."""

    KINDS = [("month", gettext_lazy("Month")), ("quarter", gettext_lazy("Quarter")),
             ("year", gettext_lazy("Year")), ("range", gettext_lazy("Custom range"))]
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=KINDS, required=False)
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2100, required=False)
    quarter = forms.TypedChoiceField(label=gettext_lazy("Quarter"), coerce=int, required=False,
                                     choices=[(q, f"Q{q}") for q in range(1, 5)])
    month = forms.CharField(label=gettext_lazy("Month"), required=False,
                            widget=forms.TextInput(attrs={"type": "month"}))
    start = forms.CharField(label=gettext_lazy("From"), required=False, widget=forms.TextInput(attrs={"type": "month"}))
    end = forms.CharField(label=gettext_lazy("To"), required=False, widget=forms.TextInput(attrs={"type": "month"}))

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        for f in self.fields.values():
            f.widget.attrs["class"] = "form-select form-select-sm" if isinstance(f.widget, forms.Select) \
                else "form-control form-control-sm"

    def clean(self):
        data = super().clean()
        kind = data.get("period") or "year"
        year = data.get("year") or self.today.year
        this_month = self.today.replace(day=1)
        if kind == "month":
            first = last = _month_value(data["month"]) if data.get("month") else this_month
            label, query = f"{first:%Y-%m}", {"period": "month", "month": f"{first:%Y-%m}"}
        elif kind == "quarter":
            q = data.get("quarter") or (self.today.month - 1) // 3 + 1
            first = datetime.date(year, 3 * q - 2, 1)
            last = _add_months(first, 2)
            label, query = f"{year} Q{q}", {"period": "quarter", "year": year, "quarter": q}
        elif kind == "range":
            first = _month_value(data.get("start") or f"{this_month:%Y-%m}")
            last = _month_value(data.get("end") or f"{this_month:%Y-%m}")
            if last < first:
                raise forms.ValidationError(_("The end of the range comes before its start."))
            if (last.year - first.year) * 12 + last.month - first.month >= 120:
                raise forms.ValidationError(_("A range covers at most ten years."))
            label = f"{first:%Y-%m} – {last:%Y-%m}"
            query = {"period": "range", "start": f"{first:%Y-%m}", "end": f"{last:%Y-%m}"}
        else:
            first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 1)
            label, query = f"{year}", {"period": "year", "year": year}
        data["result"] = Period(first, last, label, urlencode(query))
        return data


def period_from(params, today: datetime.date) -> tuple[PeriodForm, Period]:
    form = PeriodForm(params or None, today=today)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["result"]
    default = PeriodForm({}, today=today)
    default.is_valid()
    return form, default.cleaned_data["result"]


# --- Reading the aggregates -------------------------------------------------------------------------


def child_regions(root) -> list:
    return list(root.get_children().order_by("code"))


def _child_case(root, children, prefix: str = "region__"):
    """The child region (pk) whose subtree holds the row; the root's own pk for rows at the root."""
    whens = [When(**{f"{prefix}lft__gte": c.lft, f"{prefix}lft__lte": c.rght}, then=Value(c.pk)) for c in children]
    return Case(*whens, default=Value(root.pk), output_field=IntegerField())


def _within(root, prefix: str = "region__") -> dict:
    return {f"{prefix}tree_id": root.tree_id, f"{prefix}lft__gte": root.lft, f"{prefix}lft__lte": root.rght}


def _by_child(rows, root, children, keys) -> dict:
    """Subtree sums of the root and its children → {(child pk | root pk, *keys): value}, where the root's
    own entry is what lies at the root itself (its subtree less the children's)."""
    child_ids = {c.pk for c in children}
    out: dict = defaultdict(int)
    for r in rows:
        key = tuple(r[k] for k in keys)
        if r["region_id"] in child_ids:
            out[(r["region_id"], *key)] += r["v"]
            out[(root.pk, *key)] -= r["v"]
        elif r["region_id"] == root.pk:
            out[(root.pk, *key)] += r["v"]
    return {k: v for k, v in out.items() if v}


def sums(root, children, measures, *, first=None, last=None, by_day: bool = False) -> dict:
    """{(child pk, measure, category[, day]): value} for the root and its children in one query over
    the subtree sums (StatRollup): a province page reads its 21 cities' rows, not 1,600 towns'."""
    qs = StatRollup.objects.filter(measure__in=list(measures), region_id__in=[root.pk, *(c.pk for c in children)])
    if first is not None:
        qs = qs.filter(day__gte=first)
    if last is not None:
        qs = qs.filter(day__lte=last)
    keys = ["measure", "category"] + (["day"] if by_day else [])
    rows = qs.values("region_id", *keys).annotate(v=Sum("value")).order_by()
    return _by_child(rows, root, children, keys)


def worker_states(root, children, today: datetime.date) -> dict:
    """{(child pk, level, state): workers} with state valid / expiring / expired / frozen / revoked on
    `today`: the stock's stored status and its expiry day, bucketed in the query (one query)."""
    soon = today + datetime.timedelta(days=EXPIRING_DAYS)
    bucket = Case(When(day__lt=today, then=Value("expired")), When(day__lte=soon, then=Value("expiring")),
                  default=Value("valid"))
    rows = (StatRollup.objects.filter(measure=A.WORKERS, region_id__in=[root.pk, *(c.pk for c in children)])
            .annotate(bucket=bucket).values("region_id", "category", "bucket").annotate(v=Sum("value")).order_by())
    out: dict = defaultdict(int)
    for (child, category, state), v in _by_child(rows, root, children, ["category", "bucket"]).items():
        level, status = category.split(":", 1)
        out[(child, level, state if status == "valid" else status)] += v
    return out


def ce_compliance(root, children, today: datetime.date) -> dict:
    """{child pk: (registered, meeting the CE requirement)} for workers whose current registration is
    in force (valid, not expired on `today`): the workers' stock and the CE stock (kept per expiry day
    and recomputed when hours are booked) summed from `today` on — one query."""
    rows = (StatRollup.objects.filter(measure__in=[A.WORKERS, A.CE_MET], day__gte=today,
                                      region_id__in=[root.pk, *(c.pk for c in children)])
            .values("region_id", "measure", "category").annotate(v=Sum("value")).order_by())
    out: dict = defaultdict(lambda: [0, 0])
    for (child, measure, category), v in _by_child(rows, root, children, ["measure", "category"]).items():
        if measure == A.CE_MET:
            out[child][1] += v
        elif category.endswith(":valid"):
            out[child][0] += v
    return {child: tuple(pair) for child, pair in out.items()}


def stations_with_operator(root, children, today: datetime.date) -> dict:
    """{child pk: active stations with an operator today}: one query over the stations (a few thousand
    per province), since an operator's validity is a date range rather than an event."""
    from stations.models import Station, StationOperator

    current = StationOperator.objects.current(today).filter(station=OuterRef("pk"))
    rows = (Station.objects.filter(deleted_at__isnull=True, **_within(root)).filter(Exists(current))
            .annotate(child=_child_case(root, children)).values("child").annotate(n=Count("pk")).order_by())
    return {r["child"]: r["n"] for r in rows}


# --- Figures ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _list_url(name: str, prefix: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def url_or_none(name: str, **params) -> str | None:
    """A list URL with filters, or None when that list does not exist (yet). A page has thousands of
    cells: the list's address is resolved once per name (and script prefix), not per cell."""
    base = _list_url(name, get_script_prefix())
    if base is None:
        return None
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base}?{query}" if query else base


@dataclass
class Cell:
    value: object
    url: str | None = None


@dataclass
class Row:
    region: object  # a Region, or None for the total row
    label: str
    cells: list[Cell]
    drill: str | None = None  # the region's own statistics page
    own: bool = False  # records held at the region itself


@dataclass
class Figure:
    code: str
    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    total: Row | None = None
    note: str = ""
    chart_column: int = -1  # the column the bar chart shows

    @property
    def chart(self) -> dict:
        return {"labels": [r.label for r in self.rows],
                "values": [r.cells[self.chart_column].value or 0 for r in self.rows]}


def _pct(part, whole):
    return f"{round(part * 100 / whole)}%" if whole else "–"


class _Builder:
    """Builds the figures of one region and period; `rows_for` yields the rows in order."""

    def __init__(self, root, children, period: Period, today: datetime.date, drill_url):
        self.root, self.children, self.period, self.today = root, children, period, today
        self.drill_url = drill_url

    def regions(self, present: set):
        """(key, region, label, own) for each child, and the root itself when it holds records."""
        out = [(c.pk, c, c.name, False) for c in self.children]
        if self.root.pk in present:
            out.insert(0, (self.root.pk, self.root, _("%(name)s (this level)") % {"name": self.root.name}, True))
        return out

    def figure(self, code, title, columns, present, cell, note="", total_cells=None):
        """`cell(key, region, i)` → Cell for column i; None region means the total (region = root)."""
        fig = Figure(code, title, columns, note=note)
        for key, region, label, own in self.regions(present):
            fig.rows.append(Row(region, label, [cell(key, region, i) for i in range(len(columns))],
                                drill=None if own else self.drill_url(region), own=own))
        fig.total = Row(None, _("Total"), total_cells(fig) if total_cells else
                        [cell(None, self.root, i) for i in range(len(columns))])
        return fig


def _sum_rows(fig: Figure, i: int) -> int:
    return sum(r.cells[i].value or 0 for r in fig.rows)


def statistics(*, root, period: Period, today: datetime.date | None = None, drill_url=lambda region: None) -> dict:
    """All figures of `root` for `period` (about eight queries whatever the number of children)."""
    from registration.models import QualificationLevel, RegistrationKind
    from services.models import ActivityCategory, PersonType
    from stations.models import Tier
    from swms.workflow import State

    today = today or timezone.localdate()
    children = child_regions(root)
    b = _Builder(root, children, period, today, drill_url)
    flows = sums(root, children, [A.REGISTRATIONS, A.ACTIVITIES, A.WORKER_TIMES, A.CLIENTS_SERVED,
                                  A.PERSON_TIMES, A.SUMMARIES], first=period.first, last=period.last)
    # The cells below sum one measure's entries: index them by measure once (a province page has ~2,500 cells).
    by_measure: dict = defaultdict(dict)
    for (c, m, cat), v in flows.items():
        by_measure[m][(c, cat)] = v
    stocks = sums(root, children, [A.STATIONS, A.STAFFED, A.CLIENTS])
    station_months = sums(root, children, [A.STATIONS], last=period.last, by_day=True)
    workers = worker_states(root, children, today)
    ce = ce_compliance(root, children, today)
    operated = stations_with_operator(root, children, today)

    def present(*maps):
        keys = set()
        for m in maps:
            keys |= {k[0] if isinstance(k, tuple) else k for k, v in m.items() if v}
        return keys

    def region_param(region):
        return region.pk

    registry = "registration:registry"
    levels = list(QualificationLevel)
    states = [("valid", _("Valid")), ("expiring", _("Expiring within 90 days")), ("expired", _("Expired")),
              ("frozen", _("Frozen")), ("revoked", _("Revoked"))]

    def total_of(data, key, match):
        return sum(v for k, v in data.items() if (key is None or k[0] == key) and match(k))

    figures = []

    # Social workers by level and by status (current registrations, today).
    def w_level(key, region, i):
        lvl = levels[i].value if i < len(levels) else None
        n = total_of(workers, key, lambda k: lvl is None or k[1] == lvl)
        return Cell(n, url_or_none(registry, region=region_param(region), level=lvl))
    figures.append(b.figure("workers_level", _("Social workers by level"),
                            [str(lv.label) for lv in levels] + [_("Total")], present(workers), w_level,
                            note=_("Registered social workers by the level of their current registration, today.")))

    def w_state(key, region, i):
        st = states[i][0] if i < len(states) else None
        n = total_of(workers, key, lambda k: st is None or k[2] == st)
        return Cell(n, url_or_none(registry, region=region_param(region), status=st))
    figures.append(b.figure("workers_status", _("Social workers by status"),
                            [str(s[1]) for s in states] + [_("Total")], present(workers), w_state))

    def due(key, region, i):
        lvl = levels[i].value if i < len(levels) else None
        n = total_of(workers, key, lambda k: k[2] == "expiring" and (lvl is None or k[1] == lvl))
        return Cell(n, url_or_none(registry, region=region_param(region), level=lvl, status="expiring"))
    figures.append(b.figure("renewals_due", _("Renewals due in the next 90 days"),
                            [str(lv.label) for lv in levels] + [_("Total")], present(workers), due))

    def ce_cell(key, region, i):
        if key is None:
            total, met = sum(v[0] for v in ce.values()), sum(v[1] for v in ce.values())
        else:
            total, met = ce.get(key, (0, 0))
        if i == 0:
            return Cell(total, url_or_none(registry, region=region_param(region), status="valid"))
        if i == 1:
            return Cell(met)
        if i == 2:
            return Cell(total - met, url_or_none(registry, region=region_param(region), ce_short=1))
        return Cell(_pct(met, total))
    figures.append(b.figure("ce", _("Continuing-education compliance"),
                            [_("Registered (in force)"), _("Meeting the CE requirement"), _("Short of hours"),
                             _("Compliance rate")], present(ce), ce_cell,
                            note=_("Hours counted since the current registration began, against 72 h for "
                                   "assistants and 90 h for social workers and senior social workers.")))

    # New registrations by kind (flow in the period) and by month.
    kinds = list(RegistrationKind)

    def reg_cell(key, region, i):
        kind = kinds[i].value if i < len(kinds) else None
        n = sum(v for (c, cat), v in by_measure[A.REGISTRATIONS].items()
                if (key is None or c == key) and (kind is None or cat.startswith(kind + ":")))
        # Each kind links to the registry's workers registered so in the period (a worker registers once
        # per kind in a period); the total counts registrations, which a renewed worker has two of.
        return Cell(n, url_or_none(registry, region=region.pk, kind=kind, registered_from=period.first,
                                   registered_to=period.end_day) if kind else None)
    figures.append(b.figure("registrations", _("New registrations and renewals by kind"),
                            [str(k.label) for k in kinds] + [_("Total")],
                            present({k: v for k, v in flows.items() if k[1] == A.REGISTRATIONS}), reg_cell,
                            note=_("Registrations approved in the period.")))
    by_month = sums(root, [], [A.REGISTRATIONS], first=period.first, last=period.last, by_day=True)
    month_fig = Figure("registrations_month", _("New registrations and renewals by month"),
                       [str(k.label) for k in kinds] + [_("Total")])
    for m in period.months:
        cells = []
        for kind in [k.value for k in kinds] + [None]:
            month_end = _add_months(m, 1) - datetime.timedelta(days=1)
            cells.append(Cell(sum(v for (_c, _m, cat, d), v in by_month.items()
                                  if d == m and (kind is None or cat.startswith(kind + ":"))),
                              url_or_none(registry, region=root.pk, kind=kind, registered_from=m,
                                          registered_to=month_end) if kind else None))
        month_fig.rows.append(Row(None, f"{m:%Y-%m}", cells))
    month_fig.total = Row(None, _("Total"), [Cell(_sum_rows(month_fig, i)) for i in range(len(kinds) + 1)])
    figures.append(month_fig)

    # Stations by tier (today), with an operator.
    tiers = list(Tier)

    def st_cell(key, region, i):
        if i <= len(tiers):
            tier = tiers[i].value if i < len(tiers) else None
            n = sum(v for (c, m, cat), v in stocks.items()
                    if m == A.STATIONS and (key is None or c == key) and (tier is None or cat == tier))
            return Cell(n, url_or_none("stations:list", region=region.pk, tier=tier))
        if i == len(tiers) + 1:
            return Cell(sum(operated.values()) if key is None else operated.get(key, 0))
        return Cell(sum(v for (c, m, _cat), v in stocks.items() if m == A.STAFFED and (key is None or c == key)))
    figures.append(b.figure("stations", _("Social work stations by tier"),
                            [str(t.label) for t in tiers] + [_("Total"), _("With an operator today"),
                                                             _("Meeting the staffing rules")],
                            present({k: v for k, v in stocks.items() if k[1] == A.STATIONS}), st_cell,
                            note=_("Stations not deleted, today. Staffing rules (Shenmu measures): a hub or station has a head "
                                   "with at least the intermediate qualification and two years of practice; a "
                                   "room has a certified worker.")))
    figures[-1].chart_column = len(tiers)

    # Clients by person type (today).
    types = list(PersonType)

    def cl_cell(key, region, i):
        t = types[i].value if i < len(types) else A.ALL
        n = sum(v for (c, m, cat), v in stocks.items()
                if m == A.CLIENTS and (key is None or c == key) and cat == t)
        return Cell(n, url_or_none("services:official-client-list", region=region.pk,
                                   person_type=None if t == A.ALL else t))
    figures.append(b.figure("clients", _("Clients by person type"), [str(t.label) for t in types] + [_("All clients")],
                            present({k: v for k, v in stocks.items() if k[1] == A.CLIENTS}), cl_cell,
                            note=_("Clients not deleted, today; a client of several types counts under each.")))

    # Services by category (in the period).
    cats = list(ActivityCategory)
    started = {"started_from": period.first.isoformat(), "started_to": period.end_day.isoformat()}
    for measure, title, all_key in (
        (A.ACTIVITIES, _("Service activities by category"), None),
        (A.WORKER_TIMES, _("Worker participation (person-times) by category"), None),
        (A.CLIENTS_SERVED, _("Clients served by category"), A.ALL),
        (A.PERSON_TIMES, _("Client person-times by category"), None),
    ):
        def sv_cell(key, region, i, measure=measure, all_key=all_key):
            cat = cats[i].value if i < len(cats) else None
            if cat is None and all_key:
                match = lambda c: c == all_key  # noqa: E731
            else:
                match = lambda c: c != A.ALL and (cat is None or c == cat)  # noqa: E731
            n = sum(v for (c, k), v in by_measure[measure].items() if (key is None or c == key) and match(k))
            return Cell(n, url_or_none("services:official-activity-list", region=region.pk, category=cat, **started))
        note = _("Distinct clients per month; over several months, the sum of the monthly figures.") \
            if measure == A.CLIENTS_SERVED else ""
        figures.append(b.figure(measure, title, [str(c.label) for c in cats] + [_("Total")],
                                present({k: v for k, v in flows.items() if k[1] == measure}), sv_cell, note=note))

    # Monthly summaries: expected (station-months), submitted, approved.
    def expected(key):
        created: dict = defaultdict(int)
        for (c, _m, _cat, d), v in station_months.items():
            if key is None or c == key:
                created[d] += v
        return sum(sum(v for d, v in created.items() if d <= m) for m in period.months)

    def su_cell(key, region, i):
        counts = defaultdict(int)
        for (c, status), v in by_measure[A.SUMMARIES].items():
            if key is None or c == key:
                counts[status] += v
        submitted = counts[State.SUBMITTED] + counts[State.APPROVED]
        exp = expected(key)
        month = f"{period.first:%Y-%m}" if period.first == period.last else None
        link = url_or_none("services:summary-completeness", region=region.pk, month=month)
        return [Cell(exp, link), Cell(submitted, link), Cell(counts[State.APPROVED]),
                Cell(_pct(submitted, exp)), Cell(_pct(counts[State.APPROVED], submitted))][i]
    figures.append(b.figure("summaries", _("Monthly summaries"),
                            [_("Expected (station-months)"), _("Submitted"), _("Approved"), _("Submission rate"),
                             _("Approval rate")], present(station_months) | present(
                                {k: v for k, v in flows.items() if k[1] == A.SUMMARIES}), su_cell))
    figures[-1].chart_column = 1
    return {"root": root, "children": children, "period": period, "figures": figures}
