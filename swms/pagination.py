"""Pagination of the long lists without counting millions of rows.

Django's `Paginator` runs `COUNT(*)` over the whole filtered scope on every page view: at province scale
that is 600,000 activities or a million clients joined to their regions, each time. `BoundedPaginator`
counts at most as far as the page asked for needs (`LIMIT` inside the count, no ordering), and when there
are more rows it says so: the list shows "more than 10,000" and the page numbers go on from there. An
exact count of a big list is what the statistics pages are for.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Count exactly up to `SWMS_LIST_COUNT_FLOOR` rows (default 10,000); beyond, lists say "more than".
# Pages counted beyond the one asked for, so "next" keeps working past the floor.
PAGES_AHEAD = 10
# From this many rows skipped on, a page first finds its primary keys (a narrow walk of the ordering index,
# with only the joins the filter needs), then loads those rows with their joins: a "deferred join".
DEFERRED_JOIN_FROM = 500


def _plain(query) -> bool:
    return query.group_by is None and not query.distinct and not query.values_select and not query.combinator


def bounded_count(qs, bound: int | None = None) -> tuple[int, bool]:
    """(rows counted up to `bound`, whether there are more): a LIMIT inside the count, no ordering."""
    if bound is None:
        bound = getattr(settings, "SWMS_LIST_COUNT_FLOOR", 10_000)
    query = qs.query
    qs = qs.order_by()
    if _plain(query):
        # Plain rows: only the primary keys, no annotations.
        qs = qs.values("pk")
    counted = qs[: bound + 1].count()
    return min(counted, bound), counted > bound


class BoundedPaginator(Paginator):
    """A `Paginator` whose count stops at a bound: `capped` is true when there are more rows than it says."""

    def __init__(self, object_list, per_page, *, page=None, floor: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        try:
            wanted = max(1, int(page or 1))
        except (TypeError, ValueError):
            wanted = 1
        if floor is None:
            floor = getattr(settings, "SWMS_LIST_COUNT_FLOOR", 10_000)
        self.bound = max(floor, (wanted + max(1, PAGES_AHEAD)) * self.per_page)
        self.capped = False

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count
        count, self.capped = bounded_count(self.object_list, self.bound)
        return count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list
        if bottom < DEFERRED_JOIN_FROM or not isinstance(rows, QuerySet) or not _plain(rows.query):
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(rows.values_list("pk", flat=True)[bottom:top])
        by_key = {obj.pk: obj for obj in rows.order_by().filter(pk__in=keys)}
        return self._get_page([by_key[k] for k in keys if k in by_key], number, self)


def paginate(request, object_list, per_page: int = 25, *, param: str = "page"):
    """The requested page of `object_list`, counted with a bound (see BoundedPaginator)."""
    number = request.GET.get(param)
    return BoundedPaginator(object_list, per_page, page=number).get_page(number)
