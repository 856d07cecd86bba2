"""Where a roster correction goes: the county-level office of a region."""

from __future__ import annotations


def county_office(region):
    """The county-level civil-affairs office for `region`, as the county-only review chain finds it: the
    county (district) itself or the one above a town; where a city has no counties (东莞, 中山) the city
    acts as the county-level office. None for a province, or a city that has counties (choose one)."""
    from accounts.models import Region, RegionLevel
    from swms.workflow import NoReviewAuthority, county_only_chain

    if region is None:
        return None
    if region.level == RegionLevel.CITY:
        has_counties = Region.objects.filter(parent=region, level=RegionLevel.COUNTY).exists()
        return None if has_counties else region
    if region.level not in (RegionLevel.COUNTY, RegionLevel.TOWN, RegionLevel.VILLAGE):
        return None
    try:
        office = county_only_chain(region).final
    except NoReviewAuthority:
        return None
    return office if office.level in (RegionLevel.COUNTY, RegionLevel.CITY) else None
