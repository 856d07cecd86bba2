"""factory_boy factories for the registration models."""

import datetime
import itertools

import factory
from stdnum.cn import ric

from accounts.models import User, UserKind
from registration.models import (
    CERecord,
    Qualification,
    QualificationLevel,
    Registration,
    RegistrationKind,
    SocialWorker,
)

_serial = itertools.count(1)


def make_id_number(birth: datetime.date = datetime.date(1990, 1, 1), area: str = "440104") -> str:
    """A valid 18-character resident ID number with a fresh sequence code."""
    body = f"{area}{birth:%Y%m%d}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    kind = UserKind.SOCIAL_WORKER
    id_number = factory.LazyFunction(make_id_number)
    # Not the ID number (P1/P2): workers sign in with their ID or mobile number; the username is a handle.
    username = factory.Sequence(lambda n: f"sw{n:010d}")
    full_name = factory.Sequence(lambda n: f"社工{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    password = factory.PostGenerationMethodCall("set_password", "Swms#Test2026")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SocialWorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialWorker

    user = factory.SubFactory(UserFactory)
    name = factory.SelfAttribute("user.full_name")
    id_number = factory.SelfAttribute("user.id_number")


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qualification

    id_number = factory.LazyFunction(make_id_number)
    name = factory.Sequence(lambda n: f"考生{n}")
    level = QualificationLevel.ASSISTANT
    certificate_no = factory.Sequence(lambda n: f"ZS{2021}{n:08d}")
    exam_year = 2021
    issuing_province = "广东省"


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration
        skip_postgeneration_save = True  # the hook writes what it changes itself

    worker = factory.SubFactory(SocialWorkerFactory)
    qualification = factory.SubFactory(
        QualificationFactory, id_number=factory.SelfAttribute("..worker.id_number"), name=factory.SelfAttribute("..worker.name")
    )
    registration_no = factory.Sequence(lambda n: f"R{n:010d}")
    kind = RegistrationKind.FIRST
    level = factory.SelfAttribute("qualification.level")
    region = factory.SelfAttribute("worker.work_region")
    valid_from = datetime.date(2019, 6, 1)
    valid_to = factory.LazyAttribute(lambda o: o.valid_from.replace(year=o.valid_from.year + 3) - datetime.timedelta(days=1))

    @factory.post_generation
    def registry(obj, create, extracted, **kwargs):
        """Made without the approval service: keep the registry's stored values as the service would."""
        if create:
            from registration.services.registry import registry_refresh

            registry_refresh([obj.worker_id])


class CERecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CERecord
        skip_postgeneration_save = True

    worker = factory.SubFactory(SocialWorkerFactory)
    source = CERecord.Source.ONLINE
    hours = 24
    completed_on = datetime.date(2021, 5, 1)
    status = CERecord.Status.ACCEPTED

    @factory.post_generation
    def registry(obj, create, extracted, **kwargs):
        """Made without a booking service: keep the registration's stored CE hours as the service would."""
        if create:
            from registration.services.registry import registry_refresh

            registry_refresh([obj.worker_id])
