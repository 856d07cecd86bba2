"""The demo command: one account per role, and never outside the embedded demo."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User


@pytest.fixture
def guangdong_bits(regions, db):
    from accounts.models import Region

    # seed_demo needs 洪桥街道 (440104001000) and the cities; the fixture tree has them.
    assert Region.objects.filter(code="440104001000").exists()
    return regions


def test_seed_demo_refuses_on_postgresql_without_debug(guangdong_bits):
    with pytest.raises(CommandError):
        call_command("seed_demo")


def test_seed_demo_creates_one_login_per_role(guangdong_bits, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", password="Demo#Pass2026")
    kinds = set(User.objects.filter(username__startswith="demo_").values_list("kind", flat=True))
    assert kinds == {"official", "social_worker", "organization", "station", ""}
    county = User.objects.get(username="demo_county")
    assert county.region.name == "越秀区" and county.check_password("Demo#Pass2026")
    assert "demo_county" in capsys.readouterr().out
    # Running it again refreshes instead of duplicating.
    call_command("seed_demo", password="Demo#Pass2026")
    assert User.objects.filter(username="demo_county").count() == 1


def test_seed_demo_refuses_under_production_settings(guangdong_bits, settings):
    settings.DEBUG = True
    settings.SWMS_PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo")


