"""The statistics aggregates (reports/aggregates.py): counts per (region, day, measure, category), kept
current on commit by the services that change records and rebuilt nightly. `StatCount` holds each
region's own records; `StatRollup` the same buckets summed over each region's subtree, which pages read."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Bucket(models.Model):
    """One count. `day` is the first of the month for monthly measures, and the expiry date for the
    registration stocks (see reports.aggregates)."""

    region = models.ForeignKey("accounts.Region", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("region"))
    day = models.DateField(_("day"))
    measure = models.CharField(_("measure"), max_length=30)
    category = models.CharField(_("category"), max_length=60, blank=True)
    value = models.IntegerField(_("value"), default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.region_id} {self.day} {self.measure}/{self.category}={self.value}"


class StatCount(Bucket):
    """A bucket of the records held at `region` itself (a station's, a worker's work region, a
    registration's)."""

    class Meta:
        verbose_name = _("statistics count")
        verbose_name_plural = _("statistics counts")
        constraints = [
            models.UniqueConstraint(fields=["region", "day", "measure", "category"], name="statcount_bucket"),
        ]
        indexes = [
            models.Index(fields=["measure", "day", "region"], name="statcount_measure_day_idx"),
            # A recompute replaces one measure's buckets of a few regions.
            models.Index(fields=["measure", "region"], name="statcount_measure_region_idx"),
        ]


class StatRollup(Bucket):
    """The same buckets summed over each region's whole subtree, for every node of the tree: a page
    reads its region and the children's rows instead of summing the leaf buckets of a province."""

    class Meta:
        verbose_name = _("statistics rollup")
        verbose_name_plural = _("statistics rollups")
        constraints = [
            models.UniqueConstraint(fields=["region", "day", "measure", "category"], name="statrollup_bucket"),
        ]
        indexes = [models.Index(fields=["region", "measure", "day"], name="statrollup_region_idx")]
