"""The tests' date names follow the day when a run crosses midnight (Asia/Shanghai)."""

import datetime

from freezegun import freeze_time

import tests.registration_fixtures
import tests.test_org_home
import tests.test_registry
from tests import today


def test_a_run_crossing_midnight_moves_every_imported_date_name_to_the_new_day():
    collected = today.TODAY
    fixed = datetime.date(2022, 6, 15)
    tests.test_registry.SOME_FIXED_DAY = fixed
    tomorrow = collected + datetime.timedelta(days=1)
    try:
        # Noon UTC of tomorrow is 20:00 in Asia/Shanghai: the same local day.
        with freeze_time(datetime.datetime.combine(tomorrow, datetime.time(12, 0), tzinfo=datetime.UTC)):
            today.refresh()
            assert tests.test_registry.TODAY == tomorrow == today.TODAY
            assert tests.test_org_home.THIS_MONTH == tomorrow.replace(day=1)
            assert tests.registration_fixtures.THIS_YEAR == tomorrow.year
            assert tests.test_registry.SOME_FIXED_DAY is fixed
        today.refresh()
        assert tests.test_registry.TODAY == collected == today.TODAY
    finally:
        del tests.test_registry.SOME_FIXED_DAY
