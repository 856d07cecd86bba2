"""The scoping helper on users and regions: officials see their subtree, outsiders get nothing."""

from accounts.models import Region, User


def test_official_sees_own_subtree_of_regions(alice, regions):
    names = set(Region.objects.visible_to(alice).values_list("name", flat=True))
    assert names == {"越秀区", "洪桥街道", "北京街道"}


def test_city_official_sees_all_counties_of_the_city(city_official, regions):
    names = set(Region.objects.visible_to(city_official).values_list("name", flat=True))
    assert {"越秀区", "荔湾区", "沙面街道"} <= names
    assert "福田区" not in names and "广东省" not in names


def test_official_list_of_users_is_scoped(alice, bob, charlie, town_official, city_official):
    visible = set(User.objects.visible_to(alice).values_list("username", flat=True))
    assert visible == {"alice", "bob", "hq_town"}


def test_manageable_excludes_own_level(alice, bob, town_official):
    manageable = set(User.objects.manageable_by(alice).values_list("username", flat=True))
    assert manageable == {"hq_town"}


def test_non_official_sees_only_self(social_worker, alice):
    assert list(User.objects.visible_to(social_worker)) == [social_worker]


def test_inactive_official_sees_nothing(alice, regions):
    alice.is_active = False
    assert not Region.objects.visible_to(alice).exists()
