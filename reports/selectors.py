"""Reads for the workbenches."""

from django.db.models import Count, Q

from accounts.models import Region, RegionLevel, User


def official_workbench_figures(*, user: User) -> dict:
    """Child regions with their subtree's region and official counts, plus subtree totals.

    Counting by MPTT range: one query for the subtree totals, one for the per-child figures.
    """
    root = user.region
    regions = Region.objects.within(root)
    totals = regions.aggregate(
        **{level: Count("pk", filter=Q(level=level)) for level in RegionLevel.values},
    )
    officials = User.objects.officials().within(root)
    official_totals = officials.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        must_change=Count("pk", filter=Q(is_active=True, must_change_password=True)),
    )
    children = list(root.get_children().exclude(level=RegionLevel.VILLAGE).order_by("code"))
    if children:
        # Officials per child subtree in one query: one conditional count per child range.
        per_child = officials.aggregate(
            **{
                f"c{c.pk}": Count("pk", filter=Q(region__lft__gte=c.lft, region__rght__lte=c.rght))
                for c in children
            }
        )
        for c in children:
            c.official_count = per_child[f"c{c.pk}"]
            c.descendant_total = c.get_descendant_count()
    return {
        "region_totals": {k: v for k, v in totals.items() if v},
        "official_totals": official_totals,
        "children": children,
    }


def official_review_counts(*, user: User) -> list[dict]:
    """Items waiting for this official's own action, per registered review queue (two queries each)."""
    from swms.review_queues import waiting_counts

    return waiting_counts(user)
