"""Bounded counting of long lists (issue #14): the count stops where the requested page needs it, the
page says "more than", and the count query is a LIMITed subquery without ordering."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Region
from services.models import Client
from swms import pagination
from swms.pagination import BoundedPaginator
from tests.test_stations import create_station

pytestmark = pytest.mark.usefixtures("english")


def test_exact_count_below_the_bound(regions):
    total = Region.objects.count()
    paginator = BoundedPaginator(Region.objects.order_by("code"), 5, page=1, floor=1000)
    assert paginator.count == total and not paginator.capped
    assert paginator.num_pages == -(-total // 5)


def test_count_stops_at_the_bound_and_says_so(regions, monkeypatch):
    monkeypatch.setattr(pagination, "PAGES_AHEAD", 1)
    total = Region.objects.count()
    assert total > 4
    paginator = BoundedPaginator(Region.objects.order_by("code"), 1, page=2, floor=2)
    # Bound: max(floor, (page + PAGES_AHEAD) * per_page) = 3 rows counted, one more probed.
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 3
    assert paginator.capped and paginator.num_pages == 3
    sql = queries.captured_queries[0]["sql"].upper()
    assert "LIMIT 4" in sql and "ORDER BY" not in sql
    page = paginator.get_page(2)
    assert page.has_next() and [r.code for r in page] == list(
        Region.objects.order_by("code").values_list("code", flat=True)[1:2])
    # A later page raises the bound with it, so the page asked for is always counted.
    assert BoundedPaginator(Region.objects.order_by("code"), 1, page=total, floor=2).count == total


def test_grouped_querysets_are_counted_as_groups(regions):
    from django.db.models import Count

    grouped = Region.objects.values("level").annotate(n=Count("pk")).order_by("level")
    paginator = BoundedPaginator(grouped, 10, page=1, floor=100)
    assert paginator.count == Region.objects.values("level").distinct().count()


def test_officials_list_says_more_than(alice, regions, client, monkeypatch, settings):
    monkeypatch.setattr(pagination, "PAGES_AHEAD", 1)
    settings.SWMS_LIST_COUNT_FLOOR = 1
    station, _pw = create_station(alice, regions)
    Client.objects.bulk_create(Client(station=station, name=f"对象{i}", gender="male") for i in range(51))
    client.force_login(alice)
    page = client.get(reverse("services:official-client-list")).content.decode()
    assert "More than 50 rows" in page and "Page 1 of more than 2" in page
    # Page 2 of the same list: counted up to (2 + 1) pages, so all 51 rows, exactly.
    page = client.get(reverse("services:official-client-list"), {"page": 2}).content.decode()
    assert "51 clients" in page and "Page 2 of 3" in page


def test_deep_pages_find_their_keys_first_and_keep_the_order(regions, monkeypatch):
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_FROM", 2)
    ordered = Region.objects.select_related("parent").order_by("-code")
    expected = list(ordered.values_list("code", flat=True))
    paginator = BoundedPaginator(ordered, 3, page=2, floor=1000)
    paginator.count  # noqa: B018 (counted first, as the page template does)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.page(2)
        codes = [r.code for r in page]
        parents = [r.parent.name if r.parent else None for r in page]  # joined in the second query
    assert codes == expected[3:6]
    assert len(queries.captured_queries) == 2 and "LIMIT 3 OFFSET 3" in queries.captured_queries[0]["sql"]
    assert parents == [Region.objects.get(code=c).parent.name if Region.objects.get(code=c).parent else None
                       for c in codes]
    # The first pages are one plain query.
    with CaptureQueriesContext(connection) as queries:
        assert [r.code for r in paginator.page(1)] == expected[:3]
    assert len(queries.captured_queries) == 1
