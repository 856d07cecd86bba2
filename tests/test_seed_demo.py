"""The demo command: one account per role, and never outside the embedded demo."""

import re

import pytest
from django.core.management import CommandError, call_command

from accounts.management.commands.seed_demo import display_width, table
from accounts.models import User


@pytest.fixture
def guangdong_bits(regions, db):
    from accounts.models import Region

    # seed_demo needs 洪桥街道 (440104001000) and the cities; the fixture tree has them.
    assert Region.objects.filter(code="440104001000").exists()
    return regions


@pytest.fixture
def demo(guangdong_bits, settings, media, capsys):
    """Run the command and return what it printed."""
    settings.DEBUG = True
    call_command("seed_demo", password="Demo#Pass2026")
    return capsys.readouterr().out


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


def test_demo_prints_a_roster_id_number_free_for_sign_up(demo, guangdong_bits, settings, capsys):
    from registration import services

    id_number = re.search(r"身份证号 (\d{17}[\dX]) 注册", demo).group(1)
    assert not User.objects.filter(id_number=id_number).exists()
    user, in_roster = services.socialworker_signup(id_number=id_number, name="任意", mobile="13900000001",
                                                   email="new@example.com", password="Xin#Demo2026")
    assert in_roster and user.full_name == "王晓明"
    # Once used, the next run offers another free one.
    call_command("seed_demo", password="Demo#Pass2026")
    again = re.search(r"身份证号 (\d{17}[\dX]) 注册", capsys.readouterr().out).group(1)
    assert again != id_number and not User.objects.filter(id_number=again).exists()


def test_demo_worker_has_an_approved_profile_and_can_apply_for_first_registration(demo, guangdong_bits, capsys):
    from django.utils import timezone

    from registration import services
    from registration.eligibility import current_window
    from registration.models import SocialWorker

    worker = SocialWorker.objects.get(user__username="demo_worker")
    assert worker.status == "approved" and worker.missing_fields() == []
    assert worker.review_log.filter(action="approve", actor__username="demo_county").exists()
    assert current_window(worker.work_region, on_date=timezone.localdate()).is_open
    application = services.application_start(worker=worker, kind="first")
    assert application.status == "draft"
    assert "可直接申请首登记" in demo  # the newcomer reads Chinese
    # A second run leaves the worker's application alone and says so.
    call_command("seed_demo", password="Demo#Pass2026")
    assert "已提交过申请" in capsys.readouterr().out
    assert worker.applications.get() == application


def test_demo_opens_a_window_when_guangdong_has_only_closed_ones(guangdong_bits, settings, media):
    import datetime

    from django.utils import timezone

    from registration.eligibility import current_window
    from registration.models import RegistrationWindow

    settings.DEBUG = True
    call_command("seed_demo", password="Demo#Pass2026")
    past = timezone.localdate() - datetime.timedelta(days=60)
    RegistrationWindow.objects.create(province=guangdong_bits["广东省"], name="旧", opens_on=past,
                                      closes_on=past + datetime.timedelta(days=10),
                                      created_by=User.objects.get(username="demo_province"))
    assert not current_window(guangdong_bits["广东省"], on_date=timezone.localdate()).is_open
    call_command("seed_demo", password="Demo#Pass2026")
    assert current_window(guangdong_bits["广东省"], on_date=timezone.localdate()).is_open


def test_login_table_columns_line_up_with_chinese_text(demo):
    lines = [line for line in demo.splitlines() if line.startswith(("username", "demo_"))]
    assert len(lines) >= 9
    starts = set()
    for line in lines:
        cells = re.split(r" {2,}", line)
        assert len(cells) == 3, line
        # Where the last column begins, in terminal columns (Chinese characters are two wide).
        starts.add(display_width(line[: line.rindex(cells[2])]))
    assert len(starts) == 1


def test_table_pads_by_display_width():
    lines = table([("a", "社会工作者", "x"), ("bbbb", "official", "y")])
    assert [display_width(line[:-1]) for line in lines] == [display_width(lines[0][:-1])] * 2
    assert display_width("社工ab") == 6


def test_demo_statistics_count_the_demo_station_at_once(demo, guangdong_bits):
    from reports.aggregates import STATIONS
    from reports.models import StatCount

    assert StatCount.objects.filter(measure=STATIONS, value__gt=0).exists()
