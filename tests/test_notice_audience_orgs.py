"""A notice to stations reaches the organizations operating them today (承办机构 log in with their own
account and, per the Guangdong station manual, see what the station account sees), in both directions of
the one audience rule: the recipient's lists, badge and detail, and the sender's figures and reminders."""

import datetime

import pytest
from django.urls import reverse
from freezegun import freeze_time

from notices import notice_services as services
from notices.audience import audience_count, audience_users, notices_for
from notices.models import Message, NoticeRead
from tests.test_notices import publish
from tests.test_stations import create_station, make_org
from tests.today import TODAY

DAY = datetime.timedelta(days=1)


def _period(start_days: int, end_days: int) -> dict:
    return {"valid_from": TODAY + start_days * DAY, "valid_to": TODAY + end_days * DAY}


@pytest.fixture
def operators(regions, alice, charlie):
    """The 洪桥街道 station (越秀区) run by `current`, earlier by `ended`; `elsewhere` runs the 沙面街道
    station (荔湾区); `idle` is registered in 越秀区 and operates nothing."""
    current = make_org(regions, name="阳光社工中心", uscc="91440104MA5C000011")
    ended = make_org(regions, name="往年承办机构", uscc="91440104MA5C000022")
    elsewhere = make_org(regions, name="荔湾社工中心", uscc="91440103MA5C000033", region="荔湾区")
    idle = make_org(regions, name="未承办机构", uscc="91440104MA5C000044")
    station, _pw = create_station(alice, regions, operators=[
        {"organization": current, **_period(-30, 300)},
        {"organization": ended, **_period(-400, -1)},
    ])
    other, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"],
                                operators=[{"organization": elsewhere, **_period(-30, 300)}])
    return {"current": current, "ended": ended, "elsewhere": elsewhere, "idle": idle, "station": station,
            "other": other}


def _to_yuexiu_stations(city_official, regions, **data):
    base = dict(title="关于报送社工站季度数据的通知", to_stations=True, to_workers=False)
    base.update(data)
    return publish(city_official, regions=[regions["越秀区"]], **base)


def test_operating_org_receives_a_notice_to_the_stations_of_its_station_region(city_official, regions, operators,
                                                                               client):
    notice = _to_yuexiu_stations(city_official, regions)
    org_user = operators["current"].account
    assert notice in notices_for(org_user)
    assert services.unread_notice_count(org_user) == 1
    client.force_login(org_user)
    received = client.get(reverse("notices:received"))
    assert [n.title for n in received.context["page"]] == [notice.title]
    assert client.get(reverse("notices:notice-detail", args=[notice.pk])).status_code == 200
    assert NoticeRead.objects.filter(notice=notice, user=org_user).exists()
    assert services.unread_notice_count(org_user) == 0


def test_org_operating_nothing_there_or_no_longer_does_not_receive_it(city_official, regions, operators, client):
    notice = _to_yuexiu_stations(city_official, regions)
    for name in ("ended", "elsewhere", "idle"):
        user = operators[name].account
        assert notice not in notices_for(user), name
        assert services.unread_notice_count(user) == 0, name
        client.force_login(user)
        assert client.get(reverse("notices:notice-detail", args=[notice.pk])).status_code == 404, name
    # The 沙面街道 operator gets a notice to 荔湾区's stations.
    liwan = publish(city_official, regions=[regions["荔湾区"]], to_stations=True, to_workers=False)
    assert liwan in notices_for(operators["elsewhere"].account)
    assert liwan not in notices_for(operators["current"].account)


def test_operator_stops_receiving_the_day_after_its_period_ends_before_the_daily_job(city_official, regions,
                                                                                    alice):
    org = make_org(regions, name="今日到期机构", uscc="91440104MA5C000055")
    station, _pw = create_station(alice, regions, operators=[{"organization": org, **_period(-30, 0)}])
    notice = _to_yuexiu_stations(city_official, regions)
    assert notice in notices_for(org.account)
    with freeze_time(TODAY + DAY):
        # The daily job has not run: the guardian grant is still there, but the period is over.
        assert org.account.has_perm("stations.operate_station", station)
        assert notice not in notices_for(org.account)
        assert org.account not in set(audience_users(notice))


def test_notice_to_organizations_only_does_not_reach_operators_of_other_regions(city_official, regions,
                                                                                operators):
    notice = _to_yuexiu_stations(city_official, regions, to_stations=False, to_organizations=True)
    reached = {u.pk for u in audience_users(notice)}
    assert reached == {operators["current"].account_id, operators["ended"].account_id,
                       operators["idle"].account_id}  # registered in 越秀区, whether operating or not
    assert notice not in notices_for(operators["elsewhere"].account)


def test_sender_counts_operating_orgs_once_and_reminds_the_unread(city_official, regions, operators,
                                                                  django_capture_on_commit_callbacks):
    notice = _to_yuexiu_stations(city_official, regions)
    station_user, org_user = operators["station"].account, operators["current"].account
    assert set(audience_users(notice)) == {station_user, org_user}
    assert notice.audience_count == audience_count(notice) == 2
    # Sent to stations and organizations: the operator registered in 越秀区 is still one recipient.
    both = _to_yuexiu_stations(city_official, regions, title="双重对象", to_organizations=True)
    users = list(audience_users(both))
    assert len(users) == len(set(users)) == audience_count(both) == 4  # station, current, ended, idle
    # The sender's view and the recipients' view agree.
    for name in ("current", "ended", "elsewhere", "idle"):
        user = operators[name].account
        assert (both in notices_for(user)) == (user in users), name

    services.notice_mark_read(notice=notice, user=station_user)
    with django_capture_on_commit_callbacks(execute=True):
        reminder = services.notice_remind(actor=city_official, notice=notice)
    reminder.refresh_from_db()
    assert reminder.recipients == 1
    assert [m.user for m in Message.objects.filter(link=reverse("notices:notice-detail", args=[notice.pk]))] == [
        org_user]


def test_sender_unread_list_names_the_operator(city_official, regions, operators, client):
    notice = _to_yuexiu_stations(city_official, regions)
    services.notice_mark_read(notice=notice, user=operators["station"].account)
    client.force_login(city_official)
    detail = client.get(reverse("notices:sent-detail", args=[notice.pk]))
    assert [u.pk for u in detail.context["page"]] == [operators["current"].account_id]
    assert detail.context["read_rate"] == 50
