"""The registration guide and FAQ a reader sees (the province's own, or the built-in text)."""

from __future__ import annotations

from ..models import (
    GuidePage,
    SocialWorker,
)


def guide_province(*, user, requested: str = ""):
    """Whose guide a reader sees: a worker's work-region province, an account's own province, else the
    province asked for in the query string (readers who are not logged in), else None (built-in text)."""
    from accounts.models import Region, RegionLevel

    region = None
    if user.is_authenticated:
        if user.kind == "social_worker":
            worker = SocialWorker.objects.owned_by(user).select_related("work_region").first()
            region = worker.work_region if worker is not None else None
        else:
            region = user.region
    if region is not None:
        return region.ancestor_at(RegionLevel.PROVINCE)
    if requested.isdigit():
        return Region.objects.filter(pk=int(requested), level=RegionLevel.PROVINCE).first()
    return None


def guide_page(*, kind: str, province) -> dict:
    """The province's page of this kind, or the built-in text when it wrote none."""
    from ..services.guides import default_guide_content

    page = GuidePage.objects.filter(province=province, kind=kind).first() if province is not None else None
    return {"province": province, "page": page,
            "content": page.content if page is not None else default_guide_content(kind),
            "is_default": page is None}
