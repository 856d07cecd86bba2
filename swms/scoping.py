"""Region scoping: the one place where "what may this user see" becomes a query.

Every scoped model's manager is built from `ScopedQuerySet`. `within(region)` keeps the rows whose
region lies in that region's subtree (an indexed MPTT range: tree_id, lft, rght on the region row,
joined once); `visible_to(user)` is per model and must be used by every view. Out of scope is 404:
views fetch objects with `get_visible_or_404(Model, user, **lookup)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.http import Http404

from accounts.operator_roles import OPERATE_SYSTEM, can

if TYPE_CHECKING:
    from accounts.models import Region, User


class ScopedQuerySet(models.QuerySet):
    """Base queryset for region-scoped models.

    `region_path` names the path from the model to its `Region` ("region", "station__region", or
    "" for the Region model itself).
    """

    region_path: str = "region"

    def _prefix(self) -> str:
        return f"{self.region_path}__" if self.region_path else ""

    def within(self, region: Region | None):
        """Rows whose region is `region` or one of its descendants."""
        if region is None:
            return self.none()
        p = self._prefix()
        return self.filter(
            **{f"{p}tree_id": region.tree_id, f"{p}lft__gte": region.lft, f"{p}rght__lte": region.rght}
        )

    def below(self, region: Region | None):
        """Rows strictly below `region` (its subtree without the node itself)."""
        if region is None:
            return self.none()
        p = self._prefix()
        return self.filter(
            **{f"{p}tree_id": region.tree_id, f"{p}lft__gt": region.lft, f"{p}rght__lt": region.rght}
        )

    def visible_to(self, user: User):
        """Default rule: superusers see everything, officials their subtree, everyone else nothing.

        Models whose rows are owned by non-officials override `owned_by(user)`.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if can(user, OPERATE_SYSTEM):
            return self.all()
        if user.is_official:
            return self.within(user.region)
        return self.owned_by(user)

    def owned_by(self, user: User):
        return self.none()


def get_visible_or_404(model_or_qs, user: User, **lookup):
    """The object if `user` may see it; 404 for missing and out-of-scope alike."""
    qs = model_or_qs if isinstance(model_or_qs, models.QuerySet) else model_or_qs.objects.all()
    try:
        return qs.visible_to(user).get(**lookup)
    except qs.model.DoesNotExist:
        raise Http404 from None


def within_requested_region(qs, request, param: str = "region"):
    """The region-tree filter of every list page: narrow a scoped queryset to `?region=<pk>`, a region
    the user may see (else 404, like any out-of-scope object). Returns (queryset, region or None)."""
    from accounts.models import Region

    value = request.GET.get(param, "")
    if not value:
        return qs, None
    if not str(value).isdigit():
        raise Http404
    region = get_visible_or_404(Region, request.user, pk=value)
    return qs.within(region), region
