"""Officials manage the accounts of lower levels in their subtree."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from accounts import services
from accounts.models import SecurityEvent, User, UserKind
from tests.conftest import make_user


def test_official_list_shows_only_the_subtree(client, regions, alice, bob, charlie, town_official, city_official):
    client.force_login(alice)
    response = client.get(reverse("accounts:official-list"))
    listed = {u.username for u in response.context["page"]}
    assert listed == {"alice", "bob", "hq_town"}


def test_official_list_filters_by_region_of_the_tree(client, regions, city_official, alice, charlie):
    client.force_login(city_official)
    response = client.get(reverse("accounts:official-list"), {"region": regions["荔湾区"].pk})
    assert {u.username for u in response.context["page"]} == {"charlie"}


def test_region_filter_outside_scope_is_404(client, regions, alice):
    client.force_login(alice)
    response = client.get(reverse("accounts:official-list"), {"region": regions["荔湾区"].pk})
    assert response.status_code == 404


def test_official_list_query_count_is_constant(client, regions, city_official, django_assert_max_num_queries):
    for i in range(30):
        make_user(f"o{i}", UserKind.OFFICIAL, regions["越秀区" if i % 2 else "荔湾区"])
    client.force_login(city_official)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("accounts:official-list"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 31


def test_county_creates_town_official_with_initial_password(client, regions, alice):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:official-create"),
        {"username": "hq_new", "full_name": "洪桥街道办", "region": regions["洪桥街道"].pk, "phone": "13900000001"},
    )
    assert response.status_code == 200
    password = response.context["password"]
    user = User.objects.get(username="hq_new")
    assert user.kind == UserKind.OFFICIAL and user.region == regions["洪桥街道"]
    assert user.must_change_password and user.check_password(password)
    assert user.created_by == alice
    event = SecurityEvent.objects.get(kind="account_created", target=user)
    assert event.actor == alice and event.ip_address


def test_county_cannot_create_for_own_node_or_sibling(client, regions, alice):
    client.force_login(alice)
    for region in (regions["越秀区"], regions["沙面街道"]):
        response = client.post(
            reverse("accounts:official-create"),
            {"username": "x_new", "full_name": "x", "region": region.pk},
        )
        assert response.status_code == 200
        assert "region" in response.context["form"].errors
    assert not User.objects.filter(username="x_new").exists()


def test_service_refuses_creation_outside_subtree(regions, alice):
    with pytest.raises(services.PermissionDenied):
        services.official_create(actor=alice, username="zz_new", region=regions["沙面街道"])


def test_deactivate_ends_access_and_is_logged(client, regions, alice, town_official):
    town_client = type(client)()
    town_client.force_login(town_official)
    assert town_client.get(reverse("reports:workbench")).status_code == 200
    client.force_login(alice)
    response = client.post(reverse("accounts:official-deactivate", kwargs={"pk": town_official.pk}))
    assert response.status_code == 302
    town_official.refresh_from_db()
    assert not town_official.is_active
    assert town_client.get(reverse("reports:workbench")).status_code == 302
    assert SecurityEvent.objects.filter(kind="account_deactivated", target=town_official, actor=alice).count() == 1


def test_colleague_at_same_node_is_visible_but_not_manageable(client, regions, alice, bob):
    client.force_login(alice)
    assert client.get(reverse("accounts:official-detail", kwargs={"pk": bob.pk})).status_code == 200
    response = client.post(reverse("accounts:official-deactivate", kwargs={"pk": bob.pk}))
    assert response.status_code == 403
    bob.refresh_from_db()
    assert bob.is_active


def test_reset_password_forces_change(client, regions, alice, town_official):
    client.force_login(alice)
    response = client.post(reverse("accounts:official-password-reset", kwargs={"pk": town_official.pk}))
    new_password = response.context["password"]
    town_official.refresh_from_db()
    assert town_official.check_password(new_password)
    assert town_official.must_change_password


def test_outsider_gets_404_on_every_management_action(client, regions, charlie, town_official):
    client.force_login(charlie)
    for name in ("official-detail", "official-deactivate", "official-activate", "official-password-reset"):
        method = client.get if name == "official-detail" else client.post
        assert method(reverse(f"accounts:{name}", kwargs={"pk": town_official.pk})).status_code == 404


def test_workbench_shows_child_regions_and_official_counts(client, regions, city_official, alice, bob, charlie):
    client.force_login(city_official)
    response = client.get(reverse("reports:workbench"))
    children = {c.name: c.official_count for c in response.context["children"]}
    assert children == {"越秀区": 2, "荔湾区": 1}
    assert response.context["official_totals"]["active"] == 4
    assert response.context["region_totals"]["county"] == 2


def test_init_officials_writes_one_account_per_region(tmp_path, regions):
    out = tmp_path / "officials.xlsx"
    call_command("init_officials", province="广东省", levels="province,city,county", out=str(out))
    expected = {"广东省", "广州市", "深圳市", "东莞市", "越秀区", "荔湾区", "福田区"}
    officials = User.objects.filter(kind=UserKind.OFFICIAL)
    assert {u.region.name for u in officials} == expected
    assert all(u.must_change_password for u in officials)
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert len(rows) == 1 + len(expected)
    by_username = {r[3]: r[4] for r in rows[1:]}
    yuexiu = User.objects.get(username="mz440104")
    assert yuexiu.check_password(by_username["mz440104"])
    # Re-running creates nothing new.
    out2 = tmp_path / "again.xlsx"
    call_command("init_officials", province="广东省", levels="province,city,county", out=str(out2))
    assert User.objects.filter(kind=UserKind.OFFICIAL).count() == len(expected)
    assert len(list(load_workbook(out2).active.iter_rows())) == 1


def test_init_officials_rejects_unknown_province(tmp_path, regions):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("init_officials", province="火星省", out=str(tmp_path / "x.xlsx"))
