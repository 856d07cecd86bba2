"""The civil-affairs office of a region is named in one place (`Region.civil_affairs_office`):
a municipality's office is a 民政局, a province's or autonomous region's a 民政厅."""

import pytest

from accounts.models import Region
from registration import review
from registration.models import Certificate, Registration
from tests.conftest import make_user
from tests.registration_fixtures import submitted_application


@pytest.mark.parametrize(
    ("code", "name", "level", "office"),
    [
        ("110000000000", "北京市", "province", "北京市民政局"),
        ("120000000000", "天津市", "province", "天津市民政局"),
        ("310000000000", "上海市", "province", "上海市民政局"),
        ("500000000000", "重庆市", "province", "重庆市民政局"),
        ("440000000000", "广东省", "province", "广东省民政厅"),
        ("450000000000", "广西壮族自治区", "province", "广西壮族自治区民政厅"),
        ("440100000000", "广州市", "city", "广州市民政局"),
        ("440104000000", "越秀区", "county", "越秀区民政局"),
        ("440104001000", "洪桥街道", "town", "洪桥街道办事处"),
        ("440183100000", "石滩镇", "town", "石滩镇人民政府"),
    ],
)
def test_office_name_follows_the_region(code, name, level, office):
    assert Region(code=code, name=name, level=level).civil_affairs_office == office


@pytest.fixture
def approve(alice, django_capture_on_commit_callbacks):
    def run(application, *actors):
        with django_capture_on_commit_callbacks(execute=True):
            for actor in actors:
                review.application_approve(application=application, actor=actor)
        return Certificate.objects.get(registration=Registration.objects.get(application=application))

    return run


def test_beijing_certificate_is_issued_by_the_municipal_bureau(worker_in, regions, approve):
    county = make_user("dc_county", "official", regions["东城区"])
    municipality = make_user("bj_city", "official", regions["北京市"])
    application = submitted_application(worker_in("东华门街道"))
    certificate = approve(application, county, municipality)
    assert certificate.issued_by == "北京市民政局"


def test_xiantao_certificate_is_issued_by_the_provincial_department(worker_in, regions, approve):
    county = make_user("xt_county", "official", regions["仙桃市"])
    province = make_user("hb_province", "official", regions["湖北省"])
    application = submitted_application(worker_in("沙嘴街道"))
    certificate = approve(application, county, province)
    assert certificate.issued_by == "湖北省民政厅"
