"""Review oversight (审核督办): per review queue × office below the official, how the reviews go.

Read from the items (what waits now) and the append-only review log (what was decided), for every queue in
the registry, so a queue declared anywhere shows up here without code. Definitions:

- waiting: items in a waiting state whose pending step (`workflow.waiting`) belongs to an office in the
  row's region (the row of the official's own office: that office exactly);
- over the limit: waiting items submitted more than SWMS_ESCALATE_AFTER_DAYS ago (the weekly digest's rule);
- decided this week / month: distinct items on which an office in the row's region took a reviewer decision
  (approve, reject or return at the initial or final step) since Monday / the 1st; an item decided twice
  by offices of the same row counts once, as it is one row of the queue page the figure opens;
- median days to decision: over this month's decisions, from the submission each decided on (the latest
  submit log row before it);
- return rate: items returned this month / items decided this month.

Query count is constant in the number of rows: one query per queue for what waits (grouped by the pending
office, a few hundred at most, mapped to rows in Python), one for all decisions grouped by queue and row (a
CASE over the child regions' MPTT ranges), one for the queue totals, one for the weekly chart.
"""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    Q,
    Value,
    When,
)
from django.urls import reverse
from django.utils import timezone

from accounts.models import Region, RegionLevel
from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.models import Action, ReviewLog
from swms.review_queues import DECISIONS, REVIEW_STEPS, Queue, all_queues, period_start

CHART_WEEKS = 12
# Who may open the dashboard: officials of these levels (and superusers, who see the whole country).
LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)


class Median(Aggregate):
    """PostgreSQL's PERCENTILE_CONT(0.5) over an interval (other databases: computed in Python)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass
class Figures:
    waiting: int = 0
    oldest: datetime.datetime | None = None
    over: int = 0
    week: int = 0
    month: int = 0
    returned: int = 0
    median: datetime.timedelta | None = None
    links: dict = field(default_factory=dict)
    oldest_days: int | None = None

    @property
    def return_rate(self) -> float | None:
        return self.returned / self.month if self.month else None

    @property
    def return_percent(self) -> float | None:
        return round(100 * self.returned / self.month, 1) if self.month else None

    @property
    def median_days(self) -> float | None:
        return round(self.median.total_seconds() / 86400, 1) if self.median is not None else None

    @property
    def is_empty(self) -> bool:
        return not (self.waiting or self.week or self.month)


@dataclass
class OfficeRow:
    region: Region
    own: bool
    figures: Figures


@dataclass
class QueueBlock:
    queue: Queue
    rows: list
    total: Figures


def may_see_dashboard(user) -> bool:
    return can(user, OPERATE_SYSTEM) or (user.is_official and user.region is not None and user.region.level in LEVELS)


def _root_and_children(user) -> tuple[Region | None, list[Region]]:
    """The official's region and the regions just below it (a superuser: the tree roots)."""
    root = None if can(user, OPERATE_SYSTEM) else user.region
    children = Region.objects.filter(parent=root) if root is not None else Region.objects.filter(parent=None)
    return root, list(children.order_by("code"))


def _within(prefix: str, region: Region | None) -> Q:
    if region is None:
        return Q()
    return Q(**{f"{prefix}tree_id": region.tree_id, f"{prefix}lft__gte": region.lft,
                f"{prefix}rght__lte": region.rght})


def _pending_office(workflow):
    """CASE giving the region whose officials must act next (as `Workflow.pending_step` decides)."""
    whens = []
    for state, steps in workflow.waiting.items():
        skipped: dict[str, bool] = {}
        for step in steps:
            whens.append(When(Q(status=state, **{f"{step}_region__isnull": False}, **skipped),
                              then=F(f"{step}_region")))
            skipped[f"{step}_region__isnull"] = True
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _row_of(children: list[Region], prefix: str):
    """CASE giving the child region (pk) whose subtree holds the region at `prefix`; NULL for the root itself."""
    whens = [When(Q(**{f"{prefix}tree_id": c.tree_id, f"{prefix}lft__gte": c.lft, f"{prefix}rght__lte": c.rght}),
                  then=Value(c.pk)) for c in children]
    if not whens:
        return Value(None, output_field=IntegerField())
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _decisions(root, children, content_types, week_start, month_start, *, by_row: bool):
    """{(content_type_id, row pk or None): Figures} for the decision columns (one query)."""
    since = min(week_start, month_start)
    log = ReviewLog.objects.filter(content_type__in=content_types, step__in=REVIEW_STEPS, action__in=DECISIONS,
                                   created_at__gte=since)
    if root is not None:
        log = log.filter(_within("actor_region__", root))
    keys = ["content_type"]
    if by_row:
        log = log.annotate(row=_row_of(children, "actor_region__"))
        keys.append("row")
    in_month = Q(created_at__gte=month_start)
    # Reviewers' rows carry the submission they acted on (ReviewLog.submitted_at).
    duration = ExpressionWrapper(F("created_at") - F("submitted_at"), output_field=DurationField())
    aggregates = {
        "week": Count("object_id", distinct=True, filter=Q(created_at__gte=week_start)),
        "month": Count("object_id", distinct=True, filter=in_month),
        "returned": Count("object_id", distinct=True, filter=in_month & Q(action=Action.RETURN)),
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        aggregates["median"] = Median(duration, filter=in_month)
    out = {}
    for r in log.values(*keys).annotate(**aggregates).order_by():
        out[(r["content_type"], r.get("row"))] = Figures(week=r["week"], month=r["month"], returned=r["returned"],
                                                        median=r.get("median"))
    if not postgres:  # the embedded SQLite demo: medians in Python
        spans: dict = {}
        for r in log.filter(in_month).annotate(d=duration).values(*keys, "d"):
            if r["d"] is not None:
                spans.setdefault((r["content_type"], r.get("row")), []).append(r["d"])
        for key, values in spans.items():
            out[key].median = statistics.median(values)
    return out


def _weekly(root, content_types, starts: list[datetime.datetime], end: datetime.datetime | None) -> dict:
    """{week start date: (decisions, returns)} for weeks beginning at `starts` (the last one open-ended
    unless `end`): one scan of the decisions index with a filtered count per week, no per-row date maths."""
    log = ReviewLog.objects.filter(content_type__in=content_types, step__in=REVIEW_STEPS, action__in=DECISIONS,
                                   created_at__gte=starts[0])
    if end is not None:
        log = log.filter(created_at__lt=end)
    if root is not None:
        log = log.filter(_within("actor_region__", root))
    bounds = [*starts[1:], end]
    aggregates = {}
    for i, (start, stop) in enumerate(zip(starts, bounds, strict=True)):
        when = Q(created_at__gte=start) & (Q(created_at__lt=stop) if stop is not None else Q())
        aggregates[f"n{i}"] = Count("pk", filter=when)
        aggregates[f"r{i}"] = Count("pk", filter=when & Q(action=Action.RETURN))
    r = log.aggregate(**aggregates)
    return {start.date(): (r[f"n{i}"], r[f"r{i}"]) for i, start in enumerate(starts)}


def _chart(root, content_types, now) -> dict:
    """Decisions taken per week over the last CHART_WEEKS weeks (this week included).

    The review log is append-only and stamped with the time of writing, so a week that has ended never
    changes: the eleven past weeks are cached (per office and week), only this week is counted live."""
    this_week = period_start("week", now)
    starts = [this_week - datetime.timedelta(weeks=CHART_WEEKS - 1 - i) for i in range(CHART_WEEKS)]
    key = "review-chart:{}:{}:{}".format(root.pk if root is not None else "all", starts[0].date().isoformat(),
                                         ",".join(str(ct.pk) for ct in content_types))
    past = cache.get(key)
    if past is None:
        past = _weekly(root, content_types, starts[:-1], this_week)
        cache.set(key, past, timeout=8 * 24 * 3600)
    counts = {**past, **_weekly(root, content_types, [this_week], None)}
    rows = [{"week": w.date(), "label": f"{w:%m-%d}", "decided": counts[w.date()][0],
             "returned": counts[w.date()][1]} for w in starts]
    return {"labels": [r["label"] for r in rows], "decided": [r["decided"] for r in rows], "rows": rows}


def _links(base: str, region_param: str, limit: int) -> dict:
    # Plain formatting (pks, fixed words): urlencode per figure cost ~60 µs × 5 × rows × queues.
    prefix = f"{base}?scope=all{region_param}"
    return {
        "waiting": prefix,
        "over": f"{prefix}&waiting={limit}",
        "week": f"{prefix}&decided=week",
        "month": f"{prefix}&decided=month",
        "returned": f"{prefix}&decided=month&returned=1",
    }


# Any review log row (a submission, decision or oversight action anywhere) changes what dashboards show.
VERSION_KEY = "review:version"


def review_logged(sender, **kwargs) -> None:
    """post_save of ReviewLog (connected in reports.apps): renew the dashboards' version now, for this
    process's next view, and again on commit, so a view that cached the old figures meanwhile is dropped."""
    from django.db import transaction

    from .aggregates import renew

    renew(VERSION_KEY)
    transaction.on_commit(lambda: renew(VERSION_KEY))


# A cached dashboard is replaced by any review action; within an hour it also catches up with the clock
# (days waiting, over the limit).
CACHE_SECONDS = 3600


def review_dashboard_html(request) -> str:
    """The dashboard's body for the official's region: cached under the review version, the region's place
    in the tree, the hour, the language and script prefix (reports.aggregates.cached)."""
    from django.template.loader import render_to_string

    from .aggregates import cached, token

    root = None if can(request.user, OPERATE_SYSTEM) else request.user.region  # no query on a cache hit
    return cached(root, "review-dashboard",
                  lambda: render_to_string("reports/_review_dashboard_body.html",
                                           review_dashboard(user=request.user), request),
                  timezone.localtime().hour, version=token(VERSION_KEY), timeout=CACHE_SECONDS)


def review_dashboard(*, user, now: datetime.datetime | None = None) -> dict:
    """Every queue's figures per office row (own office, then the regions below), totals and the weekly chart."""
    now = now or timezone.now()
    limit = settings.SWMS_ESCALATE_AFTER_DAYS
    cutoff = now - datetime.timedelta(days=limit)
    week_start, month_start = period_start("week", now), period_start("month", now)
    root, children = _root_and_children(user)
    queues = all_queues()
    types = ContentType.objects.get_for_models(*(q.model for q in queues), for_concrete_models=False)
    content_types = [types[q.model] for q in queues]

    # What waits now: per queue, grouped by the office it waits for; every queue in one UNION ALL.
    parts = [
        queue.model.objects.visible_to(user).in_review().order_by()
        .annotate(queue_key=Value(queue.key, output_field=CharField()),
                  review_office=_pending_office(queue.model.workflow))
        .values("queue_key", "review_office")
        .annotate(n=Count("pk"), oldest=Min("submitted_at"), over=Count("pk", filter=Q(submitted_at__lt=cutoff)))
        for queue in queues
    ]
    waiting: dict[tuple[str, int], dict] = {
        (r["queue_key"], r["review_office"]): r for r in parts[0].union(*parts[1:], all=True)
        if r["review_office"] is not None
    }
    offices = {r.pk: r for r in Region.objects.filter(pk__in={office for _key, office in waiting}).only(
        "pk", "tree_id", "lft", "rght")}

    decided = _decisions(root, children, content_types, week_start, month_start, by_row=True)
    decided_total = _decisions(root, children, content_types, week_start, month_start, by_row=False)

    rows_regions = ([(root, True)] if root is not None else []) + [(c, False) for c in children]
    blocks = []
    for queue, ct in zip(queues, content_types, strict=True):
        base = reverse(queue.list_url)
        by_row = {}
        for region, own in rows_regions:
            figures = decided.get((ct.pk, None if own else region.pk)) or Figures()
            by_row[region.pk] = figures
            figures.links = _links(base, f"&office={region.pk}" if own else f"&offices={region.pk}", limit)
        total = decided_total.get((ct.pk, None)) or Figures()
        total.links = _links(base, f"&offices={root.pk}" if root is not None else "", limit)
        if root is None:  # the whole country: the queue page has no "waits for anyone" filter to open
            total.links.update(waiting=None, over=None)
        for (key, office_pk), r in waiting.items():
            if key != queue.key or office_pk not in offices:
                continue
            office = offices[office_pk]
            if root is not None and not root.contains(office):
                continue
            if root is not None and office.pk == root.pk:
                target = by_row[root.pk]
            else:
                target = next((by_row[c.pk] for c in children if c.contains(office)), None)
                if target is None:
                    continue
            for figures in (target, total):
                figures.waiting += r["n"]
                figures.over += r["over"]
                if r["oldest"] is not None and (figures.oldest is None or r["oldest"] < figures.oldest):
                    figures.oldest = r["oldest"]
        rows = []
        for region, own in rows_regions:
            figures = by_row[region.pk]
            figures.oldest_days = (now - figures.oldest).days if figures.oldest else None
            # A county's towns do not review as a rule: list those that did, not a page of zeros.
            if not own and root is not None and root.level == RegionLevel.COUNTY and figures.is_empty:
                continue
            rows.append(OfficeRow(region, own, figures))
        total.oldest_days = (now - total.oldest).days if total.oldest else None
        blocks.append(QueueBlock(queue, rows, total))
    return {
        "root": root, "blocks": blocks, "quiet": [b for b in blocks if b.total.is_empty], "limit": limit, "week_start": week_start, "month_start": month_start,
        **_chart_context(_chart(root, content_types, now)),
    }


def _chart_context(chart: dict) -> dict:
    # json_script gets only what the chart draws; the table beside it gets the rows.
    return {"chart": {"labels": chart["labels"], "decided": chart["decided"]}, "chart_rows": chart["rows"]}
