"""The statistics aggregates: one table of counts per (region at the lowest level, day, measure,
category), kept current on commit by the services that change records and rebuilt nightly
(reports/aggregates.py). Pages sum it over an MPTT range instead of scanning records."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StatCount(models.Model):
    """One bucket. `region` is the record's own region (a station's, a worker's work region, a
    registration's); `day` is the first of the month for monthly measures, and the expiry date for
    the registration stock (see reports.aggregates.MEASURES)."""

    region = models.ForeignKey("accounts.Region", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("region"))
    day = models.DateField(_("day"))
    measure = models.CharField(_("measure"), max_length=30)
    category = models.CharField(_("category"), max_length=60, blank=True)
    value = models.IntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("statistics count")
        verbose_name_plural = _("statistics counts")
        constraints = [
            models.UniqueConstraint(fields=["region", "day", "measure", "category"], name="statcount_bucket"),
        ]
        indexes = [
            # The rollup reads one measure over a period and joins the region for its MPTT range.
            models.Index(fields=["measure", "day", "region"], name="statcount_measure_day_idx"),
            models.Index(fields=["measure", "region"], name="statcount_measure_region_idx"),
        ]

    def __str__(self):
        return f"{self.region_id} {self.day} {self.measure}/{self.category}={self.value}"


class StatRollup(models.Model):
    """The same buckets summed over each region's whole subtree, for every node of the tree: a page
    reads its region and the children's rows (a few thousand at most) instead of summing the leaf
    buckets of a province. Kept by reports.aggregates with the StatCount rows it derives from."""

    region = models.ForeignKey("accounts.Region", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("region"))
    day = models.DateField(_("day"))
    measure = models.CharField(_("measure"), max_length=30)
    category = models.CharField(_("category"), max_length=60, blank=True)
    value = models.IntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("statistics rollup")
        verbose_name_plural = _("statistics rollups")
        constraints = [
            models.UniqueConstraint(fields=["region", "day", "measure", "category"], name="statrollup_bucket"),
        ]
        indexes = [models.Index(fields=["region", "measure", "day"], name="statrollup_region_idx")]

    def __str__(self):
        return f"{self.region_id} {self.day} {self.measure}/{self.category}={self.value} (subtree)"
