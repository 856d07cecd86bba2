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
    """Items waiting for this official's own action, per review queue (one count query each)."""
    from registration.models import (
        CEClaim,
        Courseware,
        RegionChangeRequest,
        RegistrationApplication,
        ReplacementRequest,
        RestoreApplication,
        RosterCorrectionRequest,
        SocialWorker,
    )

    queues = [
        ("applications", RegistrationApplication, "registration:review-queue"),
        ("profiles", SocialWorker, "registration:profile-queue"),
        ("corrections", RosterCorrectionRequest, "registration:correction-queue"),
        ("ce", CEClaim, "registration:ce-queue"),
        ("courseware", Courseware, "registration:courseware-queue"),
        ("restores", RestoreApplication, "registration:restore-queue"),
        ("replacements", ReplacementRequest, "registration:replacement-queue"),
        ("region_changes", RegionChangeRequest, "registration:region-change-queue"),
    ]
    rows = []
    for key, model, url_name in queues:
        waiting = model.objects.review_queue(user)
        oldest = waiting.order_by("submitted_at").values_list("submitted_at", flat=True).first()
        rows.append(
            {
                "key": key,
                "label": model._meta.verbose_name_plural,
                "count": waiting.count(),
                "oldest": oldest,
                "url_name": url_name,
            }
        )
    return rows
