"""Registration fixtures shared by the registration and certificate tests (a pytest plugin)."""

import datetime

import pytest

from registration import services
from swms.uploads import check_image_upload
from tests.factories import QualificationFactory, SocialWorkerFactory
from tests.test_uploads import png_upload
from tests.today import THIS_YEAR


def complete_profile(worker, region):
    photo = check_image_upload(png_upload(413, 626))
    data = dict(
        gender="female", birth_date=datetime.date(1990, 1, 1), ethnicity="汉族", hukou="广州", native_place="广东广州",
        marital_status="single", political_status="none", education="bachelor", school="中山大学", major="社会工作",
        graduation_date=datetime.date(2012, 7, 1), work_start_date=datetime.date(2012, 8, 1), address="广州市越秀区",
        postcode="510000", mobile=worker.user.phone, email="w@example.com", full_time=True, years_in_social_work=5,
        position="frontline", work_region=region, employer="阳光社工中心", practice_domains=["community"],
        experience="社区服务五年",
    )
    return services.profile_save(worker=worker, data=data, photo=photo)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def worker_in(regions, media):
    """A roster worker with a complete profile in the given town."""

    def make(town="洪桥街道", exam_year=None):
        worker = SocialWorkerFactory()
        exam_year = THIS_YEAR - 1 if exam_year is None else exam_year
        QualificationFactory(id_number=worker.id_number, name=worker.name, exam_year=exam_year)
        return complete_profile(worker, regions[town])

    return make


def submitted_application(worker):
    application = services.application_start(worker=worker, kind="first")
    for kind, size in (("photo", (413, 626)), ("id_front", (800, 500)), ("id_back", (800, 500)),
                       ("qualification", (800, 600))):
        services.application_material_attach(
            application=application, kind=kind, image=check_image_upload(png_upload(*size))
        )
    return services.application_submit(application=application, actor=worker.user, pledge=True)


